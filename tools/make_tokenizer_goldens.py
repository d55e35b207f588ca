#!/usr/bin/env python3
"""Tokenizer parity goldens for maskkv's byte-level BPE (tests/unit/test_tokenizer_parity.c).

Trains, deterministically, four small byte-level BPE tokenizers with the PyPI
`tokenizers` package (the HF reference implementation), writes them to
tests/data/tokenizer/<style>/tokenizer.json, builds one shared corpus of varied
strings and writes, per style, the ids HF produces for every string:

  gpt2   ByteLevel pre-tokenizer with its built-in GPT-2 regex, specials inside
         the model vocab (trained), lstrip/rstrip/single_word/normalized added
         tokens, merges written in the legacy "a b" string form
  qwen2  NFC normalizer + Split(Qwen2 regex, Isolated) + ByteLevel(use_regex=false),
         ChatML specials appended after the vocab, a normalized non-special token
  llama3 Split(LLaMA-3 regex) + ByteLevel, ignore_merges, TemplateProcessing BOS
  llada  Split(the Ling/BailingMoE regex with possessive quantifiers that
         llama.cpp calls "bailingmoe") + ByteLevel, LLaDA's special tokens

Files (all integers are unsigned LEB128 varints, strings are varint length + bytes):
  corpus.bin          "MKVTC001" n { flags(bit0 = invalid UTF-8) text }
  <style>/golden.bin  "MKVTG001"
                      n  { ids of encode(text, add_special_tokens=False) }  (invalid UTF-8:
                                                   ids of the text decoded with errors="replace")
                      n  { 0 | 1 text }           decode(those ids): 0 = equals the input text
                      m  { index ids }            same encode with encode_special_tokens=True
                      m  { index ids }            encode(text, add_special_tokens=True)
                      m  { ids text }             decode of random id sequences
  where "ids" is a count followed by the ids.

Run from the repository root: python3 tools/make_tokenizer_goldens.py
The output depends only on the seeds below and the `tokenizers` version.

Fuzzing: `--out DIR --seed N --count N` writes a bigger corpus elsewhere, e.g.
  python3 tools/make_tokenizer_goldens.py --out /tmp/fz/data/tokenizer --seed 7 --count 50000
  MKV_TESTS_DIR=/tmp/fz ./build/test_runner tokenizer_parity
"""
import argparse
import json
import os
import random
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

try:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
except ImportError:  # pragma: no cover
    print("tokenizers is not installed (pip install tokenizers)")
    sys.exit(77)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "tokenizer")

GPT2_RE = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
QWEN2_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLADA_RE = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""

WORDS = """the of and to in is was for on that with as by at from his her it an were are which this be
or has had not but have one their they been all who new first more its also after two other when
time can into only about over some would there most during may world such these people made many
them than then out used up three year where between under city known both while state each through
school part well being later life second since same because however group national before so long
including number much four name day called another following several early end did game series
what make home water history family system few against around place until like just any again high
should left does music film house still war back different along often work team area body main
quick brown fox jumps lazy dog hello goodbye tokenizer diffusion language model mask cache eviction
prophet attention layer head budget prompt answer question secret code alice bob carol""".split()

CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D",
                "\u2019s", "'x", "'", "''", "'ſ", "'\u212a"]

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|mdm_mask|>", "<|begin_of_text|>",
            "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|startoftext|>",
            "<role>", "</role>", "<mask>", "[SEP]", "<think>", "<tool>", "word", "hello world", "caf\u00e9"]

SCRIPTS = [
    (0x4E00, 0x9FFF), (0x3040, 0x309F), (0x30A0, 0x30FF), (0xAC00, 0xD7A3), (0x0400, 0x04FF),
    (0x0590, 0x05FF), (0x0600, 0x06FF), (0x0900, 0x097F), (0x0E00, 0x0E7F), (0x1780, 0x17FF),
    (0x0370, 0x03FF), (0x00C0, 0x024F), (0x1F300, 0x1F64F), (0x2000, 0x206F), (0x0300, 0x036F),
    (0xFF00, 0xFFEF), (0x1100, 0x11FF), (0x2E80, 0x2FDF), (0x20000, 0x2A6DF), (0xE000, 0xE0FF),
]

EMOJI = ["\U0001F600", "\U0001F680", "\U0001F999", "\u2705", "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466",
         "\U0001F3F3\uFE0F\u200D\U0001F308", "\U0001F44D\U0001F3FD", "\U0001F1FA\U0001F1F8", "1\uFE0F\u20E3",
         "\U0001F636\u200D\U0001F32B\uFE0F", "\u2764\uFE0F", "\U0001F9D1\u200D\U0001F4BB", "\u263A"]

COMBINING = ["e\u0301", "a\u0308\u0301", "A\u030a", "o\u0302\u0323", "o\u0323\u0302", "a\u0301\u0328",
             "\u1100\u1161\u11a8", "\u1100\u1161", "\uac00\u11a8", "n\u0303", "\u0301", "\u0301\u0301x",
             "\u0915\u093c", "\u0928\u093f", "\u05e9\u05c1", "i\u0307", "\u212b", "\u2126", "\u00c5",
             "\u1e9b\u0323", "\u0041\u030a\u0301", "\u0cc6\u0cc2\u0cd5", "\u0b47\u0b3e", "\u09c7\u09be",
             "\u0fb2\u0f80", "\u0f73", "\ufb2c", "\u2adc", "\u1026\u1036"]

WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\r", " \t ", " \n ",
              "\t\n", "\u00a0", "\u3000", "\u2003", "\u0085", "\u180e", "\u200b", "\x0b", "\x0c", "\x1c",
              "\u2028", "\u2029", " \u00a0 ", "\u202f", "\u205f", "\u1680", "\ufeff"]

CODE = [
    "def f(x):\n    return x * 2\n",
    "int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "for (int i = 0; i < n; i++) { a[i] += b[i]; }",
    "if x == None: raise ValueError('bad')",
    "SELECT * FROM t WHERE id = 3;",
    "<div class=\"x\">Hello &amp; bye</div>",
    "    # comment\n        nested = {'a': [1, 2, 3]}\n",
    "x=>x**2; y->z; a::b; c...d; e!==f; g<=h; i>>=2;",
    "$ ls -la | grep '^d' && echo \"done\" || exit 1",
    "\\begin{equation} e^{i\\pi} + 1 = 0 \\end{equation}",
    "```python\nprint('hi')\n```",
]

CHKTXT = ("\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\U0001F680 (normal) \U0001F636\u200d\U0001F32B\ufe0f "
          "(multiple emojis concatenated) \u2705 \U0001F999\U0001F999 3 33 333 3333 33333 333333 3333333 "
          "33333333 3.3 3..3 3...3 \u1780\u17b6\u1793\u17cb\u178f\u17c2\u1796\u17b7\u179f\u17c1\u179f\u17a2\u17b6\u1785"
          "\U0001F601 ?\u6211\u60f3\u5728apple\u5de5\u4f5c1314151\u5929\uff5e ------======= \u043d\u0435\u0449\u043e "
          "\u043d\u0430 \u0411\u044a\u043b\u0433\u0430\u0440\u0441\u043a\u0438 ''''''```````\"\"\"\"......!!!!!!?????? "
          "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL")

INVALID_UTF8 = [b"\xff", b"abc\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe4\xb8",
                b"\xf0\x9f\x98", b"hello \xfe world", b"\xc3", b"\x80\x80\x80", b"ok\xe2\x82", b"\xf8\x88\x80\x80\x80",
                b"<|im_start|>\xff<|im_end|>", b"caf\xe9", b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"a\xc2 b",
                b"\xed\xbf\xbf", b"\xef\xbf", b"\xf5\x80", b"\x00\xff\x00", b"   \xa0   "]


def random_word(rng):
    w = rng.choice(WORDS)
    r = rng.random()
    if r < 0.1:
        w = w.capitalize()
    elif r < 0.13:
        w = w.upper()
    return w


def prose(rng, n_words):
    out = []
    for i in range(n_words):
        w = random_word(rng)
        if rng.random() < 0.08:
            w += rng.choice(CONTRACTIONS)
        out.append(w)
        if rng.random() < 0.1:
            out[-1] += rng.choice([",", ".", ";", ":", "!", "?", "...", " -", "\""])
    return " ".join(out)


def script_text(rng, n):
    lo, hi = rng.choice(SCRIPTS)
    return "".join(chr(rng.randint(lo, hi)) for _ in range(n))


def number(rng):
    k = rng.randint(1, 30)
    s = "".join(rng.choice("0123456789") for _ in range(k))
    r = rng.random()
    if r < 0.2:
        s = s + "." + str(rng.randint(0, 9999))
    elif r < 0.3:
        s = "-" + s
    elif r < 0.4:
        s = f"{int(s):,}"
    elif r < 0.45:
        s = "\u0661\u0662\u0663" + s  # Arabic-Indic digits
    return s


def fragment(rng):
    kind = rng.randrange(12)
    if kind == 0:
        return prose(rng, rng.randint(1, 12))
    if kind == 1:
        return script_text(rng, rng.randint(1, 10))
    if kind == 2:
        return rng.choice(EMOJI) * rng.randint(1, 3)
    if kind == 3:
        return rng.choice(COMBINING)
    if kind == 4:
        return number(rng)
    if kind == 5:
        return rng.choice(CODE)
    if kind == 6:
        return rng.choice(WHITESPACE) * rng.randint(1, 4)
    if kind == 7:
        return rng.choice(CONTRACTIONS)
    if kind == 8:
        return rng.choice(SPECIALS)
    if kind == 9:
        return rng.choice(["", " ", "  "]) + rng.choice(SPECIALS) + rng.choice(["", " ", "  ", "\n"])
    if kind == 10:
        return "".join(chr(rng.choice([rng.randint(0, 0x7f), rng.randint(0x80, 0x7ff), rng.randint(0x800, 0xd7ff),
                                       rng.randint(0xe000, 0xfffd), rng.randint(0x10000, 0x10ffff)]))
                       for _ in range(rng.randint(1, 6)))
    return rng.choice(["'", "\"", "(", ")", "[", "]", "{", "}", "<", ">", "|", "<|", "|>", "<<", ">>", "!", "?", "#", "@", "_", "~"])


def build_corpus(seed=20240611, count=2400):
    rng = random.Random(seed)
    texts = ["", " ", "a", "hello world", "Hello World!", CHKTXT, "\n", "\r\n", "\t", "  \n  ", "x" * 1000,
             " " * 500, "!" * 300, "0" * 200, "\U0001F600" * 100, "ab" * 400, "\u00e9" * 300, "e\u0301" * 100,
             "\n" * 100, "\t " * 100, "<|endoftext|>" * 20, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
             "<|im_start|><|im_end|>", "<|im_start", "<|im_start|", "<<|endoftext|>>", " <|endoftext|> ",
             "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
             "<|start_header_id|>assistant<|end_header_id|>\n\n",
             "<|mdm_mask|><|mdm_mask|><|mdm_mask|>", "a <mask> b", "a  <mask>  b", "<mask>", "x[SEP]  y", "[SEP]",
             "word", "a word b", "awordb", "word_x", "_word", "word1", "1word", "wörd word", "hello world", "hello  world",
             "caf\u00e9", "cafe\u0301", "the caf\u00e9!", "<think>ok</think>", "<tool>", " <tool> ",
             # letters and digits newer than Unicode 14 (Oniguruma in HF has 16.0, PCRE2 14.0)
             "x\u1c89\u1c8ay \ua7cb\ua7cd!", "\U00010d40\U00010d41 12 \U000116d0", "\U00031350\U00031351\U0002ebf0 abc",
             "\u1c8a[SEP]", "\U00010d40[SEP]", "\U00031350[SEP] \U0002ebf0(SEP)",
             # marks HF's NFC (Unicode 9.0 data) does not reorder, and ones it does
             "\u0610\u07fd\u8b42", "a\u0d3b\u0345", "a\u1df6\u0316", "a\u0301\u0316", "x\u08d3\u0610y"]
    texts += [c + w for c in CONTRACTIONS for w in ["", " x", "s"]]
    texts += [w * k for w in WHITESPACE for k in (1, 2, 5)]
    texts += ["x" + w + "y" for w in WHITESPACE]
    texts += [w + "x" for w in WHITESPACE] + ["x" + w for w in WHITESPACE]
    texts += [c for c in COMBINING] + ["x" + c + "y" for c in COMBINING]
    texts += [e for e in EMOJI] + [" " + e + " text" for e in EMOJI]
    texts += ["".join(rng.choice("0123456789") for _ in range(k)) for k in range(1, 41)]
    texts += [" " + "".join(rng.choice("0123456789") for _ in range(k)) for k in range(1, 20)]
    texts += CODE
    texts += [s + "<|endoftext|>" + t for s in ["", " ", "\n", "x", "x "] for t in ["", " ", "\n", "y", " y"]]
    while len(texts) < count:
        n = rng.randint(1, 6)
        texts.append("".join(fragment(rng) for _ in range(n)))
    entries = [(0, t.encode("utf-8")) for t in texts]
    entries += [(1, b) for b in INVALID_UTF8]
    for _ in range(40):  # random byte soup, kept only when it is invalid UTF-8
        b = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            entries.append((1, b))
    return entries


def training_texts():
    rng = random.Random(7)
    out = []
    for _ in range(6000):
        out.append("".join(fragment(rng) for _ in range(rng.randint(1, 8))))
    out += [prose(rng, 40) for _ in range(2000)]
    out += [CHKTXT] * 5
    return out


def train(style):
    bpe_kwargs = {"ignore_merges": True} if style == "llama3" else {}
    tok = Tokenizer(models.BPE(**bpe_kwargs))
    if style == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        regex = {"qwen2": QWEN2_RE, "llama3": LLAMA3_RE, "llada": LLADA_RE}[style]
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    if style == "qwen2":
        tok.normalizer = normalizers.NFC()
    tok.decoder = decoders.ByteLevel()
    trainer_specials = ["<|endoftext|>"] if style == "gpt2" else []
    trainer = trainers.BpeTrainer(vocab_size={"gpt2": 1500, "qwen2": 2000, "llama3": 2500, "llada": 1800}[style],
                                  min_frequency=2, special_tokens=trainer_specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_texts(), trainer)
    if style == "gpt2":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True),
                                AddedToken("[SEP]", rstrip=True, special=True),
                                AddedToken("<|im_start|>", special=True, normalized=False)])
        tok.add_tokens([AddedToken("word", single_word=True, special=False),
                        AddedToken("hello world", special=False, normalized=True)])
    elif style == "qwen2":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|mdm_mask|>"]])
        tok.add_tokens([AddedToken("<think>", special=False, normalized=False),
                        AddedToken("</think>", special=False, normalized=False),
                        AddedToken("caf\u00e9", special=False, normalized=True)])
    elif style == "llama3":
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                for t in ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                                          "<|end_header_id|>", "<|eot_id|>", "<|mdm_mask|>"]])
        tok.add_tokens([AddedToken("<tool>", special=False, normalized=False)])
        bos = tok.token_to_id("<|begin_of_text|>")
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                          special_tokens=[("<|begin_of_text|>", bos)])])
    else:
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                for t in ["<|startoftext|>", "<|endoftext|>", "<|mdm_mask|>", "<|start_header_id|>",
                                          "<|end_header_id|>", "<|eot_id|>", "<role>", "</role>"]])
    return tok


def varint(n):
    assert n >= 0
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def vbytes(b):
    return varint(len(b)) + b


def vids(ids):
    return varint(len(ids)) + b"".join(varint(i) for i in ids)


def write_style(style, entries):
    d = os.path.join(OUT, style)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "tokenizer.json")
    train(style).save(path)
    if style == "gpt2":  # legacy "a b" merges, which HF still reads
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
        j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]
        with open(path, "w", encoding="utf-8") as f:
            json.dump(j, f, ensure_ascii=False, indent=1)
    tok = Tokenizer.from_file(path)  # goldens from the file exactly as written
    texts = [b.decode("utf-8", errors="replace") for _, b in entries]
    out = bytearray(b"MKVTG001")
    out += varint(len(entries))
    enc = [tok.encode(t, add_special_tokens=False).ids for t in texts]
    for ids in enc:
        out += vids(ids)
    out += varint(len(entries))
    n_decode_diff = 0
    for (flags, raw), ids in zip(entries, enc):
        dec = tok.decode(ids, skip_special_tokens=False).encode("utf-8")
        if dec == raw:
            out += varint(0)
        else:
            n_decode_diff += 1
            out += varint(1) + vbytes(dec)
    special_idx = [i for i, t in enumerate(texts) if any(s in t for s in SPECIALS)]
    tok.encode_special_tokens = True
    out += varint(len(special_idx))
    for i in special_idx:
        out += varint(i) + vids(tok.encode(texts[i], add_special_tokens=False).ids)
    tok.encode_special_tokens = False
    addspec_idx = list(range(0, len(texts), 7))
    out += varint(len(addspec_idx))
    for i in addspec_idx:
        out += varint(i) + vids(tok.encode(texts[i], add_special_tokens=True).ids)
    rng = random.Random(99 + len(style))
    n_vocab = tok.get_vocab_size(with_added_tokens=True)
    cases = []
    for k in range(300):
        ids = [rng.randrange(n_vocab) for _ in range(rng.randint(1, 8))]
        cases.append(ids)
    out += varint(len(cases))
    for ids in cases:
        out += vids(ids) + vbytes(tok.decode(ids, skip_special_tokens=False).encode("utf-8"))
    with open(os.path.join(d, "golden.bin"), "wb") as f:
        f.write(out)
    n_tokens = sum(len(e) for e in enc)
    print(f"{style}: vocab {n_vocab}, {len(entries)} strings, {n_tokens} tokens, {n_decode_diff} decode != input, "
          f"{len(special_idx)} no-special cases, golden {len(out)} bytes")


def main():
    global OUT
    import tokenizers
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT, help="output directory (default tests/data/tokenizer)")
    ap.add_argument("--seed", type=int, default=20240611, help="corpus seed")
    ap.add_argument("--count", type=int, default=2400, help="generated strings (plus the fixed ones)")
    args = ap.parse_args()
    OUT = args.out
    entries = build_corpus(args.seed, args.count)
    os.makedirs(OUT, exist_ok=True)
    out = bytearray(b"MKVTC001")
    out += varint(len(entries))
    for flags, raw in entries:
        out += varint(flags) + vbytes(raw)
    with open(os.path.join(OUT, "corpus.bin"), "wb") as f:
        f.write(out)
    print(f"tokenizers {tokenizers.__version__}: corpus {len(entries)} strings "
          f"({sum(f for f, _ in entries)} invalid UTF-8), {len(out)} bytes")
    for style in ["gpt2", "qwen2", "llama3", "llada"]:
        write_style(style, entries)


if __name__ == "__main__":
    main()
