"""transformers side of ForwardBenchmark (src/test/java/dev/peftd/core/model/ForwardBenchmark.java).

    python tools/bench/forward_bench.py MODEL_DIR PROMPT_TOKENS DECODE_TOKENS THREADS REPEATS

Same protocol as the Java side: batch 1, random prompt ids (seeded), float32, no grad; prefill = one forward over the
prompt; decode = greedy single-token steps with a DynamicCache after a prefill, only the steps timed; one warm-up
run, then the median of REPEATS runs. Times are the calling thread's CPU time (time.thread_time), meaningful with
THREADS = 1 on a loaded machine, where wall time is not. Prints one line per attention implementation and a final
`RESULT <prefill tok/s> <decode tok/s>` for the fastest of them.
"""
import statistics
import sys
import time

import torch
from transformers import AutoModelForCausalLM, DynamicCache


def run(model, ids, decode):
    start = time.thread_time()
    model(input_ids=ids).logits[0, -1].argmax()
    prefill = time.thread_time() - start
    cache = DynamicCache()
    out = model(input_ids=ids, past_key_values=cache, use_cache=True)
    token = out.logits[0, -1].argmax().view(1, 1)
    start = time.thread_time()
    for _ in range(decode):
        out = model(input_ids=token, past_key_values=out.past_key_values, use_cache=True)
        token = out.logits[0, -1].argmax().view(1, 1)
    return prefill, time.thread_time() - start


def main():
    model_dir, prompt, decode, threads, repeats = sys.argv[1], *map(int, sys.argv[2:6])
    torch.set_num_threads(threads)
    best = None
    for attn in ("eager", "sdpa"):
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation=attn).eval()
        ids = torch.randint(3, model.config.vocab_size, (1, prompt), generator=torch.Generator().manual_seed(0))
        prefills, decodes = [], []
        with torch.no_grad():
            for r in range(repeats + 1):
                p, d = run(model, ids, decode)
                if r > 0:
                    prefills.append(prompt / p)
                    decodes.append(decode / d)
        result = (statistics.median(prefills), statistics.median(decodes))
        print(f"transformers prefill {prompt} tokens: {result[0]:.1f} tokens/s   decode {decode} tokens: "
              f"{result[1]:.1f} tokens/s ({threads} threads, torch {torch.__version__}, {attn} attention)")
        best = result if best is None or result[1] > best[1] else best
    print(f"RESULT {best[0]} {best[1]}")


if __name__ == "__main__":
    main()
