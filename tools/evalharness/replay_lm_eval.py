#!/usr/bin/env python3
"""Replays lm-evaluation-harness's `local-completions` traffic against a running peftd and checks batch invariance.

    python3 tools/evalharness/replay_lm_eval.py --base-url http://localhost:8080/v1 --api-key KEY --model stories260K \
        [--vocab-size 512] [--docs 16] [--batch 16] [--tolerance 1e-4] [--json]

Standard library only. What it sends is what lm_eval/models/openai_completions.py (LocalCompletionsAPI) and
api_models.py (TemplateAPI) send with tokenized requests (the default with a Hugging Face tokenizer):

  loglikelihood   {"model", "prompt": [[ids], ... up to --batch], "temperature": 0, "max_tokens": 1, "logprobs": 1,
                   "seed": 1234, "echo": true}; the harness sums token_logprobs[ctxlen:-1] of each choice (sorted by
                   "index") and calls it greedy when every token's logprob is the max of its top_logprobs. The same
                   requests are also sent with "max_tokens": 0 (scoring only; parsed as token_logprobs[ctxlen:]).
  generate_until  {"model", "prompt": [[ids], ...], "max_tokens": N, "temperature": 0, "stop": [until..., eos],
                   "seed": 1234}; the harness reads choices[index].text.

Requests are multiple-choice shaped (one context, 4 continuations, as hellaswag/arc/mmlu) and sorted longest first in
batches, as the harness's Collator does. Token ids are drawn from the vocabulary with a fixed seed: the harness
tokenizes locally and only the ids travel, and batch invariance does not depend on which ids they are.

Each phase runs at --batch (lm_eval --batch_size 16) and at 1; the script prints both sets of numbers' largest
difference and exits 1 if any loglikelihood differs by more than --tolerance, a greedy flag differs, or a generation
differs.
"""
import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request

EOS = "</s>"
UNTIL = ["\n\n", "Question:"]


def post(args, payload):
    request = urllib.request.Request(args.base_url.rstrip("/") + "/completions", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": "Bearer " + args.api_key})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        sys.exit(f"POST /completions: HTTP {e.code}: {e.read().decode(errors='replace')}")


def batches(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def loglikelihood(args, requests, batch_size, max_tokens):
    """Harness payloads in batches; returns [(sum logprob, is_greedy)] in request order, and seconds spent."""
    order = sorted(range(len(requests)), key=lambda i: -len(requests[i][0] + requests[i][1]))  # Collator: longest first
    results = [None] * len(requests)
    start = time.perf_counter()
    for chunk in batches(order, batch_size):
        payload = {"model": args.model, "prompt": [requests[i][0] + requests[i][1] for i in chunk], "temperature": 0,
                   "max_tokens": max_tokens, "logprobs": 1, "seed": 1234, "echo": True}
        out = post(args, payload)
        choices = sorted(out["choices"], key=lambda c: c["index"])
        assert len(choices) == len(chunk), f"{len(choices)} choices for {len(chunk)} prompts"
        for i, choice in zip(chunk, choices):
            ctxlen = len(requests[i][0])
            end = len(choice["logprobs"]["token_logprobs"]) - max_tokens  # max_tokens 1: drop the generated token
            tokens = choice["logprobs"]["token_logprobs"][ctxlen:end]
            tops = choice["logprobs"]["top_logprobs"][ctxlen:end]
            assert len(tokens) == len(requests[i][1]), "one logprob per continuation token"
            greedy = all(tok == max(top.values()) for tok, top in zip(tokens, tops))
            results[i] = (sum(tokens), greedy)
    return results, time.perf_counter() - start


def generate_until(args, contexts, batch_size):
    order = sorted(range(len(contexts)), key=lambda i: -len(contexts[i]))
    texts = [None] * len(contexts)
    start = time.perf_counter()
    for chunk in batches(order, batch_size):
        payload = {"model": args.model, "prompt": [contexts[i] for i in chunk], "max_tokens": args.max_gen_toks,
                   "temperature": 0, "stop": UNTIL + [EOS], "seed": 1234}
        out = post(args, payload)
        for choice in out["choices"]:
            texts[chunk[choice["index"]]] = choice["text"]
    return texts, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://localhost:8080/v1")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--vocab-size", type=int, default=512, help="config.json's vocab_size (ids 0-2 are skipped)")
    parser.add_argument("--docs", type=int, default=16, help="multiple-choice documents, 4 continuations each")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-context", type=int, default=200)
    parser.add_argument("--max-gen-toks", type=int, default=32)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    ids = lambda n: [rng.randrange(3, args.vocab_size) for _ in range(n)]
    requests = []
    contexts = []
    for _ in range(args.docs):
        context = ids(rng.randint(8, args.max_context))
        contexts.append(context)
        for _ in range(4):
            requests.append((context, ids(rng.randint(1, 10))))

    summary = {"model": args.model, "requests": len(requests), "batch": args.batch, "tolerance": args.tolerance}
    ok = True
    for max_tokens in (1, 0):
        batched, t_batched = loglikelihood(args, requests, args.batch, max_tokens)
        single, t_single = loglikelihood(args, requests, 1, max_tokens)
        diff = max(abs(a[0] - b[0]) for a, b in zip(batched, single))
        greedy_mismatch = sum(a[1] != b[1] for a, b in zip(batched, single))
        key = f"loglikelihood_max_tokens_{max_tokens}"
        summary[key] = {"max_abs_diff": diff, "greedy_mismatches": greedy_mismatch,
                        "greedy": sum(a[1] for a in batched), "seconds_batch": round(t_batched, 2),
                        "seconds_single": round(t_single, 2),
                        "first": [round(v[0], 6) for v in batched[:4]]}
        ok &= diff <= args.tolerance and greedy_mismatch == 0
    batched, t_batched = generate_until(args, contexts, args.batch)
    single, t_single = generate_until(args, contexts, 1)
    differ = [i for i, (a, b) in enumerate(zip(batched, single)) if a != b]
    summary["generate_until"] = {"requests": len(contexts), "differ": len(differ), "seconds_batch": round(t_batched, 2),
                                 "seconds_single": round(t_single, 2), "first": batched[0][:60]}
    ok &= not differ
    summary["ok"] = ok

    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"model {args.model}: {len(requests)} loglikelihood requests ({args.docs} docs x 4), "
              f"{len(contexts)} generate_until, batch {args.batch} vs 1, tolerance {args.tolerance:g}")
        for max_tokens in (1, 0):
            s = summary[f"loglikelihood_max_tokens_{max_tokens}"]
            print(f"  loglikelihood, max_tokens {max_tokens}: max |batch - single| = {s['max_abs_diff']:.2e}, "
                  f"greedy flags differ: {s['greedy_mismatches']} (greedy: {s['greedy']}/{len(requests)}), "
                  f"{s['seconds_batch']} s batched vs {s['seconds_single']} s one by one; first sums {s['first']}")
        g = summary["generate_until"]
        print(f"  generate_until (stop {UNTIL + [EOS]!r}, max_tokens {args.max_gen_toks}): {g['differ']} of "
              f"{g['requests']} texts differ, {g['seconds_batch']} s batched vs {g['seconds_single']} s one by one; "
              f"first {g['first']!r}")
        print("  OK: batch 16 gives the numbers of batch 1" if ok else "  FAILED: batch and single differ")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
