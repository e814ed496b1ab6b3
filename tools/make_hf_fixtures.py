#!/usr/bin/env python3
"""Build the Hugging Face tokenizer fixtures r1lab's C++ tests check against.

Two byte-level BPE tokenizers are trained with the `tokenizers` library (PyPI;
0.23.3 made the committed files) on the question text of GSM8K's test split
(../shared/data/gsm8k_test.jsonl), set up like the families r1lab loads:

  qwen2   NFC normalizer; Qwen2's pre-tokenizer regex (digits one at a time),
          split isolated, then ByteLevel without its own regex; specials
          <|endoftext|> <|im_start|> <|im_end|>.
  llama3  no normalizer; Llama-3's regex (digits in runs of up to three);
          ignore_merges (a pre-token that is in the vocabulary is one token);
          specials <|begin_of_text|> <|end_of_text|> <|eot_id|>.

For each it writes tokenizer.json and cases.jsonl: one line per text with the
ids `tokenizers` gives (add_special_tokens=False: no template) and its
decoding of them. The texts: GSM8K questions, hand-written hard cases
(contractions, number runs, whitespace runs, CRLF, specials inside text,
combining marks that NFC composes, emoji with modifiers and joiners, CJK,
Arabic, control characters), and seeded random UTF-8 over all planes.

Then, for each family, a tiny random model of its shape with transformers
(5.24.0; torch 2.15.0), saved in its folder with save_pretrained, and
expected.safetensors: for three prompts (GSM8K questions cut to 16 tokens
of the family's tokenizer), ids_<k>, transformers' logits_<k> in fp32, and
greedy_<k>, the 8 tokens transformers' generate() picks greedily after the
first 8:

  qwen2   Qwen2ForCausalLM, hidden 32, 2 layers, 4 heads over 2 key-value
          heads, QKV bias, tied embeddings; fp32, one model.safetensors.
  llama3  LlamaForCausalLM, hidden 32, 2 layers, 4 heads over 1 key-value
          head, untied, Llama-3 rope scaling (factor 8 over an original
          context of 16, so every band of the scaling is used); bf16, sharded
          (model.safetensors.index.json). Its logits are those of the bf16
          weights widened to fp32 (transformers loading with float32).
Norm weights and biases are drawn at random (transformers starts them at 1
and 0, which would hide a weight applied in the wrong place).

Run:  python3 -m venv /tmp/hfvenv && /tmp/hfvenv/bin/pip install tokenizers==0.23.3 transformers==5.24.0 torch==2.15.0 safetensors &&
      /tmp/hfvenv/bin/python tools/make_hf_fixtures.py ../shared/data/gsm8k_test.jsonl tests/fixtures/hf
"""
import json, os, random, sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")

FAMILIES = {
    "qwen2": dict(regex=QWEN2_REGEX, nfc=True, ignore_merges=False,
                  specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"]),
    "llama3": dict(regex=LLAMA3_REGEX, nfc=False, ignore_merges=True,
                   specials=["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]),
}

HARD = [
    "",
    " ",
    "Hello  world\n\n  tabs\t\tend   ",
    "it's I'M we'VE they'll she'd You'Re",
    "12345678 3.14159 1,000,000 -42 007 2+2=4",
    "naïve café — “quotes” ‘single’ … ½ ² ∑",
    "e\u0301 a\u0308 n\u0303 \u212b \ufb01",  # NFC composes these (and the Angstrom sign)
    "😀 👍🏽 👩‍👩‍👧‍👦 🇫🇷 ❤️",
    "中文测试，数学题：小明有3个苹果。",
    "مرحبا بالعالم 123",
    "한국어 텍스트 и русский текст",
    "line one\r\nline two\rline three\n",
    "\x00\x01\x1f\x7f control \u200b\u200d\ufeff",
    "   leading and trailing   ",
    "\n\n\n",
    "a\u00a0b\u2003c\u3000d",
    "<think>2 + 3 = 5</think><answer>5</answer>",
    "$$\\frac{1}{2} + \\sqrt{x^2}$$ \\boxed{42}",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
]


def random_text(rng):
    ranges = [(0x20, 0x7e), (0x00, 0x1f), (0xa0, 0x24f), (0x370, 0x52f), (0x590, 0x6ff), (0x900, 0xdff),
              (0x2000, 0x2bff), (0x3000, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xe000, 0xf8ff),
              (0xfe00, 0xffef), (0x10000, 0x1ffff), (0x1f300, 0x1faff), (0x20000, 0x2fa1f), (0xe0000, 0xe01ef),
              (0xf0000, 0x10ffff)]
    out = []
    for _ in range(rng.randint(1, 40)):
        if rng.random() < 0.25:
            out.append(rng.choice([" ", "  ", "\n", "\t", "'s", "123", "\r\n"]))
            continue
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def train(name, spec, questions):
    tok = Tokenizer(models.BPE(ignore_merges=spec["ignore_merges"]))
    if spec["nfc"]:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(spec["regex"]), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, special_tokens=spec["specials"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(questions, trainer=trainer)
    return tok


def main():
    source, out = sys.argv[1], sys.argv[2]
    questions = [json.loads(line)["question"] for line in open(source, encoding="utf-8")]
    rng = random.Random(1)
    texts = questions[:12] + HARD + [random_text(rng) for _ in range(60)]
    for name, spec in FAMILIES.items():
        tok = train(name, spec, questions)
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        tok.save(os.path.join(folder, "tokenizer.json"))
        # Specials inside text are matched as tokens, as in chat templates.
        cases = texts + [f"{spec['specials'][1]}user\nWhat is 2+2?{spec['specials'][2]}",
                         f"x{spec['specials'][0]}{spec['specials'][0]}y {spec['specials'][2]} z"]
        with open(os.path.join(folder, "cases.jsonl"), "w", encoding="utf-8") as f:
            for text in cases:
                ids = tok.encode(text, add_special_tokens=False).ids
                f.write(json.dumps({"text": text, "ids": ids,
                                    "decoded": tok.decode(ids, skip_special_tokens=False)}) + "\n")
        print(f"{name}: vocab {tok.get_vocab_size()}, {len(cases)} cases -> {folder}")
        make_model(name, folder, tok, questions)


def make_model(name, folder, tok, questions):
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(1 if name == "qwen2" else 2)
    common = dict(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  max_position_embeddings=128, rms_norm_eps=1e-6, initializer_range=0.1, attn_implementation="eager")
    if name == "qwen2":
        cfg = Qwen2Config(intermediate_size=64, num_key_value_heads=2, rope_theta=10000.0, tie_word_embeddings=True,
                          use_sliding_window=False, **common)
        model = Qwen2ForCausalLM(cfg)
    else:
        cfg = LlamaConfig(intermediate_size=80, num_key_value_heads=1, head_dim=8, rope_theta=500000.0,
                          tie_word_embeddings=False, attention_bias=False,
                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 16}, **common)
        model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif pname.endswith(".bias"):
                p.copy_(0.2 * torch.randn_like(p))
    model.eval()
    if name == "qwen2":
        model.save_pretrained(folder, safe_serialization=True)
    else:
        model.to(torch.bfloat16).save_pretrained(folder, safe_serialization=True, max_shard_size="100KB")
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))
    ref = (Qwen2ForCausalLM if name == "qwen2" else LlamaForCausalLM).from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager").eval()
    expected = {}
    for k, q in enumerate(questions[20:23]):
        ids = tok.encode(q, add_special_tokens=False).ids[:16]
        with torch.no_grad():
            logits = ref(torch.tensor([ids])).logits[0].float()
        expected[f"ids_{k}"] = torch.tensor(ids, dtype=torch.int64)
        expected[f"logits_{k}"] = logits.contiguous()
        # Greedy decoding of 8 tokens after the first 8, with transformers' KV cache.
        with torch.no_grad():
            out = ref.generate(torch.tensor([ids[:8]]), do_sample=False, max_new_tokens=8, min_new_tokens=8,
                               pad_token_id=0, eos_token_id=None)
        expected[f"greedy_{k}"] = out[0, 8:].to(torch.int64).contiguous()
    save_file(expected, os.path.join(folder, "expected.safetensors"), metadata={"format": "pt"})
    print(f"{name}: model {sum(p.numel() for p in ref.parameters())} parameters, {len(expected) // 3} prompts")


if __name__ == "__main__":
    main()
