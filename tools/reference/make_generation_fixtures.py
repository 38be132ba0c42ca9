"""Expected greedy generations for the tiny model fixtures, computed by transformers' `generate`.

For each model under src/test/resources/fixtures/models/ the prompt is tokenized with the model's own tokenizer
(AutoTokenizer, special tokens as its post-processor adds them) and continued greedily (do_sample=False) for up to
MAX_NEW tokens with the model's EOS ids. The output, src/test/resources/fixtures/generate/greedy.json, holds per
model: prompt ids, generated ids, the log-probability of each chosen token (log_softmax of the raw logits) with the
top-3 alternatives, and the smallest gap between the best and second-best logit over all steps (a small gap would
make argmax fragile to float rounding; the Java test tolerates none).

It also writes fixtures/generate/score.json: the mean next-token loss (transformers' `labels=input_ids` loss) of a
text, and of the lines of a small JSONL set pooled over all their tokens, for `peftd score`.

Run: /work/refvenv/bin/python tools/reference/make_generation_fixtures.py
"""
import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "src/test/resources/fixtures/models"
OUT = ROOT / "src/test/resources/fixtures/generate/greedy.json"
SCORE_OUT = ROOT / "src/test/resources/fixtures/generate/score.json"
SCORE_TEXT = "First Citizen:\nYou are all resolved rather to die than to famish?"
SCORE_LINES = ["All:\nResolved. resolved.", "First, you know Caius Marcius is chief enemy to the people.", "We know't."]
PROMPT = "First Citizen:\nBefore we proceed"
MAX_NEW = 24
TOP = 3


def main():
    torch.manual_seed(0)
    results = {}
    for name in ["tiny-llama", "tiny-qwen2", "tiny-mistral", "tiny-gpt2"]:
        d = MODELS / name
        tok = AutoTokenizer.from_pretrained(str(d))
        model = AutoModelForCausalLM.from_pretrained(str(d), dtype=torch.float32, attn_implementation="eager").eval()
        prompt = tok(PROMPT, return_tensors="pt").input_ids
        with torch.no_grad():
            out = model.generate(prompt, max_new_tokens=MAX_NEW, do_sample=False, output_logits=True,
                                 return_dict_in_generate=True, pad_token_id=model.config.eos_token_id)
        generated = out.sequences[0, prompt.shape[1]:].tolist()
        steps = []
        min_gap = float("inf")
        for token, logits in zip(generated, out.logits):
            logp = torch.log_softmax(logits[0].double(), -1)
            top = torch.topk(logits[0], TOP + 1)
            min_gap = min(min_gap, float(top.values[0] - top.values[1]))
            steps.append({"token": token, "logprob": float(logp[token]),
                          "top": [[int(i), float(logp[i])] for i in top.indices[:TOP]]})
        results[name] = {"prompt": PROMPT, "prompt_ids": prompt[0].tolist(), "generated_ids": generated,
                         "text": tok.decode(generated, skip_special_tokens=True), "steps": steps, "min_gap": min_gap}
        print(name, len(generated), "tokens, min top1-top2 gap", round(min_gap, 5), repr(results[name]["text"][:60]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    write_scores()


def write_scores():
    scores = {"text": SCORE_TEXT, "lines": SCORE_LINES}
    for name in ["tiny-llama", "tiny-gpt2"]:
        d = MODELS / name
        tok = AutoTokenizer.from_pretrained(str(d))
        model = AutoModelForCausalLM.from_pretrained(str(d), dtype=torch.float32, attn_implementation="eager").eval()
        with torch.no_grad():
            ids = tok(SCORE_TEXT, return_tensors="pt").input_ids
            loss = float(model(ids, labels=ids).loss)
            total, count = 0.0, 0
            for line in SCORE_LINES:
                line_ids = tok(line, return_tensors="pt").input_ids
                n = line_ids.shape[1] - 1
                total += float(model(line_ids, labels=line_ids).loss) * n
                count += n
        scores[name] = {"text_ids": ids[0].tolist(), "text_loss": loss, "lines_loss": total / count, "lines_tokens": count}
        print(name, "score loss", loss, "lines", total / count, count)
    SCORE_OUT.write_text(json.dumps(scores, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
