#!/usr/bin/env python3
"""PEFT + torch side of `java -jar target/peftd.jar bench train` (the Java command runs this script itself).

    train_bench.py make-model --out DIR [--shape smollm2-135m|tiny] [--seed 0]
        writes a randomly initialised LlamaForCausalLM of the given shape (HF layout) for both stacks to load
    train_bench.py run --model DIR --method lora|lora_fa|lora_plus|vera [--r 16] [--vera-r 256] [--batch 4] [--seq 256]
                   [--steps 6] [--threads 2] [--dtype float32|bfloat16]
        trains PEFT with torch AdamW (LoRA-FA: peft.optimizers.create_lorafa_optimizer; LoRA+:
        create_loraplus_optimizer) on random token batches and prints one JSON line:
        {"method", "step_s": [...], "median_step_s", "cpu_s": [...], "median_cpu_s", "tokens_per_s", "peak_rss_mb"}
    train_bench.py activations --model DIR --method ... [same options]
        sets the method up as `run` does (LoRA-FA's optimizer freezes A), runs the body's forward twice with
        gradients and prints {"method", "activation_mb"}: the resident-set growth across the second forward, i.e.
        what autograd saves for backward. Meaningful with MALLOC_MMAP_THRESHOLD_ set low (bench train sets it), so
        that freed tensors leave the resident set at once.
Delta-LoRA has no PEFT implementation, so there is no reference row for it.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch

SHAPES = {
    # SmolLM2-135M: hidden 576, 30 layers, 9 heads / 3 kv heads, intermediate 1536, vocab 49152, tied embeddings
    "smollm2-135m": dict(hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                         intermediate_size=1536, vocab_size=49152, tie_word_embeddings=True,
                         max_position_embeddings=2048, rope_theta=100000.0, rms_norm_eps=1e-5),
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=256, vocab_size=1024, tie_word_embeddings=True, max_position_embeddings=512),
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_model(args):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(args.seed)
    shape = dict(SHAPES[args.shape])
    if args.layers:
        shape["num_hidden_layers"] = args.layers
    model = LlamaForCausalLM(LlamaConfig(**shape))
    model.save_pretrained(args.out)
    print(json.dumps({"model": args.out, "shape": args.shape,
                      "params": sum(p.numel() for p in model.parameters())}))


def current_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def setup(args):
    """The PEFT model in train mode and its optimizer, as the benchmark trains them."""
    from peft import LoraConfig, VeraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(args.model, dtype=getattr(torch, args.dtype), attn_implementation="sdpa")
    if args.method == "vera":
        cfg = VeraConfig(r=args.vera_r, target_modules=TARGETS, task_type="CAUSAL_LM")
    else:
        cfg = LoraConfig(r=args.r, lora_alpha=2 * args.r, target_modules=TARGETS, task_type="CAUSAL_LM")
    model = get_peft_model(base, cfg)
    model.train()
    if args.method == "lora_fa":
        from peft.optimizers import create_lorafa_optimizer
        opt = create_lorafa_optimizer(model, r=args.r, lora_alpha=2 * args.r, lr=1e-4)
    elif args.method == "lora_plus":
        from peft.optimizers import create_loraplus_optimizer
        opt = create_loraplus_optimizer(model, optimizer_cls=torch.optim.AdamW, lr=1e-4, loraplus_lr_ratio=16)
    else:
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    return base, model, opt


def activations(args):
    base, model, _ = setup(args)
    body = model.base_model.model.model  # LlamaModel: embeddings, decoder layers, final norm; no head
    ids = torch.randint(0, base.config.vocab_size, (args.batch, args.seq), generator=torch.Generator().manual_seed(1))
    body(input_ids=ids).last_hidden_state  # pages the weights in and warms the allocator; freed at once
    before = current_rss_mb()
    hidden = body(input_ids=ids).last_hidden_state  # noqa: F841 (kept alive: its graph holds the saved activations)
    print(json.dumps({"method": args.method, "activation_mb": current_rss_mb() - before}))


def run(args):
    base, model, opt = setup(args)
    g = torch.Generator().manual_seed(1)
    vocab = base.config.vocab_size
    times, cpu = [], []
    for _ in range(args.steps):
        ids = torch.randint(0, vocab, (args.batch, args.seq), generator=g)
        t0 = time.perf_counter()
        c0 = time.process_time()  # all threads of the process, like /proc/self/stat on the Java side
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    steady = times[1:] if len(times) > 1 else times  # the first step pays one-time allocations
    median = statistics.median(steady)
    print(json.dumps({"method": args.method, "step_s": times, "median_step_s": median, "cpu_s": cpu,
                      "median_cpu_s": statistics.median(cpu[1:] if len(cpu) > 1 else cpu),
                      "tokens_per_s": args.batch * args.seq / median,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-model")
    m.add_argument("--out", required=True)
    m.add_argument("--shape", default="smollm2-135m", choices=sorted(SHAPES))
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--layers", type=int, default=0, help="override the shape's layer count (quick checks)")
    for name in ("run", "activations"):
        add_run_options(sub.add_parser(name))
    args = p.parse_args()
    {"make-model": make_model, "run": run, "activations": activations}[args.cmd](args)


def add_run_options(r):
    r.add_argument("--model", required=True)
    r.add_argument("--method", required=True, choices=["lora", "lora_fa", "lora_plus", "vera"])
    r.add_argument("--r", type=int, default=16)
    r.add_argument("--vera-r", type=int, default=256)
    r.add_argument("--batch", type=int, default=4)
    r.add_argument("--seq", type=int, default=256)
    r.add_argument("--steps", type=int, default=6)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="the base's type; the adapter stays float32 (PEFT's autocast_adapter_dtype)")


if __name__ == "__main__":
    sys.exit(main())
