#!/usr/bin/env bash
# A whole event lifecycle on the simulated cloud, start to finish:
# validate → plan (with cost) → up → status → down → leak check.
#
# It builds orchestrate, writes a schedule with one event starting two minutes from now in two
# regions, and runs every step in a scratch state directory that is removed at the end.
# The sim runs 100× faster than real time (ORCHESTRATE_SIM_TIME_SCALE=0.01), so a CDN that
# takes five minutes to deploy takes three seconds here.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/orchestrate"

work=$(mktemp -d "${TMPDIR:-/tmp}/orchestrate-quickstart.XXXXXX")
trap 'rm -rf "$work"' EXIT
export ORCHESTRATE_SIM_TIME_SCALE="${ORCHESTRATE_SIM_TIME_SCALE:-0.01}"

start=$(date -u -d '+2 minutes' +%Y-%m-%dT%H:%M:00Z)
end=$(date -u -d '+62 minutes' +%Y-%m-%dT%H:%M:00Z)
cat > "$work/schedule.yaml" <<YAML
apiVersion: orchestrate/v1
kind: Schedule
events:
  - id: quickstart
    title: Quickstart live event
    start: $start
    end: $end
    profile: sim-hd
    regions: [eu-west-1, us-east-1]
    lead: 10m
YAML

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
run() {
  printf '\n%s$ orchestrate %s%s\n' "$bold" "$*" "$plain"
  "$bin" --project "$root" --state-dir "$work/state" "$@"
}

run validate -s "$work/schedule.yaml"
run plan -s "$work/schedule.yaml"
run up --yes -s "$work/schedule.yaml"
run status
run down --yes
run sweep --dry-run
left=$("$bin" --project "$root" --state-dir "$work/state" sweep --dry-run --output json)
if [ "$left" != '{
  "leaked": []
}' ]; then
  echo "leak check failed: $left" >&2
  exit 1
fi
run status
printf '\nThe whole lifecycle ran; nothing is left behind.\n'
