#!/usr/bin/env python3
"""Reference fixtures for dev.peftd.core.train, computed with torch / transformers / PEFT.

Run with the reference environment (never needed by the Java tests themselves):
    /work/refvenv/bin/python tools/reference/make_training_fixtures.py [optim] [training]

optim:    AdamW with two parameter groups (torch.optim.AdamW), LoRA-FA's projected gradient, clip_grad_norm_,
          and the transformers warmup schedules -> src/test/resources/fixtures/training/optim.json
training: see make_training() below.
"""
import json
import math
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src/test/resources/fixtures/training"


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def make_optim():
    torch.manual_seed(1234)
    shapes = {"a": [3, 5], "b": [4, 3], "vec": [4]}
    params = {k: torch.randn(s) for k, s in shapes.items()}
    grads = [{k: torch.randn(s) for k, s in shapes.items()} for _ in range(6)]
    live = {k: torch.nn.Parameter(v.clone()) for k, v in params.items()}
    groups = [
        {"params": [live["a"]], "lr": 3e-2, "weight_decay": 0.1},
        {"params": [live["b"], live["vec"]], "lr": 0.5, "weight_decay": 0.01},
    ]
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: [1.0, 0.9, 0.5, 0.25, 0.1, 0.0, 0.0][s])
    after = []
    for g in grads:
        for k in live:
            live[k].grad = g[k].clone()
        opt.step()
        sched.step()
        after.append({k: flat(v) for k, v in live.items()})
    adamw = {
        "shapes": shapes,
        "init": {k: flat(v) for k, v in params.items()},
        "grads": [{k: flat(v) for k, v in g.items()} for g in grads],
        "groups": [{"names": ["a"], "lr": 3e-2, "weight_decay": 0.1},
                   {"names": ["b", "vec"], "lr": 0.5, "weight_decay": 0.01}],
        "multipliers": [1.0, 0.9, 0.5, 0.25, 0.1, 0.0],
        "after": after,
    }

    # LoRA-FA: g_B <- (1/s^2) g_B (A A^T + 1e-8 I)^+ in fp32 (PEFT's formula without its bf16 autocast), then one
    # torch AdamW step on B with the projected gradient.
    a = torch.randn(3, 7)
    b = torch.randn(5, 3)
    gb = torch.randn(5, 3)
    s = 2.5
    projected = (1 / s ** 2) * (gb @ torch.linalg.pinv(a @ a.T + 1e-8 * torch.eye(3)))
    pb = torch.nn.Parameter(b.clone())
    pb.grad = projected.clone()
    torch.optim.AdamW([pb], lr=0.1, weight_decay=0.0).step()
    lorafa = {"a": flat(a), "b": flat(b), "grad_b": flat(gb), "scaling": s, "lr": 0.1,
              "projected": flat(projected), "b_after": flat(pb)}

    # clip_grad_norm_: one case that clips, one that does not.
    clip = []
    for max_norm in (1.0, 100.0):
        ps = [torch.nn.Parameter(torch.zeros(s)) for s in ([3, 5], [4])]
        gs = [torch.randn(3, 5) * 2, torch.randn(4)]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        clip.append({"max_norm": max_norm, "grads": [flat(g) for g in gs], "shapes": [[3, 5], [4]],
                     "total_norm": float(total), "clipped": [flat(p.grad) for p in ps]})

    from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                              get_linear_schedule_with_warmup)
    schedules = []
    for kind, fn in (("cosine", get_cosine_schedule_with_warmup), ("linear", get_linear_schedule_with_warmup),
                     ("constant", None)):
        for warmup, total in ((0, 10), (3, 10), (5, 7)):
            p = torch.nn.Parameter(torch.zeros(1))
            opt = torch.optim.SGD([p], lr=1.0)
            s = (get_constant_schedule_with_warmup(opt, warmup) if fn is None else fn(opt, warmup, total))
            lrs = []
            for _ in range(total + 2):
                lrs.append(opt.param_groups[0]["lr"])
                opt.step()
                s.step()
            schedules.append({"kind": kind, "warmup": warmup, "total": total, "lrs": lrs})

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "optim.json").write_text(json.dumps(
        {"adamw": adamw, "lorafa": lorafa, "clip": clip, "schedules": schedules}, indent=1))
    print("wrote", OUT / "optim.json")


if __name__ == "__main__":
    which = sys.argv[1:] or ["optim", "training"]
    if "optim" in which:
        make_optim()
    if "training" in which and "make_training" in globals():
        make_training()
