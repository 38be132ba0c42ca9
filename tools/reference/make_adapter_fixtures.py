"""Creates the PEFT adapter fixtures under src/test/resources/fixtures/adapters/ and their reference numbers.

Run with the reference environment (torch 2.13, transformers 5.18, peft 0.21):

    /work/refvenv/bin/python tools/reference/make_adapter_fixtures.py

It needs the tiny models of tools/reference/make_model_fixtures.py (src/test/resources/fixtures/models/). For each
fixture it builds a PEFT adapter on one tiny model, gives every adapter tensor non-zero random values (a fresh LoRA
has B = 0 and a fresh VeRA b = 0, which would make every parity check trivially pass), saves it with
`save_pretrained`, and writes `expected.safetensors` beside it:

  input_ids                      the model's fixed [2, 12] input (from its reference.safetensors)
  logits                         PeftModel.from_pretrained(base, adapter_dir) logits, float32 [2, 12, vocab]
  merged.<checkpoint key>        after merge_and_unload(): the first three adapted weights (by name) as stored
                                 in the HF checkpoint (GPT-2 Conv1D keeps its [in, out] orientation)

Fixtures:
  llama-lora           LoRA r=4 α=8 on all 7 projections, rank_pattern {down_proj: 2}, alpha_pattern {q_proj: 16}
  llama-lora-rslora    LoRA r=8 α=4 with use_rslora and a regex target_modules (q/v of layer 1 only)
  gpt2-lora            LoRA r=4 α=8 on GPT-2 Conv1D c_attn + c_fc (fan_in_fan_out), all-linear excluded lm_head
  qwen2-lora-all       LoRA r=2 α=4, target_modules "all-linear" (bf16 checkpoint, q/k/v biases, tied head)
  llama-vera           VeRA r=8, projections saved (key 0), d_initial 0.1
  llama-vera-noproj    VeRA r=8, save_projection=False, projection_prng_key 1234 (regenerated on load)
  stories260k-lora     LoRA r=4 all-linear on the real stories260K (../shared/data/models; skipped when absent)
  stories260k-vera     VeRA r=16 without projections (key 42) on stories260K

and `vera-projections.safetensors`: PEFT's own `_kaiming_init` draws for three (key, r, max_in, max_out) cases,
including a key ≥ 2^32, to check bit-identical regeneration.
"""

import argparse
import json
import shutil
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, VeraConfig, get_peft_model
from peft.tuners.vera.model import _kaiming_init
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "src/test/resources/fixtures/models"
OUT = ROOT / "src/test/resources/fixtures/adapters"
MERGED_MODULES = 3  # merged weights recorded per fixture (first adapted modules by name), to keep fixtures small


def load_base(models, name):
    return AutoModelForCausalLM.from_pretrained(models / name, dtype=torch.float32, attn_implementation="eager").eval()


def fixture_input_ids(models, model_name):
    """The tiny models' fixed [2, 12] input; for stories260K two real sentences through its own tokenizer."""
    reference = models / model_name / "reference.safetensors"
    if reference.exists():
        return load_file(str(reference))["input_ids"]
    tok = Tokenizer.from_file(str(models / model_name / "tokenizer.json"))
    rows = [tok.encode(t).ids[:12] for t in ("Once upon a time, there was a little girl named Lily.",
                                             "The big dog ran to the park and saw a red ball.")]
    return torch.tensor(rows, dtype=torch.int64)


def randomise_adapter(model, seed, scale):
    """Non-zero values for every adapter tensor (PEFT's init leaves B or b at zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name or "vera_lambda" in name:
                p.copy_(scale * torch.randn(p.shape, generator=g))



def make(models, name, model_name, config, seed, scale, merged_modules=MERGED_MODULES):
    out = OUT / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    base = load_base(models, model_name)
    peft_model = get_peft_model(base, config)
    randomise_adapter(peft_model, seed, scale)
    peft_model.save_pretrained(out)
    (out / "README.md").unlink(missing_ok=True)
    config_path = out / "adapter_config.json"  # PEFT records the local path; keep the fixture machine-independent
    saved = json.loads(config_path.read_text())
    saved["base_model_name_or_path"] = model_name
    config_path.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")

    input_ids = fixture_input_ids(models, model_name)
    # logits as a user gets them: a fresh base model plus the saved directory
    reloaded = PeftModel.from_pretrained(load_base(models, model_name), out).eval()
    with torch.no_grad():
        logits = reloaded(input_ids=input_ids).logits.float().contiguous()
        base_logits = load_base(models, model_name)(input_ids=input_ids).logits.float()
    adapted = sorted({n.rsplit(".", 1)[0] for n, _ in reloaded.named_modules()
                      if n.endswith(".base_layer")})
    merged_model = reloaded.merge_and_unload()
    state = merged_model.state_dict()
    tensors = {"input_ids": input_ids.contiguous(), "logits": logits}
    for wrapped in adapted[:merged_modules]:
        module = wrapped.removeprefix("base_model.model.")
        tensors["merged." + module + ".weight"] = state[module + ".weight"].float().contiguous()
    save_file(tensors, str(out / "expected.safetensors"),
              metadata={"format": "pt", "made_by": "tools/reference/make_adapter_fixtures.py",
                        "base_model": model_name})
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{name}: {len(adapted)} adapted modules, max |logits - base| = "
          f"{(logits - base_logits).abs().max().item():.4f}, {size} bytes")


def make_projection_cases():
    cases = [(0, 8, 96, 96), (1234, 16, 40, 24), (2**32 + 7, 4, 33, 17)]
    tensors = {}
    for key, r, max_in, max_out in cases:
        g = torch.Generator(device="cpu").manual_seed(key)
        a = _kaiming_init((r, max_in), generator=g)
        b = _kaiming_init((max_out, r), generator=g)
        tensors[f"{key}.vera_A"] = a.contiguous()
        tensors[f"{key}.vera_B"] = b.contiguous()
    save_file(tensors, str(OUT / "vera-projections.safetensors"),
              metadata={"format": "pt", "made_by": "tools/reference/make_adapter_fixtures.py",
                        "cases": json.dumps([list(c) for c in cases])})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=str(MODELS), help="directory holding tiny-llama, tiny-gpt2, tiny-qwen2")
    parser.add_argument("--stories", default=str(ROOT / "../shared/data/models"),
                        help="directory holding stories260K (skipped when absent)")
    args = parser.parse_args()
    models = Path(args.models)
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    proj = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    make(models, "llama-lora", "tiny-llama",
         LoraConfig(r=4, lora_alpha=8, target_modules=proj, rank_pattern={"down_proj": 2},
                    alpha_pattern={"q_proj": 16}, task_type="CAUSAL_LM"), seed=21, scale=0.2)
    make(models, "llama-lora-rslora", "tiny-llama",
         LoraConfig(r=8, lora_alpha=4, use_rslora=True, target_modules=r"model\.layers\.1\.self_attn\.(q|v)_proj",
                    task_type="CAUSAL_LM"), seed=22, scale=0.2)
    make(models, "gpt2-lora", "tiny-gpt2",
         LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_fc"], fan_in_fan_out=True,
                    task_type="CAUSAL_LM"), seed=23, scale=0.2)
    make(models, "qwen2-lora-all", "tiny-qwen2",
         LoraConfig(r=2, lora_alpha=4, target_modules="all-linear", task_type="CAUSAL_LM"), seed=24, scale=0.2)
    make(models, "llama-vera", "tiny-llama",
         VeraConfig(r=8, target_modules=proj, task_type="CAUSAL_LM"), seed=25, scale=0.5)
    make(models, "llama-vera-noproj", "tiny-llama",
         VeraConfig(r=8, target_modules=["q_proj", "v_proj", "down_proj"], save_projection=False,
                    projection_prng_key=1234, task_type="CAUSAL_LM"), seed=26, scale=0.5)
    make_projection_cases()
    stories = Path(args.stories)
    if (stories / "stories260K" / "config.json").exists():  # the real pretrained model, when ../shared/data is there
        make(stories, "stories260k-lora", "stories260K",
             LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"), seed=27, scale=0.05,
             merged_modules=0)
        make(stories, "stories260k-vera", "stories260K",
             VeraConfig(r=16, target_modules=["q_proj", "v_proj", "up_proj"], save_projection=False,
                        projection_prng_key=42, task_type="CAUSAL_LM"), seed=28, scale=0.3,
             merged_modules=0)


if __name__ == "__main__":
    main()
