#!/usr/bin/env python3
"""Creates src/test/resources/fixtures/half/merge/: PEFT's merge_and_unload on a half base, the reference for
peftd's merge into a half base (HalfMergeTest).

    /work/refvenv/bin/python tools/reference/make_half_merge_fixtures.py

For each case, the base is loaded with `from_pretrained(dir, dtype=...)` (a float32 checkpoint is rounded to the
dtype on load), the adapter fixture with `PeftModel.from_pretrained` (its weights stay float32:
autocast_adapter_dtype), then `merge_and_unload()`: PEFT computes ΔW in float32 and adds it into the half weight in
place (`weight.data += delta`), one rounding of W0 + ΔW. The merged weights of the adapted modules of layer 0 are
written as `<case>.safetensors`, in the half dtype, keyed `<module>.weight`.
"""
from pathlib import Path

import torch
from peft import PeftModel
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "src/test/resources/fixtures/models"
ADAPTERS = ROOT / "src/test/resources/fixtures/adapters"
OUT = ROOT / "src/test/resources/fixtures/half/merge"
CASES = {  # case -> (model, adapter, dtype)
    "tiny-llama-lora-bfloat16": ("tiny-llama", "llama-lora", torch.bfloat16),     # F32 files rounded at load
    "tiny-llama-vera-bfloat16": ("tiny-llama", "llama-vera", torch.bfloat16),
    "tiny-llama-lora-float16": ("tiny-llama", "llama-lora", torch.float16),
    "tiny-qwen2-lora-bfloat16": ("tiny-qwen2", "qwen2-lora-all", torch.bfloat16),  # BF16 files
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for case, (model, adapter, dtype) in CASES.items():
        base = AutoModelForCausalLM.from_pretrained(MODELS / model, dtype=dtype)
        peft_model = PeftModel.from_pretrained(base, ADAPTERS / adapter)
        adapted = sorted({name.split(".lora_")[0].split(".vera_lambda")[0]
                          for name, _ in peft_model.named_parameters() if ".lora_" in name or ".vera_lambda" in name})
        merged = peft_model.merge_and_unload()
        weights = dict(merged.named_parameters())
        tensors = {}
        for module in adapted:
            module = module.replace("base_model.model.", "", 1)
            if ".layers.0." in module:
                w = weights[module + ".weight"].detach().contiguous()
                assert w.dtype == dtype
                tensors[module + ".weight"] = w
        save_file(tensors, str(OUT / f"{case}.safetensors"), metadata={"format": "pt"})
        print(case, sorted(tensors))


if __name__ == "__main__":
    main()
