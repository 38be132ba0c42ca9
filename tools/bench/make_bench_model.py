"""Writes a random-weight Llama checkpoint for `bench generate` (not committed; no real model this size is reachable
here). Default shape: hidden 768, 12 layers, 12 heads / 4 KV heads, MLP 2048, vocab 32000, untied head: 125M
parameters, float32 safetensors (~540 MB).

  /work/refvenv/bin/python tools/bench/make_bench_model.py [--out /tmp/peftd-bench/llama-125m]

--shape smollm2-135m gives SmolLM2-135M's shape instead (hidden 576, 30 layers, 9 / 3 heads, MLP 1536, vocab 49152,
tied: 135M parameters); --dtype bfloat16 / float16 saves the checkpoint in that type (the same random weights, rounded),
as real checkpoints ship:

  /work/refvenv/bin/python tools/bench/make_bench_model.py --shape smollm2-135m --dtype bfloat16 --out /tmp/smol-bf16
"""
import argparse

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/peftd-bench/llama-125m")
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--kv-heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=2048)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--tie", action="store_true", help="tie the output head to the embedding")
    p.add_argument("--shape", choices=["smollm2-135m"], help="a preset that overrides the shape options")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    a = p.parse_args()
    if a.shape == "smollm2-135m":
        a.hidden, a.layers, a.heads, a.kv_heads, a.intermediate, a.vocab, a.tie = 576, 30, 9, 3, 1536, 49152, True
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
                         num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
                         max_position_embeddings=2048, tie_word_embeddings=a.tie, bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(config).to(getattr(torch, a.dtype))
    model.save_pretrained(a.out, safe_serialization=True)
    print(a.out, sum(p.numel() for p in model.parameters()) / 1e6, "M parameters")


if __name__ == "__main__":
    main()
