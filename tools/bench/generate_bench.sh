#!/usr/bin/env bash
# Runs `peftd bench generate` and tools/bench/generate_bench.py (transformers) on the same model, batch and thread
# count, one after the other, and prints tokens/s side by side with the ratio peftd / transformers.
#
#   tools/bench/generate_bench.sh --model DIR [--threads N] [--batch B] [--prompt-tokens P] [--new-tokens N] [--runs R]
#
# Needs target/peftd.jar (./mvnw -B package -DskipTests) and a Python with torch + transformers ($PYTHON, default
# python3). Numbers are medians after one warm-up run; run on a quiet machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
jar="$root/target/peftd.jar"
[[ -f "$jar" ]] || { echo "generate_bench.sh: $jar not found; run ./mvnw -B package -DskipTests" >&2; exit 2; }

# A bounded heap: without -Xmx the JVM heap alone grows RSS for minutes, hiding what native memory does.
java_json="$(java -Xmx512m -jar "$jar" bench generate "$@" --json)"
python_json="$("$python" "$here/generate_bench.py" "$@" --json 2>/dev/null)"

"$python" - "$java_json" "$python_json" <<'PY'
import json, sys
j, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"model {j['model']}  threads {j['threads']}  batch {j['batch']}  prompt {j['prompt_tokens']}  "
      f"new {j['new_tokens']}  runs {j['runs']} (medians)")
print(f"{'tokens/s':34} {'peftd':>10} {'transformers':>13} {'ratio':>7}")
rows = [("prefill", "prefill_tokens_per_s", "prefill_tokens_per_s"),
        ("decode (cache loop)", "decode_tokens_per_s", "decode_tokens_per_s"),
        ("decode batch 1 (Generator/generate)", "generator_decode_tokens_per_s", "generate_decode_tokens_per_s")]
for label, jk, pk in rows:
    print(f"{label:34} {j[jk]:10.1f} {p[pk]:13.1f} {j[jk] / p[pk]:7.2f}")
print(f"{'rss MB after runs':34} {str(j['rss_mb_after_runs']):>10} {str(p['rss_mb_after_runs']):>13}")
print(f"{'live NDArrays after runs':34} {str(j['live_ndarrays_after_runs']):>10}")
print(f"transformers: {p['engine']}, {p['attn_implementation']} attention")
PY
