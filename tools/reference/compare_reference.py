#!/usr/bin/env python3
"""PEFT side of `java -jar target/peftd.jar compare`: the same protocol with transformers + PEFT + torch, for the
README's side-by-side table, and an independent check of peftd's exported adapters.

    compare_reference.py train --model DIR --data TRAIN.jsonl --eval-file EVAL.jsonl --steps 150 --batch-size 16
        --max-seq-len 128 --seeds 2 [--seed 42] --r 8 --alpha 16 --vera-r 64 --loraplus-ratio 16
        --lr lora=3e-3,lora_fa=3e-3,lora_plus=1e-3,vera=1e-2 [--methods lora,lora_fa,vera,lora_plus]
        [--threads 2] [--out peft_report.json]
      Trains each method with PEFT on all seven projections (dropout 0, torch AdamW with weight decay 0, constant lr,
      no clipping, a fresh seeded permutation of the training records every epoch, batches padded to their longest
      record) and scores it before and after on every token of the eval file. Prints a Markdown table (mean and sample
      standard deviation over seeds) and writes the rows as JSON.
        lora_fa:   A frozen at its initialisation, B trained with AdamW (peftd's lora_fa default; PEFT's
                   create_lorafa_optimizer projects B's gradient instead, peftd's --lora-fa-project-grad)
        lora_plus: peft.optimizers.create_loraplus_optimizer (B at ratio x lr)
        vera:      peft.VeraConfig(r=--vera-r), PEFT's default d_initial 0.1 and projection_prng_key 0
        Delta-LoRA has no PEFT implementation, so it has no reference row.

    compare_reference.py score --model DIR --eval-file EVAL.jsonl --report DIR/report.json
      Loads every adapter a peftd comparison exported with PEFT's PeftModel.from_pretrained and scores it on the eval
      file here: one line per row with peftd's eval_loss, PEFT's, and the difference.

    compare_reference.py side-by-side --peftd DIR/report.json [...] --peft peft_report.json [...]
      One Markdown table of peftd's rows (from one or more report.json files, e.g. comparisons run per seed in
      parallel) next to PEFT's (from one or more `train --out` files): eval loss mean ± sample sd over seeds.

Records are encoded as peftd's training encodes a {"text": ...} record (the only kind this script reads): the
tokenizer's encoding with its special tokens, then EOS, cut to --max-seq-len from the start; every token after the
first is a loss target. The eval loss is the mean next-token NLL pooled over every such token.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def encode(tokenizer, path, max_len):
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if "text" not in record:
            sys.exit(f"{path}: only {{\"text\": ...}} records are supported here")
        ids = tokenizer(record["text"], add_special_tokens=True)["input_ids"] + [tokenizer.eos_token_id]
        ids = ids[:max_len]
        if len(ids) >= 2:
            rows.append(ids)
    return rows


def batch_tensors(rows, pad_id):
    longest = max(len(r) for r in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), longest), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        labels[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, labels, mask


@torch.no_grad()
def eval_loss(model, rows, pad_id, batch_size):
    model.eval()
    total, tokens = 0.0, 0
    for start in range(0, len(rows), batch_size):
        ids, labels, mask = batch_tensors(rows[start:start + batch_size], pad_id)
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        target = labels[:, 1:]
        keep = target != -100
        nll = -logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        total += nll[keep].double().sum().item()
        tokens += int(keep.sum())
    return total / tokens


def load_base(model_dir):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)


def peft_model(base, method, args):
    from peft import LoraConfig, VeraConfig, get_peft_model
    if method == "vera":
        cfg = VeraConfig(r=args.vera_r, target_modules=TARGETS, vera_dropout=0.0, task_type="CAUSAL_LM")
    else:
        cfg = LoraConfig(r=args.r, lora_alpha=args.alpha, lora_dropout=0.0, target_modules=TARGETS,
                         task_type="CAUSAL_LM")
    model = get_peft_model(base, cfg)
    if method == "lora_fa":
        for name, p in model.named_parameters():
            if "lora_A" in name:
                p.requires_grad_(False)
    return model


def optimizer(model, method, lr, args):
    if method == "lora_plus":
        from peft.optimizers import create_loraplus_optimizer
        return create_loraplus_optimizer(model, optimizer_cls=torch.optim.AdamW, lr=lr,
                                         loraplus_lr_ratio=args.loraplus_ratio, weight_decay=0.0)
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)


def train_one(method, seed, lr, train_rows, eval_rows, pad_id, args):
    torch.manual_seed(seed)
    model = peft_model(load_base(args.model), method, args)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    before = eval_loss(model, eval_rows, pad_id, args.batch_size)
    opt = optimizer(model, method, lr, args)
    order = torch.Generator().manual_seed(seed)
    queue, times = [], []
    for _ in range(args.steps):
        if len(queue) < args.batch_size:
            queue += torch.randperm(len(train_rows), generator=order).tolist()
        picked, queue = queue[:args.batch_size], queue[args.batch_size:]
        ids, labels, mask = batch_tensors([train_rows[i] for i in picked], pad_id)
        model.train()
        t0 = time.perf_counter()
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    after = eval_loss(model, eval_rows, pad_id, args.batch_size)
    return {"method": method, "seed": seed, "trainable_params": trainable, "eval_loss_before": before,
            "eval_loss": after, "step_seconds": statistics.median(times[1:] or times)}


def train(args):
    from transformers import AutoTokenizer
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    pad_id = tokenizer.eos_token_id
    train_rows = encode(tokenizer, args.data, args.max_seq_len)
    eval_rows = encode(tokenizer, args.eval_file, args.max_seq_len)
    lrs = dict(item.split("=") for item in args.lr.split(","))
    rows = []
    for seed in range(args.seed, args.seed + args.seeds):
        for method in args.methods.split(","):
            row = train_one(method, seed, float(lrs[method]), train_rows, eval_rows, pad_id, args)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(table(rows, args.methods.split(",")))
    Path(args.out).write_text(json.dumps({"protocol": vars(args), "rows": rows}, indent=1))


def table(rows, methods):
    out = ["| method (PEFT) | trainable params | eval loss before | eval loss after (± sd, seeds) | s / step |",
           "|---|---:|---:|---:|---:|"]
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        losses = [r["eval_loss"] for r in mine]
        sd = statistics.stdev(losses) if len(losses) > 1 else 0.0
        out.append(f"| {m} | {mine[0]['trainable_params']:,} | {statistics.mean(r['eval_loss_before'] for r in mine):.4f}"
                   f" | {statistics.mean(losses):.4f} ± {sd:.4f} ({len(losses)}) |"
                   f" {statistics.mean(r['step_seconds'] for r in mine):.3f} |")
    return "\n".join(out)


def score(args):
    from peft import PeftModel
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    report_path = Path(args.report)
    report = json.loads(report_path.read_text())
    eval_rows = encode(tokenizer, args.eval_file, report["budget"]["max_seq_length"])
    worst = 0.0
    for row in report["rows"]:
        model = PeftModel.from_pretrained(load_base(args.model), str(report_path.parent / row["adapter_dir"]))
        loss = eval_loss(model, eval_rows, tokenizer.eos_token_id, 16)
        worst = max(worst, abs(loss - row["eval_loss"]))
        print(f"{row['method']:>10} seed {row['seed']}: peftd {row['eval_loss']:.6f}  PEFT {loss:.6f}  "
              f"diff {loss - row['eval_loss']:+.2e}", flush=True)
    print(f"largest difference {worst:.2e}")
    return 0 if worst <= 2e-3 else 1


def side_by_side(args):
    peftd, peft = {}, {}
    for path in args.peftd:
        for row in json.loads(Path(path).read_text())["rows"]:
            peftd.setdefault(row["method"], []).append(row)
    for path in args.peft:
        for row in json.loads(Path(path).read_text())["rows"]:
            peft.setdefault(row["method"], []).append(row)

    def cell(rows):
        if not rows:
            return "—", "—", "—"
        losses = [r["eval_loss"] for r in rows]
        sd = statistics.stdev(losses) if len(losses) > 1 else 0.0
        seeds = ",".join(str(r["seed"]) for r in rows)
        return (f"{statistics.mean(losses):.4f} ± {sd:.4f} (seeds {seeds})",
                f"{statistics.mean(r['step_seconds'] for r in rows):.2f}", f"{rows[0]['trainable_params']:,}")

    print("| method | trainable params | peftd eval loss | PEFT eval loss | peftd s/step | PEFT s/step |")
    print("|---|---:|---:|---:|---:|---:|")
    for m in ["lora", "lora_fa", "vera", "delta_lora", "lora_plus"]:
        if m not in peftd and m not in peft:
            continue
        a, b = cell(peftd.get(m, [])), cell(peft.get(m, []))
        print(f"| {m} | {a[2] if a[2] != '—' else b[2]} | {a[0]} | {b[0]} | {a[1]} | {b[1]} |")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--model", required=True)
    t.add_argument("--data", required=True)
    t.add_argument("--eval-file", required=True)
    t.add_argument("--methods", default="lora,lora_fa,vera,lora_plus")
    t.add_argument("--steps", type=int, default=150)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--max-seq-len", type=int, default=128)
    t.add_argument("--seeds", type=int, default=2)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--r", type=int, default=8)
    t.add_argument("--alpha", type=float, default=16)
    t.add_argument("--vera-r", type=int, default=64)
    t.add_argument("--loraplus-ratio", type=float, default=16)
    t.add_argument("--lr", default="lora=3e-3,lora_fa=3e-3,lora_plus=1e-3,vera=1e-2")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--out", default="peft_report.json")
    s = sub.add_parser("score")
    s.add_argument("--model", required=True)
    s.add_argument("--eval-file", required=True)
    s.add_argument("--report", required=True)
    b = sub.add_parser("side-by-side")
    b.add_argument("--peftd", nargs="+", required=True)
    b.add_argument("--peft", nargs="+", required=True)
    args = p.parse_args()
    return {"train": train, "score": score, "side-by-side": side_by_side}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
