#!/usr/bin/env bash
# Serving benchmark: `peftd bench serving` and tools/bench/serving_bench.py (transformers + PEFT) on the same model,
# adapter and thread count, one after the other, printed side by side.
#
#   /work/refvenv/bin/python tools/bench/serving_bench.py make            # once: /tmp/peftd-bench/{llama-125m,lora-r16}
#   tools/bench/serving_bench.sh [--model DIR] [--adapter DIR] [--threads N] [--prompt-tokens P] [--new-tokens N] [--runs R]
#
# Needs target/peftd.jar (./mvnw -B package -DskipTests) and a Python with torch + transformers + peft ($PYTHON).
# Medians after one warm-up. "per CPU-s" rates divide by the generating thread's CPU time (one libtorch/torch thread),
# which stays meaningful on a machine shared with other work; wall-clock rates need a quiet machine.
set -euo pipefail
# Both engines under the OpenMP wait policy peftd sets for itself when none is given (core.tensor.OpenMpWaitPolicy):
# libgomp's default spinning makes every parallel region cost a time slice on shared cores, 10-40x on a loaded machine.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
jar="${PEFTD_JAR:-$root/target/peftd.jar}"
[[ -f "$jar" ]] || { echo "serving_bench.sh: $jar not found; run ./mvnw -B package -DskipTests" >&2; exit 2; }
args=(--model /tmp/peftd-bench/llama-125m --adapter /tmp/peftd-bench/lora-r16 --threads 1 "$@")

java_json="$(java -Xmx1g -jar "$jar" bench serving "${args[@]}" --json 2>/dev/null)"
python_json="$("$python" "$here/serving_bench.py" run "${args[@]}" --json 2>/dev/null)"

"$python" - "$java_json" "$python_json" <<'PY'
import json, sys
j, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"model {j['model']}  threads {j['threads']}  prompt {j['prompt_tokens']}  new {j['new_tokens']}  "
      f"runs {j['runs']} (medians)")
print(f"{'':40} {'peftd':>10} {'transformers+PEFT':>18}")
def row(label, key):
    jv, pv = j.get(key), p.get(key)
    f = lambda v: f"{v:10.2f}" if isinstance(v, (int, float)) else f"{'-':>10}"
    print(f"{label:40} {f(jv)} {f(pv):>18}")
for mode in ("base", "unmerged", "merged"):
    row(f"decode {mode}, tokens/s", f"decode_{mode}_tokens_per_s")
    row(f"decode {mode}, tokens per CPU-s", f"decode_{mode}_tokens_per_cpu_s")
for k in ("adapter_cold_load_from_store", "adapter_swap_cached", "adapter_swap_evicted"):
    row(k.replace("_", " ") + ", ms", k + "_ms")
    row(k.replace("_", " ") + ", CPU ms", k + "_cpu_ms")
for side, d in (("peftd", j), ("transformers+PEFT", p)):
    base, unmerged = d["decode_base_tokens_per_cpu_s"], d["decode_unmerged_tokens_per_cpu_s"]
    print(f"{side}: unmerged adapter decode = {unmerged / base:.3f} x base (per CPU-s)")
PY
