"""The GEMM-only floor of a Llama-style model's decode step: its linear layers (7 per block plus the output head) as
distinct weights (float32, or --dtype), so they stream from memory as in the model, run in model order on M rows with libtorch's
torch.nn.functional.linear, timed in thread CPU time (robust to other processes on a shared machine). Also a plain
read of the same number of bytes (the bandwidth a one-row step is bound by).

Compare with `peftd bench serving-batch`: a step can be no faster than its GEMMs, so
  16 × (one-row step) / (16-row step)  bounds what batching 16 streams can give over one.

  /work/refvenv/bin/python tools/bench/gemm_floor.py --model DIR [--rows 1,16,32,512] [--threads 1] [--dtype bfloat16]
"""
import argparse
import json
import os
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--rows", default="1,16,32,512")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="the weights' and inputs' type (bench serving-batch --dtype)")
    args = p.parse_args()
    dtype = getattr(torch, args.dtype)
    size = torch.finfo(dtype).bits // 8
    torch.set_num_threads(args.threads)
    c = json.load(open(os.path.join(args.model, "config.json")))
    hidden, inter = c["hidden_size"], c["intermediate_size"]
    head_dim = c.get("head_dim") or hidden // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * head_dim, c.get("num_key_value_heads", c["num_attention_heads"]) * head_dim
    block = [(q, hidden), (kv, hidden), (kv, hidden), (hidden, q), (inter, hidden), (inter, hidden), (hidden, inter)]
    weights = [torch.randn(o, i).to(dtype) for _ in range(c["num_hidden_layers"]) for (o, i) in block]
    weights.append(torch.randn(c["vocab_size"], hidden).to(dtype))
    flops_per_row = sum(2 * w.numel() for w in weights)
    weight_bytes = sum(size * w.numel() for w in weights)
    flat = torch.randn(weight_bytes // 4)

    def cpu_ms(f, reps):
        f()
        times = []
        for _ in range(reps):
            start = time.thread_time()
            f()
            times.append(time.thread_time() - start)
        return sorted(times)[len(times) // 2] * 1e3

    read = cpu_ms(flat.sum, 7)
    print(f"{len(weights)} linears, {weight_bytes / 1e6:.0f} MB {args.dtype}, {args.threads} thread(s)")
    print(f"read {weight_bytes / 1e6:.0f} MB: {read:.1f} ms ({weight_bytes / read / 1e6:.1f} GB/s)")
    for m in (int(r) for r in args.rows.split(",")):
        x = {n: torch.randn(m, n).to(dtype) for n in {w.shape[1] for w in weights}}
        with torch.no_grad():
            step = cpu_ms(lambda: [torch.nn.functional.linear(x[w.shape[1]], w) for w in weights], 3 if m > 64 else 7)
            head = cpu_ms(lambda: torch.nn.functional.linear(x[hidden], weights[-1]), 3 if m > 64 else 7)
        print(f"{m:4d} rows: {step:8.1f} ms ({flops_per_row * m / step / 1e6:5.1f} GFLOP/s; "
              f"{weight_bytes / step / 1e6:5.1f} GB/s of weights), output head alone {head:.1f} ms")


if __name__ == "__main__":
    main()
