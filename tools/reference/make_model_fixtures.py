"""Creates the tiny model fixtures under src/test/resources/fixtures/models/ and their reference logits.

Run with the reference environment (torch, transformers 5, tokenizers, safetensors):

    /work/refvenv/bin/python tools/reference/make_model_fixtures.py [--text ../shared/data/text/tinyshakespeare.txt]

Each fixture is a complete Hugging Face model directory (config.json, safetensors weights, tokenizer.json,
tokenizer_config.json) small enough to commit, plus `reference.safetensors` holding a fixed `input_ids` [2, 12]
(int64) and the `logits` [2, 12, vocab] (float32) that transformers computes for it. The weights are random but
drawn wider than the default init (std 0.02 makes every logit nearly equal, so a wrong forward pass could still
come within 1e-4), and norms and biases are randomised too so that forgetting one shows.

The four fixtures exercise different checkpoint layouts on purpose:
  tiny-llama    LlamaForCausalLM, GQA 4/2 heads, untied head, llama3 rope scaling, transformers-5 config
                (`rope_parameters`), float32, one file
  tiny-qwen2    Qwen2ForCausalLM, q/k/v bias, tied embeddings, transformers-4 config (`rope_theta` top level),
                weights stored as bfloat16 (widened to float32 on load), one file
  tiny-mistral  MistralForCausalLM, transformers-4 config with `rope_scaling: null`, sliding_window null, untied
  tiny-gpt2     GPT2LMHeadModel, Conv1D weights, learned positions, tied, sharded safetensors with an index
  tiny-llama-bias  LlamaForCausalLM with attention_bias and mlp_bias, plain multi-head attention, tied, linear rope
                scaling under the oldest key spelling (`rope_scaling: {"type": "linear"}`), hidden 32; made last so the
                fixtures above stay byte-identical when the script is re-run

Reference logits come from `from_pretrained(saved_dir)` in float32 with eager attention: a freshly constructed
tied model is not tied in transformers 5 until it is reloaded (djl-notes.md section 1).
"""

import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM,
                          MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src/test/resources/fixtures/models"
VOCAB = 384
TRAINING_TEXT_CHARS = 12_000

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def train_tokenizer(text, specials, bos=None):
    """A byte-level BPE (GPT-2 / Llama 3 style) with `specials` as the first ids; adds `bos` in front if given."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([text], trainer=trainer)
    if bos is not None:
        bos_id = tok.token_to_id(bos)
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    return tok


def write_tokenizer(tok, out, config):
    tok.save(str(out / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 128, **config}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def randomise(model, seed):
    """Wider-than-default random weights; norm scales near 1, biases non-zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            is_norm = "norm" in name or ".ln_" in name or name.endswith("ln_f.weight")
            if is_norm and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            else:
                p.copy_(0.15 * noise)


def save(model, out, dtype=torch.float32, max_shard_size=None):
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    model.to(dtype).save_pretrained(out, **kwargs)


def reference_logits(out, input_ids):
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
    with torch.no_grad():
        logits = model(input_ids=input_ids).logits.float().contiguous()
    save_file({"input_ids": input_ids.contiguous(), "logits": logits}, str(out / "reference.safetensors"),
              metadata={"format": "pt"})
    return logits


def rewrite_config(out, edit):
    path = out / "config.json"
    cfg = json.loads(path.read_text())
    edit(cfg)
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def to_transformers4_keys(cfg):
    """What a transformers 4.x save looks like: top-level rope_theta and rope_scaling, torch_dtype."""
    params = cfg.pop("rope_parameters", None) or {}
    cfg["rope_theta"] = params.pop("rope_theta", 10000.0)
    if params.get("rope_type") == "default":
        params.pop("rope_type")
    cfg["rope_scaling"] = params or None
    if "dtype" in cfg:
        cfg["torch_dtype"] = cfg.pop("dtype")
    cfg.pop("layer_types", None)
    cfg["transformers_version"] = "4.46.0"


def fixed_input_ids(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, VOCAB, (2, 12), generator=g)


def fresh_dir(name):
    out = OUT / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out


def make_llama(text):
    out = fresh_dir("tiny-llama")
    torch.manual_seed(1)
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5,
                      bos_token_id=1, eos_token_id=2, tie_word_embeddings=False,
                      rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                       "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                       "original_max_position_embeddings": 8})
    model = LlamaForCausalLM(cfg)
    randomise(model, 11)
    save(model, out)
    cfg_json = json.loads((out / "config.json").read_text())
    assert "rope_parameters" in cfg_json and "rope_theta" not in cfg_json, "expected a transformers-5 style config"
    tok = train_tokenizer(text, ["<unk>", "<s>", "</s>"], bos="<s>")
    write_tokenizer(tok, out, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True})
    return out, fixed_input_ids(101)


def make_qwen2(text):
    out = fresh_dir("tiny-qwen2")
    torch.manual_seed(2)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    cfg = Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-6,
                      bos_token_id=0, eos_token_id=2, tie_word_embeddings=True,
                      rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})
    model = Qwen2ForCausalLM(cfg)
    randomise(model, 12)
    save(model, out, dtype=torch.bfloat16)
    rewrite_config(out, to_transformers4_keys)
    tok = train_tokenizer(text, specials)
    write_tokenizer(tok, out, {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                               "add_bos_token": False, "chat_template": CHATML_TEMPLATE})
    return out, fixed_input_ids(102)


def make_mistral(text):
    out = fresh_dir("tiny-mistral")
    torch.manual_seed(3)
    cfg = MistralConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=80, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=32, max_position_embeddings=128,
                        rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False,
                        sliding_window=None, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    model = MistralForCausalLM(cfg)
    randomise(model, 13)
    save(model, out)
    rewrite_config(out, to_transformers4_keys)
    tok = train_tokenizer(text, ["<unk>", "<s>", "</s>"], bos="<s>")
    write_tokenizer(tok, out, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True})
    return out, fixed_input_ids(103)


def make_gpt2(text):
    out = fresh_dir("tiny-gpt2")
    torch.manual_seed(4)
    cfg = GPT2Config(vocab_size=VOCAB, n_positions=64, n_embd=64, n_layer=2, n_head=4, bos_token_id=0,
                     eos_token_id=0, tie_word_embeddings=True)
    model = GPT2LMHeadModel(cfg)
    randomise(model, 14)
    save(model, out, max_shard_size="150KB")
    assert (out / "model.safetensors.index.json").exists(), "expected a sharded checkpoint"
    tok = train_tokenizer(text, ["<|endoftext|>"])
    write_tokenizer(tok, out, {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                               "unk_token": "<|endoftext|>", "add_bos_token": False})
    return out, fixed_input_ids(104)


def make_llama_bias(text):
    out = fresh_dir("tiny-llama-bias")
    torch.manual_seed(5)
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64, rms_norm_eps=1e-5,
                      bos_token_id=1, eos_token_id=2, tie_word_embeddings=True, attention_bias=True, mlp_bias=True,
                      rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0})
    model = LlamaForCausalLM(cfg)
    randomise(model, 15)
    save(model, out)

    def legacy_linear_scaling(c):
        to_transformers4_keys(c)
        c["rope_scaling"] = {"type": "linear", "factor": c["rope_scaling"]["factor"]}

    rewrite_config(out, legacy_linear_scaling)
    tok = train_tokenizer(text, ["<unk>", "<s>", "</s>"], bos="<s>")
    write_tokenizer(tok, out, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True})
    return out, fixed_input_ids(105)


def make_safetensors_fixtures():
    """Two files written by Python's safetensors for the reader and writer tests in dev.peftd.core.tensor.

    python-mixed.safetensors: every dtype the reader handles, with values whose float32 widening is exact and known
    (the Java test spells them out), including -0.0, infinities, the largest half and the smallest subnormal half.
    python-writer-reference.safetensors: only dtypes DJL can create (no BF16), so the Java writer can write the same
    tensors and the test can compare the files byte for byte.
    """
    out = ROOT / "src/test/resources/fixtures/safetensors"
    out.mkdir(parents=True, exist_ok=True)
    inf = float("inf")
    mixed = {
        "f32": (torch.arange(6, dtype=torch.float32) * 0.25 - 0.5).reshape(2, 3),
        "bf16": torch.tensor([1.5, -2.75, -0.0, inf, 3.0e38, 1.0e-30], dtype=torch.bfloat16),
        "f16": torch.tensor([1.0, -0.5, 65504.0, 2.0 ** -24, -inf], dtype=torch.float16),
        "i64": torch.tensor([-1, 2 ** 40, 7], dtype=torch.int64),
        "i32": torch.tensor([[3, -4]], dtype=torch.int32),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
    }
    save_file(mixed, str(out / "python-mixed.safetensors"), metadata={"format": "pt"})
    writer_reference = {
        "model.layers.0.weight": (torch.arange(12, dtype=torch.float32) / 8 - 0.75).reshape(3, 4),
        "half": torch.tensor([[0.5, -1.0], [2.0, 1024.0]], dtype=torch.float16),
        "ids": torch.tensor([5, -6, 7], dtype=torch.int64),
        "counts": torch.tensor([1, 2], dtype=torch.int32),
        "a_vector": torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32),
    }
    save_file(writer_reference, str(out / "python-writer-reference.safetensors"), metadata={"format": "pt"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--text", default=str(ROOT / "../shared/data/text/tinyshakespeare.txt"),
                        help="plain text the tiny tokenizers are trained on (its first 12,000 characters)")
    args = parser.parse_args()
    text = Path(args.text).read_text(encoding="utf-8")[:TRAINING_TEXT_CHARS]
    make_safetensors_fixtures()
    for make in (make_llama, make_qwen2, make_mistral, make_gpt2, make_llama_bias):
        out, input_ids = make(text)
        logits = reference_logits(out, input_ids)
        size = sum(f.stat().st_size for f in out.iterdir())
        print(f"{out.name}: logits {tuple(logits.shape)} std {logits.std():.3f}, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
