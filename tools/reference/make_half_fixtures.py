"""Creates src/test/resources/fixtures/half/: transformers' own bfloat16 / float16 logits for the tiny Llama-style
fixtures, the reference for peftd's half-precision forward (ModelDtype BFLOAT16 / FLOAT16, HalfParityTest).

    /work/refvenv/bin/python tools/reference/make_half_fixtures.py

For each of tiny-llama, tiny-qwen2 (stored as bf16), tiny-mistral, tiny-llama-bias and tiny-gpt2 and each dtype, it loads the
fixture with `from_pretrained(dir, dtype=...)` (float32 files are rounded to the dtype on load, as peftd does) and
default attention (sdpa, what a user gets), runs the fixture's own `input_ids` [2, 12] from reference.safetensors,
and writes `<name>-<dtype>.safetensors` holding `input_ids` and `logits` (the half logits widened to float32, exact).

It also writes `tiny-llama-float16/`, tiny-llama saved as a float16 checkpoint (a model directory whose tensors are
F16 on disk), with its own float16 reference logits, so that the raw F16 read path is checked against transformers.
GPT-2 in a half dtype: LayerNorm on half tensors, Conv1D's addmm (one rounding), gelu_new composed op by op, sdpa.
"""
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "src/test/resources/fixtures/models"
OUT = ROOT / "src/test/resources/fixtures/half"
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
NAMES = ["tiny-llama", "tiny-qwen2", "tiny-mistral", "tiny-llama-bias", "tiny-gpt2"]


def logits_of(model_dir, dtype, input_ids):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).eval()
    assert next(model.parameters()).dtype == dtype
    with torch.no_grad():
        logits = model(input_ids=input_ids).logits
    assert logits.dtype == dtype
    return logits.float().contiguous()


def main():
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        input_ids = load_file(str(MODELS / name / "reference.safetensors"))["input_ids"]
        for dtype_name, dtype in DTYPES.items():
            logits = logits_of(MODELS / name, dtype, input_ids)
            save_file({"input_ids": input_ids, "logits": logits}, str(OUT / f"{name}-{dtype_name}.safetensors"),
                      metadata={"format": "pt"})
            print(name, dtype_name, tuple(logits.shape))

    f16_dir = OUT / "tiny-llama-float16"
    if f16_dir.exists():
        shutil.rmtree(f16_dir)
    model = AutoModelForCausalLM.from_pretrained(MODELS / "tiny-llama", dtype=torch.float16)
    model.save_pretrained(f16_dir)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(MODELS / "tiny-llama" / f, f16_dir / f)
    input_ids = load_file(str(MODELS / "tiny-llama" / "reference.safetensors"))["input_ids"]
    assert all(t.dtype == torch.float16 for t in load_file(str(f16_dir / "model.safetensors")).values())
    save_file({"input_ids": input_ids, "logits": logits_of(f16_dir, torch.float16, input_ids)},
              str(f16_dir / "reference-float16.safetensors"), metadata={"format": "pt"})
    print(f16_dir)


if __name__ == "__main__":
    main()
