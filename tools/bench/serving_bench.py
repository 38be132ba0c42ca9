"""transformers + PEFT side of the serving benchmark, and the random-weight model + adapter it runs on.

  /work/refvenv/bin/python tools/bench/serving_bench.py make [--out /tmp/peftd-bench]   # ~100M Llama + r=16 LoRA
  /work/refvenv/bin/python tools/bench/serving_bench.py run --model DIR --adapter DIR [--threads N]
        [--prompt-tokens P] [--new-tokens N] [--runs R] [--json]

`make` writes (not committed; /tmp): llama-125m/ (tools/bench/make_bench_model.py's default shape, 125M parameters)
with a 32000-word WordLevel tokenizer.json so that the serving engine can load it, and lora-r16/: a PEFT LoRA,
r=16, alpha=32, on all seven projections of every layer, with non-zero random A and B (a fresh LoRA has B = 0).

`run` measures what `java -jar target/peftd.jar bench serving` measures, the PEFT way: decode tokens/s at batch 1
(greedy, no early stop) for the base, PeftModel (unmerged) and merge_and_unload(); the cold adapter load
(PeftModel.load_adapter from disk), and the swap (set_adapter between two loaded adapters). Medians after a warm-up.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def make(out):
    model_dir = out / "llama-125m"
    subprocess.run([sys.executable, str(HERE / "make_bench_model.py"), "--out", str(model_dir)], check=True)
    write_tokenizer(model_dir)

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    config = LoraConfig(r=16, lora_alpha=32, task_type="CAUSAL_LM",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    peft_model = get_peft_model(base, config)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
    adapter_dir = out / "lora-r16"
    peft_model.save_pretrained(adapter_dir)
    print(model_dir, adapter_dir)


def write_tokenizer(model_dir):
    """A 32000-word WordLevel tokenizer (ids 0-2 special) so that the random model has a real tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for i in range(3, 32000):
        vocab[f"w{i}"] = i
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.save(str(model_dir / "tokenizer.json"))
    (model_dir / "tokenizer_config.json").write_text(json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "model_max_length": 2048}) + "\n")


def decode_rates(model, prompt, new_tokens, runs):
    """Decode tokens/s at batch 1, (new - 1) tokens over generate(new) minus generate(1): by wall time and by this
    thread's CPU time (with one torch thread the compute runs on it; robust on a shared machine)."""
    def timed(n):
        wall, cpu = time.perf_counter(), time.thread_time()
        model.generate(prompt, max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=0)
        return time.perf_counter() - wall, time.thread_time() - cpu
    wall_rates, cpu_rates = [], []
    for r in range(runs + 1):
        first = timed(1)
        whole = timed(new_tokens)
        if r > 0:
            wall_rates.append((new_tokens - 1) / (whole[0] - first[0]))
            cpu_rates.append((new_tokens - 1) / (whole[1] - first[1]))
    return statistics.median(wall_rates), statistics.median(cpu_rates)


def put_rates(results, name, rates):
    results[name + "_tokens_per_s"], results[name + "_tokens_per_cpu_s"] = rates


def timed_ms(fn):
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return (time.perf_counter() - wall) * 1e3, (time.thread_time() - cpu) * 1e3


def put_times(results, name, samples):
    results[name + "_ms"] = statistics.median(s[0] for s in samples)
    results[name + "_cpu_ms"] = statistics.median(s[1] for s in samples)


def run(a):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    start = time.perf_counter()
    base = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).eval()
    results = {"engine": "transformers+peft", "torch": torch.__version__, "threads": a.threads,
               "prompt_tokens": a.prompt_tokens, "new_tokens": a.new_tokens, "runs": a.runs,
               "base_load_ms": (time.perf_counter() - start) * 1e3}
    g = torch.Generator().manual_seed(0)
    prompt = torch.randint(3, base.config.vocab_size, (1, a.prompt_tokens), generator=g)
    put_rates(results, "decode_base", decode_rates(base, prompt, a.new_tokens, a.runs))

    peft_model = PeftModel.from_pretrained(base, a.adapter, adapter_name="bench").eval()
    put_rates(results, "decode_unmerged", decode_rates(peft_model, prompt, a.new_tokens, a.runs))

    loads = []
    for r in range(a.runs + 1):
        loads.append(timed_ms(lambda: peft_model.load_adapter(a.adapter, adapter_name=f"cold{r}")))
        peft_model.delete_adapter(f"cold{r}")
    put_times(results, "adapter_cold_load_from_store", loads[1:])
    peft_model.load_adapter(a.adapter, adapter_name="other")
    swaps = []
    for r in range(a.runs + 1):
        peft_model.set_adapter("bench")
        swaps.append(timed_ms(lambda: peft_model.set_adapter("other")))
    put_times(results, "adapter_swap_cached", swaps[1:])
    peft_model.set_adapter("bench")
    peft_model.delete_adapter("other")

    start = time.perf_counter()
    merged = peft_model.merge_and_unload()
    results["merge_in_memory_ms"] = (time.perf_counter() - start) * 1e3
    put_rates(results, "decode_merged", decode_rates(merged, prompt, a.new_tokens, a.runs))
    if a.json:
        print(json.dumps(results))
    else:
        for k, v in results.items():
            print(f"{k:34} {v:.2f}" if isinstance(v, float) else f"{k:34} {v}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", default="/tmp/peftd-bench")
    r = sub.add_parser("run")
    r.add_argument("--model", required=True)
    r.add_argument("--adapter", required=True)
    r.add_argument("--threads", type=int, default=torch.get_num_threads())
    r.add_argument("--prompt-tokens", type=int, default=128)
    r.add_argument("--new-tokens", type=int, default=64)
    r.add_argument("--runs", type=int, default=5)
    r.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.cmd == "make":
        make(Path(a.out))
    else:
        run(a)


if __name__ == "__main__":
    main()
