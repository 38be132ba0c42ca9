#!/usr/bin/env bash
# Runs `peftd bench generate` and tools/bench/generate_bench.py (transformers) on the same model, batch and thread
# count, alternating them for several rounds so that both see the same machine load, and prints tokens/s side by side
# with the ratio peftd / transformers (medians over the rounds of each round's medians).
#
#   tools/bench/generate_bench.sh [--rounds K] --model DIR [--threads N] [--batch B] [--prompt-tokens P]
#                                 [--new-tokens N] [--runs R] [--dtype float32|bfloat16|float16|auto]
#
# Needs target/peftd.jar (./mvnw -B package -DskipTests) and a Python with torch + transformers ($PYTHON, default
# python3). Run on a quiet machine: every number here is wall-clock.
set -euo pipefail
# Both engines under the OpenMP wait policy peftd sets for itself when none is given (core.tensor.OpenMpWaitPolicy):
# libgomp's default spinning makes every parallel region cost a time slice on shared cores, 10-40x on a loaded machine.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
jar="$root/target/peftd.jar"
[[ -f "$jar" ]] || { echo "generate_bench.sh: $jar not found; run ./mvnw -B package -DskipTests" >&2; exit 2; }
rounds=3
if [[ "${1:-}" == "--rounds" ]]; then rounds="$2"; shift 2; fi

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for ((round = 1; round <= rounds; round++)); do
  # A bounded heap: without -Xmx the JVM heap alone grows RSS for minutes, hiding what native memory does.
  java -Xmx512m -jar "$jar" bench generate "$@" --json >>"$results"
  "$python" "$here/generate_bench.py" "$@" --json 2>/dev/null >>"$results"
done

"$python" - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
ours = [r for r in rows if r["engine"] == "peftd"]
theirs = [r for r in rows if r["engine"] != "peftd"]
j, p = ours[0], theirs[0]
print(f"model {j['model']}  threads {j['threads']}  batch {j['batch']}  prompt {j['prompt_tokens']}  "
      f"new {j['new_tokens']}  {len(ours)} rounds x {j['runs']} runs, alternating (median of round medians)")
print(f"{'tokens/s':36} {'peftd':>9} {'transformers':>13} {'ratio':>6}   per-round ratios")
for label, jk, pk in [("prefill", "prefill_tokens_per_s", "prefill_tokens_per_s"),
                      ("decode (KV-cache loop)", "decode_tokens_per_s", "decode_tokens_per_s"),
                      ("decode batch 1 (Generator/generate)", "generator_decode_tokens_per_s", "generate_decode_tokens_per_s")]:
    a = statistics.median(r[jk] for r in ours)
    b = statistics.median(r[pk] for r in theirs)
    per_round = " ".join(f"{x[jk] / y[pk]:.2f}" for x, y in zip(ours, theirs))
    print(f"{label:36} {a:9.1f} {b:13.1f} {a / b:6.2f}   {per_round}")
print(f"{'rss MB after each run (last round)':36} {str(ours[-1]['rss_mb_after_runs']):>9} {str(theirs[-1]['rss_mb_after_runs']):>13}")
print(f"{'peak rss MB (VmHWM, load included)':36} {statistics.median(r['rss_mb_peak'] for r in ours):9.0f} "
      f"{statistics.median(r['rss_mb_peak'] for r in theirs):13.0f}")
print(f"{'live NDArrays after each run':36} {str(ours[-1]['live_ndarrays_after_runs']):>9}")
print(f"dtype: peftd {j['dtype']}, transformers {p['dtype']}")
print(f"transformers: {p['engine']}, {p['attn_implementation']} attention")
PY
