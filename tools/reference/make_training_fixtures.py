#!/usr/bin/env python3
"""Reference fixtures for dev.peftd.core.train, computed with torch / transformers / PEFT.

Run with the reference environment (never needed by the Java tests themselves):
    /work/refvenv/bin/python tools/reference/make_training_fixtures.py [optim] [training]

optim:    AdamW with two parameter groups (torch.optim.AdamW), LoRA-FA's projected gradient, clip_grad_norm_,
          and the transformers warmup schedules -> src/test/resources/fixtures/training/optim.json
training: PEFT LoRA on the tiny-llama model fixture (runtime's src/test/resources/fixtures/models/tiny-llama) from a
          saved initial adapter on fixed, unshuffled batches, with torch.optim.AdamW; per-step losses, gradient norms
          and learning rates of three runs -> src/test/resources/fixtures/training/parity/
            lora        r=4 alpha=8 on all 7 projections, lr 5e-3, wd 0.01, constant lr, no clipping
            lora_plus   same adapter, LoRA+ ratio 16 (lora_B at 16x lr), wd 0.1 on both groups
            cosine      warmup 3 then cosine over 20 steps, clip_grad_norm_ 0.05, micro-batch 2 x accumulation 2
          The loss is HF's with labels -100, averaged over the loss tokens of the whole accumulation window
          (transformers' num_items_in_batch).
training-bf16: the `lora` run again on tiny-llama loaded with dtype=torch.bfloat16 (sdpa attention, the default),
          the adapter float32 as PEFT keeps it (autocast_adapter_dtype), AdamW float32, the loss on logits.float()
          -> src/test/resources/fixtures/training/parity/runs-bf16.json (same examples and init as runs.json)
vera-half: VeRA (r=4, all 7 projections, d_initial 0.1, projection_prng_key 0) on tiny-llama loaded in bfloat16, from
          PEFT's own init (b = 0, d = d_initial, projections regenerated from the key, which on a half base PEFT rounds
          to the base's dtype and holds in float32), 12 steps of AdamW (lr 2e-2, wd 0.01) on the first batches of
          runs.json; plus the regenerated vera_A / vera_B on a bfloat16 and on a float16 base
          -> src/test/resources/fixtures/training/parity/vera-half.json
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


STEPS = 20
BATCH = 4
PAD = 0


def make_examples(vocab, count, seed):
    """Sequences of 10..32 random tokens; every third one is prompt/completion style (loss on the tail only)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(count):
        n = int(torch.randint(10, 33, (1,), generator=g))
        ids = torch.randint(3, vocab, (n,), generator=g).tolist()
        prompt = int(torch.randint(3, n - 2, (1,), generator=g)) if i % 3 == 0 else 0
        out.append({"ids": ids, "trained": [t >= prompt for t in range(n)]})
    return out


def batch_tensors(examples):
    """Right-padded input_ids and HF labels (-100 where untrained or padding)."""
    width = max(len(e["ids"]) for e in examples)
    ids = torch.full((len(examples), width), PAD, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for b, e in enumerate(examples):
        ids[b, :len(e["ids"])] = torch.tensor(e["ids"])
        for t, (tok, tr) in enumerate(zip(e["ids"], e["trained"])):
            if tr and t > 0:
                labels[b, t] = tok
    return ids, labels


def run_peft(model_dir, init_dir, examples, lr, wd, ratio=None, warmup=0, schedule="constant", clip=None,
             micro=BATCH, accum=1, dtype=torch.float32, steps=STEPS):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup
    attn = "eager" if dtype == torch.float32 else "sdpa"
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation=attn)
    model = PeftModel.from_pretrained(base, init_dir, is_trainable=True)
    assert all(p.dtype == torch.float32 for p in model.parameters() if p.requires_grad), "adapter not float32"
    model.train()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if ratio is None:
        groups = [{"params": [p for _, p in named], "lr": lr, "weight_decay": wd}]
    else:  # LoRA+ grouping (peft create_loraplus_optimizer), with the weight decay applied to both groups
        fast = [p for n, p in named if "lora_B" in n or p.ndim == 1]
        slow = [p for n, p in named if not ("lora_B" in n or p.ndim == 1)]
        groups = [{"params": slow, "lr": lr, "weight_decay": wd}, {"params": fast, "lr": lr * ratio, "weight_decay": wd}]
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.999), eps=1e-8)
    if schedule == "cosine":
        sched = get_cosine_schedule_with_warmup(opt, warmup, steps)
    else:
        sched = get_constant_schedule_with_warmup(opt, warmup)
    losses, norms, lrs = [], [], []
    for step in range(steps):
        window = [examples[(step * accum + i) * micro:(step * accum + i + 1) * micro] for i in range(accum)]
        batches = [batch_tensors(w) for w in window]
        n_items = sum(int((lab[:, 1:] != -100).sum()) for _, lab in batches)
        total = 0.0
        for ids, labels in batches:
            logits = model(input_ids=ids).logits.float()
            shift_logits = logits[:, :-1, :].reshape(-1, logits.shape[-1])
            shift_labels = labels[:, 1:].reshape(-1)
            loss = torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100,
                                                     reduction="sum") / n_items
            loss.backward()
            total += float(loss)
        params = [p for _, p in named]
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip else float("inf"))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(total)
        norms.append(float(norm))
    return {"losses": losses, "grad_norms": norms, "lrs": lrs}


def make_training():
    import hashlib
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    model_dir = ROOT / "src/test/resources/fixtures/models/tiny-llama"
    out = OUT / "parity"
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM",
                     target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    peft_model = get_peft_model(base, cfg)
    with torch.no_grad():  # B != 0 so that A also gets a gradient from the first step on
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.normal_(0.0, 0.05)
    peft_model.save_pretrained(out / "init")
    vocab = base.config.vocab_size
    examples = make_examples(vocab, STEPS * BATCH, seed=7)
    runs = {
        "lora": dict(lr=5e-3, wd=0.01),
        "lora_plus": dict(lr=1e-3, wd=0.1, ratio=16),
        "cosine": dict(lr=5e-3, wd=0.01, warmup=3, schedule="cosine", clip=0.05, micro=2, accum=2),
    }
    results = {}
    for name, kw in runs.items():
        torch.manual_seed(0)
        results[name] = {"settings": {k: v for k, v in kw.items()}, **run_peft(model_dir, out / "init", examples, **kw)}
        print(name, ["%.5f" % x for x in results[name]["losses"]])
    digest = hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
    (out / "runs.json").write_text(json.dumps({
        "model": "tiny-llama", "model_sha256": digest, "steps": STEPS, "pad_id": PAD,
        "examples": examples, "runs": results}))
    print("wrote", out)


def make_training_bf16():
    model_dir = ROOT / "src/test/resources/fixtures/models/tiny-llama"
    out = OUT / "parity"
    fixture = json.loads((out / "runs.json").read_text())
    kw = dict(lr=5e-3, wd=0.01)
    torch.manual_seed(0)
    result = {"settings": kw, **run_peft(model_dir, out / "init", fixture["examples"], dtype=torch.bfloat16, **kw)}
    print("lora bf16", ["%.5f" % x for x in result["losses"]])
    (out / "runs-bf16.json").write_text(json.dumps({"model": "tiny-llama", "dtype": "bfloat16", "runs": {"lora": result}}))
    print("wrote", out / "runs-bf16.json")


def make_vera_half():
    import tempfile
    from peft import VeraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    model_dir = ROOT / "src/test/resources/fixtures/models/tiny-llama"
    out = OUT / "parity"
    fixture = json.loads((out / "runs.json").read_text())
    cfg = dict(r=4, vera_dropout=0.0, d_initial=0.1, projection_prng_key=0, save_projection=False,
               target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    projections = {}
    for name, dtype in (("bfloat16", torch.bfloat16), ("float16", torch.float16)):
        base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
        model = get_peft_model(base, VeraConfig(task_type="CAUSAL_LM", **cfg))
        a, b = model.base_model.vera_A["default"], model.base_model.vera_B["default"]
        assert a.dtype == torch.float32 and torch.equal(a, a.to(dtype).float()), "projection not rounded to the base"
        projections[name] = {"vera_A": flat(a), "vera_B": flat(b), "shape_A": list(a.shape), "shape_B": list(b.shape)}
        if name == "bfloat16":
            init = Path(tempfile.mkdtemp()) / "vera-init"
            model.save_pretrained(init)
    kw = dict(lr=2e-2, wd=0.01)
    torch.manual_seed(0)
    result = {"settings": kw, **run_peft(model_dir, init, fixture["examples"], dtype=torch.bfloat16, steps=12, **kw)}
    print("vera bf16", ["%.5f" % x for x in result["losses"]])
    (out / "vera-half.json").write_text(json.dumps({
        "model": "tiny-llama", "config": cfg, "projections": projections, "runs": {"vera_bf16": result}}))
    print("wrote", out / "vera-half.json")


if __name__ == "__main__":
    which = sys.argv[1:] or ["optim", "training"]
    if "optim" in which:
        make_optim()
    if "training" in which and "make_training" in globals():
        make_training()
    if "training-bf16" in which:
        make_training_bf16()
    if "vera-half" in which:
        make_vera_half()
