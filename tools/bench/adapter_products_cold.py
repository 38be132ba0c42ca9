"""The adapted linears of a mixed-adapter decode step in torch's own loop, warm and cold: the forms GroupedHook can
take on a stories260K-shaped model (hidden 64, MLP 172, 5 layers, one LoRA adapter of rank 8 per row), timed per step
on one thread, once with nothing between steps (the stacks stay in the CPU's caches) and once with a 32 MB read
between steps (as in the serving loop, whose other work and other processes evict them; the read's own time is
subtracted). A step of the serving loop reads its stacks cold, so the warm figure understates the adapters' cost.

  /work/refvenv/bin/python tools/bench/adapter_products_cold.py [--rows 16,64]
"""
import argparse
import time

import torch

F = torch.nn.functional
MODULES = dict(q=(64, 64), k=(64, 64), v=(64, 64), o=(64, 64), gate=(64, 172), up=(64, 172), down=(172, 64))
LAYERS, RANK = 5, 8


def layer(rows):
    """One block's weights: base W [out, in], each row's merged (W + left·right)ᵀ [B, in, out] and factors."""
    d = {}
    for m, (i, o) in MODULES.items():
        d[m] = dict(W=torch.randn(o, i), merged=torch.randn(rows, i, o),
                    right=torch.randn(rows, i, RANK), left=torch.randn(rows, RANK, o))
    for family, outs in (("qkv", ("q", "k", "v")), ("gu", ("gate", "up"))):
        # siblings: the rows' right factors side by side, the left ones block-diagonal (SiblingFactors)
        width = sum(MODULES[m][1] for m in outs)
        block = torch.zeros(rows, RANK * len(outs), width)
        col = 0
        for j, m in enumerate(outs):
            block[:, j * RANK:(j + 1) * RANK, col:col + MODULES[m][1]] = d[m]["left"]
            col += MODULES[m][1]
        d[family] = dict(right=torch.cat([d[m]["right"] for m in outs], 2), left=block,
                         splits=[MODULES[m][1] for m in outs])
    return d


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", default="16,64")
    args = p.parse_args()
    torch.set_num_threads(1)
    big = torch.ones(8 * 2 ** 20)  # 32 MB, more than the stacks at 16 rows

    def median_us(f, n=200):
        for _ in range(20):
            f()
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n):
                f()
            runs.append((time.perf_counter() - start) / n * 1e6)
        return sorted(runs)[2]

    for rows in (int(r) for r in args.rows.split(",")):
        layers = [layer(rows) for _ in range(LAYERS)]
        x = {64: torch.randn(rows, 1, 64), 172: torch.randn(rows, 1, 172)}

        def base():
            for d in layers:
                for m, (i, _) in MODULES.items():
                    F.linear(x[i], d[m]["W"])

        def gathered(d, m):
            i = MODULES[m][0]
            return F.linear(x[i], d[m]["W"]) + torch.matmul(torch.matmul(x[i], d[m]["right"]), d[m]["left"])

        def siblings(d, family, outs):
            bases = [F.linear(x[64], d[m]["W"]) for m in outs]
            ups = torch.matmul(torch.matmul(x[64], d[family]["right"]), d[family]["left"]).split(d[family]["splits"], 2)
            return [b + u for b, u in zip(bases, ups)]

        def merged_all():
            for d in layers:
                for m, (i, _) in MODULES.items():
                    torch.matmul(x[i], d[m]["merged"])

        def merged_attention():
            for d in layers:
                for m in ("q", "k", "v", "o"):
                    torch.matmul(x[64], d[m]["merged"])
                siblings(d, "gu", ("gate", "up"))
                gathered(d, "down")

        def gathered_all():
            for d in layers:
                siblings(d, "qkv", ("q", "k", "v"))
                gathered(d, "o")
                siblings(d, "gu", ("gate", "up"))
                gathered(d, "down")

        flush = median_us(big.sum)
        for name, step in (("base GEMMs", base), ("merged, every module", merged_all),
                           ("merged attention, gathered MLP", merged_attention), ("gathered, siblings fused", gathered_all)):
            warm = median_us(step)
            cold = median_us(lambda: (big.sum(), step())) - flush
            print(f"{rows:3d} rows  {name:32s} warm {warm:7.0f} us a step, cold {cold:7.0f} us")


if __name__ == "__main__":
    main()
