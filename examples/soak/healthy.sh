#!/usr/bin/env bash
# A healthy event monitored for MINUTES (default 10) on this machine: one `local-dual` event
# (two ffmpeg pipelines, origin, edge) under `orchestrate run` with every tier probed. Passes
# when not a single alert was raised; prints the report's monitoring section either way.
# Needs ffmpeg (see the quickstart) and a release build (ORCHESTRATE_BIN names one already
# built, e.g. with --no-default-features --features bench); leaves nothing running.
set -euo pipefail

minutes=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${ORCHESTRATE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
  bin="$root/target/release/orchestrate"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/orchestrate-soak.XXXXXX")
daemon=""
cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -TERM "$daemon"; wait "$daemon" || true; fi
  "$bin" --project "$root" --state-dir "$work/state" down --yes --include-vod >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

start=$(date -u -d '+60 seconds' +%Y-%m-%dT%H:%M:%SZ)
end=$(date -u -d "+$((60 + minutes * 60)) seconds" +%Y-%m-%dT%H:%M:%SZ)
cat > "$work/schedule.yaml" <<YAML
apiVersion: orchestrate/v1
kind: Schedule
events:
  - id: soak
    start: $start
    end: $end
    profile: local-dual
    regions: [local-east]
YAML
o=(--project "$root" --state-dir "$work/state")
"$bin" "${o[@]}" run --schedule "$work/schedule.yaml" --listen 127.0.0.1:0 >"$work/run.log" 2>&1 &
daemon=$!
echo "On air $start → $end; monitoring every tier…"
sleep $((90 + minutes * 60))
alerts=$("$bin" "${o[@]}" watch --replay --no-follow --type alert --output ndjson | wc -l)
signals=$("$bin" "${o[@]}" watch --replay --no-follow --type signal --output ndjson | wc -l)
"$bin" "${o[@]}" report soak --schedule "$work/schedule.yaml" | sed -n '/Availability/,$p'
content=$("$bin" "${o[@]}" watch --replay --no-follow --type signal --tier content --output ndjson | wc -l)
echo "signals: $signals (content tier: $content), alert transitions: $alerts"
[ "$signals" -gt 0 ] && [ "$alerts" -eq 0 ]
