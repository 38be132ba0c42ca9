#!/usr/bin/env bash
# Starts a peftd jar on a fresh data dir, registers a model, runs tools/probe/load_probe.py against it, stops it.
#
#   tools/probe/load_probe.sh [--jar target/peftd.jar] [--model-dir ../shared/data/models/stories260K] [probe args...]
#
# Run it once per jar (e.g. a build of an older commit and the current one) to compare them on the same machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
jar="$root/target/peftd.jar"
model_dir="$root/../shared/data/models/stories260K"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --jar) jar="$2"; shift 2 ;;
    --model-dir) model_dir="$2"; shift 2 ;;
    *) break ;;
  esac
done
[[ -f "$jar" ]] || { echo "load_probe.sh: $jar not found; run ./mvnw -B package -DskipTests" >&2; exit 2; }
[[ -f "$model_dir/config.json" ]] || { echo "load_probe.sh: no model at $model_dir" >&2; exit 2; }
model_dir="$(cd "$model_dir" && pwd)"
data="$(mktemp -d /tmp/peftd-probe.XXXXXX)"
key="probe-key-$(date +%s%N)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
PEFTD_DATA_DIR="$data" PEFTD_API_KEYS="probe:$key" SERVER_PORT="$port" PEFTD_WORKER_COUNT=1 \
  java -Xmx1g -jar "$jar" > "$data/server.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -sf "$url/actuator/health/readiness" > /dev/null 2>&1 && break
  sleep 1
done
H="Authorization: Bearer $key"
curl -sf -H "$H" -H 'Content-Type: application/json' "$url/v1/models" \
     -d "{\"id\": \"probe-model\", \"source\": \"file://$model_dir\"}" > /dev/null
for _ in $(seq 1 60); do
  curl -s -H "$H" "$url/v1/models/probe-model" | grep -q '"status":"ready"' && break
  sleep 1
done
python3 "$here/load_probe.py" --url "$url" --key "$key" --model probe-model --pid "$pid" "$@"
