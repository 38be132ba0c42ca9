"""Loads adapter directories that peftd exported into PEFT and compares PEFT's logits with the ones peftd computed.

    ./mvnw -B -q test -Dtest=TrainedExportTest -Dpeftd.exportCheckDir=/tmp/peftd-exports
    /work/refvenv/bin/python tools/reference/check_peftd_exports.py /tmp/peftd-exports

DIR holds one PEFT directory per method (lora, lora_fa, lora_plus, delta_lora, vera; each with peftd.json naming its
base model) and peftd_logits.safetensors (input_ids and peftd's logits per method). Prints max |Δlogits| per method and
exits non-zero when one exceeds 1e-4. Not part of the test suite (the project's tests must not need Python).
"""

import json
import sys
from pathlib import Path

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

TOLERANCE = 1e-4


def main(root):
    root = Path(root)
    ours = load_file(str(root / "peftd_logits.safetensors"))
    input_ids = ours["input_ids"]
    worst = 0.0
    for adapter_dir in sorted(p for p in root.iterdir() if (p / "adapter_config.json").exists()):
        sidecar = json.loads((adapter_dir / "peftd.json").read_text())
        base_path = sidecar["base_model"]["name_or_path"]
        base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32, attn_implementation="eager")
        model = PeftModel.from_pretrained(base, adapter_dir).eval()
        with torch.no_grad():
            logits = model(input_ids=input_ids).logits.float()
            with model.disable_adapter():
                base_logits = model(input_ids=input_ids).logits.float()
        diff = (logits - ours[adapter_dir.name]).abs().max().item()
        moved = (logits - base_logits).abs().max().item()
        peft_type = json.loads((adapter_dir / "adapter_config.json").read_text())["peft_type"]
        print(f"{adapter_dir.name:11s} as PEFT {peft_type:5s}: max |Δlogits| PEFT vs peftd = {diff:.3g} "
              f"(adapter moves logits by up to {moved:.3g})")
        worst = max(worst, diff)
    print(f"worst {worst:.3g} (tolerance {TOLERANCE})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
