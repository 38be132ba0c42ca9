"""Builds the tokenizer fixtures under src/test/resources/fixtures/tokenizers/ and their expected outputs.

Three small tokenizers trained here with Hugging Face `tokenizers`, each in one real-world style:
  bytelevel-chatml   byte-level BPE like GPT-2/Qwen2, no BOS, Qwen2-Instruct ChatML chat template
  bytelevel-llama3   byte-level BPE whose post-processor adds <|begin_of_text|>, Meta-Llama-3-Instruct template
                     (it renders bos_token itself: encoding a chat must not double the BOS)
  bytefallback-llama2  SentencePiece-style BPE with byte fallback (Llama 2 / stories260K layout), Llama-2-chat
                     template (raise_exception on bad role order, bos_token rendered by the template)
and a fourth directory that only differs in the config: `named-templates` (a list of named chat templates).
A fifth, `vocab-specials-llama2`, is bytefallback-llama2 with an empty `added_tokens` list, the way some converted
Llama checkpoints ship: `<s>`, `</s>` and `<unk>` are only in the vocabulary, and tokenizer_config.json also names a
mask token and an additional special token that are in neither. transformers adds every special token of the config
to the tokenizer on load (a vocabulary entry keeps its id, `<s>` stays 1; a token found nowhere gets the next free
id), so they match as whole tokens in text and are dropped by skip_special_tokens; expected.json also records the id
of every special token (`special_token_ids`).
transformers 5 ignores add_bos_token/add_eos_token in tokenizer_config.json when tokenizer.json exists: the
post-processor alone decides whether BOS is added, and peftd follows it. It also ignores
clean_up_tokenization_spaces for BPE tokenizers (bytelevel-llama3 sets it, as Llama 3 does), and so does peftd.

expected.json holds what transformers 5 computes: ids with and without special tokens, decoded text, and
apply_chat_template output (string and ids). Run: [PEFTD_SHARED=/work/shared] /work/refvenv/bin/python tools/reference/make_tokenizer_fixtures.py
"""
import json
import os
import shutil
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src/test/resources/fixtures/tokenizers"
# the shared data folder beside the checkout; PEFTD_SHARED names it when the checkout is elsewhere (a worktree)
CORPUS = Path(os.environ.get("PEFTD_SHARED", ROOT.parent / "shared")) / "data/text/tinyshakespeare.txt"

QWEN2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)
TOOL_TEMPLATE = "{% for message in messages %}[{{ message['role'] | upper }}] {{ message['content'] }}\n{% endfor %}"

TEXTS = [
    "Hello world",
    "First Citizen:\nBefore we proceed any further, hear me speak.",
    "  two  leading spaces and\ttab",
    "café naïve déjà vu",
    "日本語のテキスト",
    "emoji 🙂👍🏽 and more",
    "special <|im_end|> inside text",
    "Yes , it 's here . Isn't it ? Don 't !",
    "",
]
CHATS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [
        {"role": "system", "content": "You answer in one word."},
        {"role": "user", "content": "  Best fruit?  "},
        {"role": "assistant", "content": "Mango."},
        {"role": "user", "content": "Why, café? 🙂"},
    ],
]


def corpus(limit=200_000):
    return [CORPUS.read_text(encoding="utf-8")[:limit], " ".join(TEXTS)]


def byte_level(specials, vocab_size=600):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def byte_fallback(vocab_size=400):
    """SentencePiece-style BPE (▁ for spaces) with <0xNN> byte tokens, laid out like Llama 2's tokenizer.json."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"],
                                  show_progress=False)
    tok.train_from_iterator(corpus(50_000), trainer)
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    for b in range(256):  # byte tokens, as SentencePiece puts them into the vocabulary
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    spec["pre_tokenizer"] = None
    spec["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
        {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B:1",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def write_dir(name, tok, config):
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    tok.save(str(d / "tokenizer.json"))
    (d / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return d


def expected(d, chats=CHATS, template_name=None, texts=TEXTS):
    hf = AutoTokenizer.from_pretrained(str(d))
    cases = []
    for text in texts:
        with_special = hf.encode(text, add_special_tokens=True)
        cases.append({
            "text": text,
            "ids": with_special,
            "ids_no_special": hf.encode(text, add_special_tokens=False),
            "decoded": hf.decode(with_special, skip_special_tokens=False),
            "decoded_skip_special": hf.decode(with_special, skip_special_tokens=True),
        })
    rendered = []
    for messages in chats:
        for gen in (True, False):
            kwargs = {"chat_template": template_name} if template_name else {}
            text = hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen, **kwargs)
            ids = hf.apply_chat_template(messages, tokenize=True, add_generation_prompt=gen, return_dict=False,
                                         **kwargs)
            rendered.append({"messages": messages, "add_generation_prompt": gen, "text": text, "ids": list(ids)})
    out = {"bos_token_id": hf.bos_token_id, "eos_token_id": hf.eos_token_id, "cases": cases, "chats": rendered}
    if template_name is None and d.name.startswith("vocab-specials"):
        out["special_token_ids"] = {t: hf.convert_tokens_to_ids(t) for t in hf.all_special_tokens}
    (d / "expected.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(d.name, "bos", hf.bos_token_id, "eos", hf.eos_token_id, "first ids", cases[0]["ids"])


def main():
    chatml = byte_level(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    d = write_dir("bytelevel-chatml", chatml, {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>", "chat_template": QWEN2_TEMPLATE})
    expected(d)

    llama3 = byte_level(["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                         "<|eot_id|>", "<|im_end|>"])
    bos_id = llama3.token_to_id("<|begin_of_text|>")
    llama3.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos_id)])])
    d = write_dir("bytelevel-llama3", llama3, {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
        "clean_up_tokenization_spaces": True, "chat_template": LLAMA3_TEMPLATE})
    expected(d)

    llama2 = byte_fallback()
    d = write_dir("bytefallback-llama2", llama2, {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "chat_template": LLAMA2_TEMPLATE})
    expected(d)

    # the same tokenizer with its special tokens only in the vocabulary (no added_tokens)
    spec = json.loads(llama2.to_str())
    spec["added_tokens"] = []
    d = write_dir("vocab-specials-llama2", Tokenizer.from_str(json.dumps(spec)), {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": False, "rstrip": False, "normalized": False, "single_word": False},
        "unk_token": "<unk>", "pad_token": "</s>", "mask_token": "<mask>", "additional_special_tokens": ["<|tool|>"],
        "chat_template": LLAMA2_TEMPLATE})
    expected(d, texts=TEXTS + ["special <s> and </s> inside text", "<unk> a <mask> b <|tool|> c</s>", "<s>"])

    d = write_dir("named-templates", chatml, {
        "tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|im_end|>",
        "chat_template": [{"name": "default", "template": QWEN2_TEMPLATE}, {"name": "tool_use", "template": TOOL_TEMPLATE}]})
    expected(d, template_name="tool_use")


if __name__ == "__main__":
    main()
