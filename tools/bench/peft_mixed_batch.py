"""PEFT's own mixed-adapter batch generation, the reference for `peftd bench serving-batch`.

make: writes --count random LoRA adapters (seeded, init_lora_weights=False, so every adapter changes the output) for
      the model into --out/adapter-NN, the folder `bench serving-batch --adapters` reads.
run:  at each number of concurrent streams c, one `model.generate(ids, adapter_names=[...])` call over a batch of c
      identical synthetic prompts (peftd's DecodeBenchmark formula, row 0: position i -> (17 + 31 i) mod vocab), row i
      on adapter i (cycled), greedy, exactly --new-tokens each (min_new_tokens = max_new_tokens, as peftd's stop ids
      off); and the same batch on the base alone (adapter_names "__base__"). The rate is c * new_tokens over the
      call's wall time (prefill included), as peftd measures it. Medians over --runs after one warm-up.

  /work/refvenv/bin/python tools/bench/peft_mixed_batch.py make --model DIR --out DIR [--count 64] [--r 8]
  /work/refvenv/bin/python tools/bench/peft_mixed_batch.py run --model DIR --adapters DIR [--streams 1,4,16,64]
      [--threads N] [--prompt-tokens 32] [--new-tokens 32] [--runs 3] [--json]
"""
import argparse
import json
import os
import statistics
import time

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make(args):
    for i in range(args.count):
        torch.manual_seed(1000 + i)
        base = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32)
        config = LoraConfig(r=args.r, lora_alpha=2 * args.r, target_modules=TARGETS, init_lora_weights=False)
        model = get_peft_model(base, config)
        with torch.no_grad():  # small deltas: the outputs differ per adapter but stay sane
            for name, p in model.named_parameters():
                if "lora_B" in name:
                    p.mul_(0.1)
        model.save_pretrained(os.path.join(args.out, f"adapter-{i:02d}"))
    print(f"wrote {args.count} adapters to {args.out}")


def run(args):
    torch.set_num_threads(args.threads)
    dirs = sorted(d for d in os.listdir(args.adapters)
                  if os.path.isfile(os.path.join(args.adapters, d, "adapter_config.json")))
    # PEFT keeps the adapters float32 on a half base (autocast_adapter_dtype), as peftd does
    base = AutoModelForCausalLM.from_pretrained(args.model, dtype=getattr(torch, args.dtype))
    model = PeftModel.from_pretrained(base, os.path.join(args.adapters, dirs[0]), adapter_name=dirs[0])
    for d in dirs[1:]:
        model.load_adapter(os.path.join(args.adapters, d), adapter_name=d)
    model.eval()
    vocab = base.config.vocab_size
    prompt = [(17 + 31 * i) % vocab for i in range(args.prompt_tokens)]
    rows = []
    for streams in [int(s) for s in args.streams.split(",")]:
        ids = torch.tensor([prompt] * streams)
        mask = torch.ones_like(ids)

        def rate(names):
            start = time.perf_counter()
            with torch.no_grad():
                out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=args.new_tokens,
                                     min_new_tokens=args.new_tokens, do_sample=False, adapter_names=names,
                                     pad_token_id=0)
            elapsed = time.perf_counter() - start
            return (out.shape[1] - ids.shape[1]) * streams / elapsed

        def median(names):
            rate(names)  # warm-up
            return statistics.median(rate(names) for _ in range(args.runs))

        adapted = [dirs[i % len(dirs)] for i in range(streams)]
        rows.append({"streams": streams, "adapters_tokens_per_s": median(adapted),
                     "base_tokens_per_s": median(["__base__"] * streams)})
    report = {"engine": "transformers+PEFT", "model": args.model, "adapters": len(dirs), "threads": args.threads,
              "prompt_tokens": args.prompt_tokens, "new_tokens": args.new_tokens, "runs": args.runs, "dtype": args.dtype,
              "results": rows}
    if args.json:
        print(json.dumps(report))
        return
    for k, v in report.items():
        if k != "results":
            print(f"{k:14} {v}")
    print(f"{'streams':>8} {'adapters tok/s':>16} {'base tok/s':>16} {'adapt/base':>12}")
    for r in rows:
        print(f"{r['streams']:8d} {r['adapters_tokens_per_s']:16.1f} {r['base_tokens_per_s']:16.1f} "
              f"{r['adapters_tokens_per_s'] / r['base_tokens_per_s']:12.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--model", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--count", type=int, default=64)
    m.add_argument("--r", type=int, default=8)
    r = sub.add_parser("run")
    r.add_argument("--model", required=True)
    r.add_argument("--adapters", required=True)
    r.add_argument("--streams", default="1,4,16,64")
    r.add_argument("--threads", type=int, default=os.cpu_count())
    r.add_argument("--prompt-tokens", type=int, default=32)
    r.add_argument("--new-tokens", type=int, default=32)
    r.add_argument("--runs", type=int, default=3)
    r.add_argument("--json", action="store_true")
    r.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="the base's type (peftd's bench serving-batch --dtype)")
    args = parser.parse_args()
    make(args) if args.command == "make" else run(args)


if __name__ == "__main__":
    main()
