#!/usr/bin/env bash
# One event's life on AWS against moto_server on loopback: plan, up, down, leak checks.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# The most recently built binary, release or debug.
bin=$(ls -t "$root"/target/release/orchestrate "$root"/target/debug/orchestrate 2>/dev/null | head -1 || true)
[ -n "$bin" ] || { echo "build orchestrate first: cargo build --release" >&2; exit 1; }
moto="$root/.venv/bin/moto_server"
[ -x "$moto" ] || moto=$(command -v moto_server || true)
[ -n "$moto" ] || { echo "moto_server not found: run examples/quickstart/run.sh (it installs it into .venv) or pip install 'moto[server]'" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$moto" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null && break
  sleep 0.2
done

project="$work/project"
mkdir -p "$project/templates" "$project/providers"
cp -r "$here/profiles" "$here/schedules" "$project/"
cp -r "$root/templates/aws" "$project/templates/"
sed -E "s|^(  [a-z0-9-]+: \\{ )display_name|\\1endpoint: \"http://127.0.0.1:$port\", display_name|" \
  "$root/providers/aws.yaml" >"$project/providers/aws.yaml"

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_ENDPOINT_URL
o() { "$bin" --project "$project" --state-dir "$project/.orchestrate" "$@"; }

echo "== plan"
o plan
echo "== up"
o up --yes
o status
echo "== leak check after up"
o sweep --provider aws --dry-run
echo "== down"
o down --yes
echo "== leak check after down"
o sweep --provider aws --dry-run
