#!/usr/bin/env python3
"""HF folders without tokenizer.json: maskkv's vocab.json + merges.txt +
added_tokens.json + tokenizer_config.json loader against transformers'
Qwen2Tokenizer built from the same files, on the tokenizer parity corpus
(tests/data/tokenizer/corpus.bin, its valid UTF-8 strings):

- the trained Qwen2-style tokenizer of tests/data/tokenizer/qwen2, rewritten as
  the slow-tokenizer files by tools/make_slowtok_folder.py (all strings);
- tests/models/dream-tiny-slowtok (the committed test folder, a subset), whose
  ids must also equal those of dream-tiny's tokenizer.json;
- decode of the ids (HF decode), and `maskkv convert` of dream-tiny-slowtok
  writes the same tokenizer.ggml.* vocabulary as the convert of dream-tiny.
With transformers 4.x (the pure-Python slow tokenizer) the only accepted
difference is on strings where Python's unicodedata NFC (a newer Unicode) and HF
tokenizers' NFC (Unicode 9 data, which maskkv follows for every tokenizer)
normalize differently; with transformers 5 (Qwen2Tokenizer = a `tokenizers` BPE
built from the same files) every string must agree.
Needs transformers (and its tokenizers); gguf for the last check."""
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

try:
    import transformers
    from transformers import Qwen2Tokenizer
except ImportError as e:
    print(f"needs transformers ({e})")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASKKV = os.environ.get("MASKKV", os.path.join(ROOT, "build", "maskkv"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from make_slowtok_folder import write_slow_tokenizer  # noqa: E402

QWEN2_CONFIG = {"add_prefix_space": False, "bos_token": None, "clean_up_tokenization_spaces": False,
                "eos_token": "<|endoftext|>", "errors": "replace", "model_max_length": 1000000000,
                "pad_token": "<|endoftext|>", "split_special_tokens": False, "unk_token": None}


def read_corpus(path):
    data = open(path, "rb").read()
    assert data[:8] == b"MKVTC001"
    pos = 8

    def varint():
        nonlocal pos
        n = shift = 0
        while True:
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    out = []
    for _ in range(varint()):
        flags = varint()
        n = varint()
        raw = data[pos:pos + n]
        pos += n
        if not flags & 1:
            out.append(raw.decode("utf-8"))
    return out


def maskkv_ids(model, text, tmp, k):
    path = os.path.join(tmp, f"text{k}.txt")
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))
    r = subprocess.run([MASKKV, "tokenize", "-m", model, "-f", path], capture_output=True)
    if r.returncode != 0:
        return f"error {r.returncode}: {r.stderr.decode(errors='replace').strip()}"
    return [int(x) for x in r.stdout.split()]


def maskkv_text(model, ids):
    r = subprocess.run([MASKKV, "detokenize", "-m", model, "--ids", " ".join(map(str, ids))], capture_output=True)
    return r.stdout.decode("utf-8")[:-1] if r.returncode == 0 else f"error {r.returncode}"


def nfc_versions_differ(text):
    """Whether Python's NFC (unicodedata, the slow tokenizer's) and HF tokenizers' NFC
    (Unicode 9 tables, what maskkv follows) disagree on the text."""
    import unicodedata
    from tokenizers import normalizers
    return unicodedata.normalize("NFC", text) != normalizers.NFC().normalize_str(text)


def main() -> int:
    corpus = read_corpus(os.path.join(ROOT, "tests", "data", "tokenizer", "corpus.bin"))
    fails = []
    compared = nfc_skipped = 0
    # transformers 5's Qwen2Tokenizer builds an HF `tokenizers` BPE from vocab.json/merges.txt;
    # 4.x's is the pure-Python one, whose NFC is Python's unicodedata
    pure_python = "tokenizers" not in " ".join(c.__module__ for c in Qwen2Tokenizer.__mro__)
    with tempfile.TemporaryDirectory() as tmp:
        qwen_dir = os.path.join(tmp, "qwen2-slow")
        write_slow_tokenizer(os.path.join(ROOT, "tests", "data", "tokenizer", "qwen2", "tokenizer.json"), qwen_dir,
                             QWEN2_CONFIG, "Qwen2Tokenizer")
        dream_dir = os.path.join(ROOT, "tests", "models", "dream-tiny-slowtok")
        fast_dream = os.path.join(ROOT, "tests", "models", "dream-tiny")
        for model, texts in ((qwen_dir, corpus), (dream_dir, corpus[::8])):
            hf = Qwen2Tokenizer.from_pretrained(model)
            with ThreadPoolExecutor(max_workers=2) as pool:
                ours = list(pool.map(lambda kt: maskkv_ids(model, kt[1], tmp, kt[0]), enumerate(texts)))
                fast = list(pool.map(lambda kt: maskkv_ids(fast_dream, kt[1], tmp, 100000 + kt[0]), enumerate(texts))) \
                    if model == dream_dir else None
            for k, text in enumerate(texts):
                want = hf.encode(text, add_special_tokens=False)
                compared += 1
                if ours[k] != want and pure_python and nfc_versions_differ(text):
                    nfc_skipped += 1  # transformers < 5: Python's NFC, newer Unicode than HF's (see the docstring)
                    continue
                if ours[k] != want:
                    fails.append(f"{os.path.basename(model)}: {text[:60]!r}: maskkv {str(ours[k])[:120]}, "
                                 f"transformers {want[:30]}")
                elif fast is not None and fast[k] != want:
                    fails.append(f"dream-tiny tokenizer.json differs from its slow files on {text[:60]!r}")
            for text in texts[::40]:  # decode: HF's decode string
                ids = hf.encode(text, add_special_tokens=False)
                if not ids:
                    continue
                want = hf.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
                got = maskkv_text(model, ids)
                compared += 1
                if got != want:
                    fails.append(f"{os.path.basename(model)}: decode {ids[:20]}: {got[:60]!r}, transformers {want[:60]!r}")
        try:
            from gguf import GGUFReader
        except ImportError:
            GGUFReader = None
        if GGUFReader:
            paths = []
            for name in ("dream-tiny", "dream-tiny-slowtok"):
                out = os.path.join(tmp, name + ".gguf")
                r = subprocess.run([MASKKV, "convert", "-i", os.path.join(ROOT, "tests", "models", name), "-o", out,
                                    "--type", "f32"], capture_output=True, text=True)
                if r.returncode != 0:
                    fails.append(f"convert {name}: {r.stderr.strip()}")
                paths.append(out)
            if not fails or all(os.path.exists(p) for p in paths):
                a, b = (GGUFReader(p) for p in paths)
                for key in ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                            "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.eos_token_id",
                            "tokenizer.ggml.mask_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.chat_template"):
                    compared += 1
                    if key not in b.fields or a.fields[key].contents() != b.fields[key].contents():
                        fails.append(f"convert of dream-tiny-slowtok: {key} differs from dream-tiny's")
    for f in fails[:30]:
        print("FAIL", f)
    print(f"transformers {transformers.__version__}: {compared} comparisons, {len(fails)} differences"
          + (f", {nfc_skipped} strings where Python's NFC differs from HF's" if nfc_skipped else ""))
    return 1 if fails or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
