"""transformers side of `peftd bench generate`: the same prompts, batch, thread count and loop, on CPU in float32 (or --dtype bfloat16 / float16 / auto, as peftd's --dtype).

Prefill runs the [batch, prompt] ids through the model with a DynamicCache; decode feeds back the argmax token for
new_tokens - 1 steps (the loop transformers' generate runs for greedy search, without its bookkeeping). Prompts are
built with the formula in peftd's DecodeBenchmark: row b, position i -> (17 + 31 i + 7 b) mod vocab.
Medians over --runs after one warm-up run. Also reports `model.generate` decode tokens/s at batch 1 for reference.

  /work/refvenv/bin/python tools/bench/generate_bench.py --model DIR [--threads N] [--batch B]
      [--prompt-tokens P] [--new-tokens N] [--runs R] [--dtype D] [--json]

rss_mb_peak is the process's peak RSS (VmHWM) at the end: the load included.
"""
import argparse
import json
import statistics
import time

import torch
from transformers import AutoModelForCausalLM, DynamicCache, LogitsProcessor, LogitsProcessorList


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return -1


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return -1


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "auto": "auto"}


def prompt(batch, length, vocab):
    return torch.tensor([[(17 + 31 * i + 7 * b) % vocab for i in range(length)] for b in range(batch)], dtype=torch.long)


@torch.inference_mode()
def run_loop(model, ids, new_tokens):
    cache = DynamicCache()
    start = time.perf_counter()
    out = model(input_ids=ids, past_key_values=cache, use_cache=True)
    nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
    prefilled = time.perf_counter()
    for _ in range(new_tokens - 1):
        out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
        nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
    return prefilled - start, time.perf_counter() - prefilled


class _StepClock(LogitsProcessor):
    """Stamps the time of each step's logits: the first right after the prefill, then one per decode forward."""

    def __init__(self):
        self.stamps = []

    def __call__(self, input_ids, scores):
        self.stamps.append(time.perf_counter())
        return scores


@torch.inference_mode()
def generate_rate(model, ids, new_tokens):
    """Decode tokens/s of model.generate at batch 1: the new_tokens - 1 forwards between the first logits and the
    last. (Subtracting a separately timed prefill from the total went to zero or below on a loaded machine, where
    the prefill's own time varies more than the decode takes.)"""
    clock = _StepClock()
    model.generate(ids[:1], max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                   pad_token_id=0, logits_processor=LogitsProcessorList([clock]))
    return (len(clock.stamps) - 1) / (clock.stamps[-1] - clock.stamps[0])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=DTYPES[a.dtype]).eval()
    ids = prompt(a.batch, a.prompt_tokens, model.config.vocab_size)
    rss_loaded = rss_mb()
    run_loop(model, ids, a.new_tokens)
    rss_warm = rss_mb()
    prefill, decode, rss_after = [], [], []
    for _ in range(a.runs):
        t_prefill, t_decode = run_loop(model, ids, a.new_tokens)
        prefill.append(a.batch * a.prompt_tokens / t_prefill)
        decode.append(a.batch * (a.new_tokens - 1) / t_decode)
        rss_after.append(rss_mb())
    generate = statistics.median(generate_rate(model, ids, a.new_tokens) for _ in range(a.runs))
    result = {"engine": "transformers " + __import__("transformers").__version__ + " / torch " + torch.__version__,
              "attn_implementation": model.config._attn_implementation,
              "dtype": str(next(model.parameters()).dtype).replace("torch.", ""), "threads": a.threads, "batch": a.batch,
              "prompt_tokens": a.prompt_tokens, "new_tokens": a.new_tokens, "runs": a.runs,
              "prefill_tokens_per_s": statistics.median(prefill), "decode_tokens_per_s": statistics.median(decode),
              "generate_decode_tokens_per_s": generate, "rss_mb_loaded": rss_loaded, "rss_mb_warm": rss_warm,
              "rss_mb_after_runs": rss_after, "rss_mb_peak": peak_rss_mb()}
    if a.json:
        print(json.dumps(result))
    else:
        print(f"transformers bench  model={a.model}  threads={a.threads}  batch={a.batch}  prompt={a.prompt_tokens}"
              f"  new={a.new_tokens}  runs={a.runs} (medians, {result['attn_implementation']} attention)")
        print(f"prefill {result['prefill_tokens_per_s']:10.1f} tokens/s")
        print(f"decode  {result['decode_tokens_per_s']:10.1f} tokens/s")
        print(f"decode  {generate:10.1f} tokens/s through model.generate (batch 1)")
        print(f"rss MB: loaded {rss_loaded}, after warm-up {rss_warm}, after each run {rss_after}, peak {result['rss_mb_peak']}")


if __name__ == "__main__":
    main()
