#!/usr/bin/env python3
"""Text that maskkv prints is HF's decode string, valid UTF-8, in valid JSON.

1. `maskkv detokenize` on ids whose bytes form cut or invalid UTF-8 sequences
   (byte tokens of a multibyte character cut short, lone continuation bytes,
   0xFF, NUL) prints exactly HF `Tokenizer.decode` (U+FFFD where HF puts it).
2. `maskkv generate --json` on tiny models whose LM head is made to emit such
   byte tokens, NUL and ids beyond the tokenizer (the model vocabulary is larger
   than the tokenizer's, as LLaDA-8B's 126464 vs 126349): the output parses with
   the strict json module, "text" equals HF decode of the generated ids (ids
   without a token decode to nothing), "unknown_ids" counts them, and the GGUF
   converted from the same folder prints the same text and ids.
Needs tokenizers and numpy."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from tokenizers import Tokenizer
except ImportError as e:
    print(f"needs tokenizers and numpy ({e})")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASKKV = os.environ.get("MASKKV", os.path.join(ROOT, "build", "maskkv"))
fails = []
n_detok = n_gen = 0


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_CHAR = bytes_to_unicode()


def byte_id(tok, b):
    i = tok.token_to_id(BYTE_CHAR[b])
    assert i is not None, f"no token for byte {b:#x}"
    return i


def run(args):
    return subprocess.run([MASKKV] + args, capture_output=True)


# ---------------------------------------------------------------- 1. detokenize
CUT_CASES = [[0xE2], [0xE2, 0x82], [0xE2, 0x82, 0xAC], [0x82], [0x82, 0xAC], [0xF0, 0x9F, 0x98], [0xF0, 0x9F, 0x98, 0x80],
             [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x61, 0xE2, 0x62], [0xE2, 0x82, 0x61, 0xAC], [0x00, 0x41],
             [0xF4, 0x90, 0x80, 0x80], [0xE2, 0xE2, 0x82, 0xAC, 0x82]]
for name in ("gpt2", "qwen2", "llama3", "llada"):
    path = os.path.join(ROOT, "tests", "data", "tokenizer", name, "tokenizer.json")
    hf = Tokenizer.from_file(path)
    for case in CUT_CASES:
        ids = [byte_id(hf, b) for b in case]
        # also the same bytes after a merged word, and around a special token
        for seq in (ids, hf.encode("Hello world", add_special_tokens=False).ids + ids):
            want = hf.decode(seq, skip_special_tokens=False)
            r = run(["detokenize", "-m", path, "--ids", " ".join(map(str, seq))])
            n_detok += 1
            try:
                got = r.stdout.decode("utf-8")  # strict: must be valid UTF-8
            except UnicodeDecodeError:
                fails.append(f"detokenize {name} {case}: not valid UTF-8: {r.stdout!r}")
                continue
            if r.returncode != 0 or got != want + "\n":
                fails.append(f"detokenize {name} {seq}: {got!r} (rc {r.returncode}), HF {want!r}")


# ---------------------------------------------------------------- 2. generate
def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return header, bytearray(raw[8 + n:]), n


def write_safetensors(path, header, data):
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + bytes(data))


def force_head(model_dir, head_name, favoured, seed):
    """LM head rows: zero except `favoured`, which get large random directions, so
    that every position picks one of them (which one depends on the position)."""
    files = [f for f in os.listdir(model_dir) if f.endswith(".safetensors")]
    for fname in files:
        path = os.path.join(model_dir, fname)
        header, data, _ = read_safetensors(path)
        if head_name not in header:
            continue
        info = header[head_name]
        assert info["dtype"] == "F32"
        lo, hi = info["data_offsets"]
        rows, cols = info["shape"]
        head = np.zeros((rows, cols), dtype=np.float32)
        rng = np.random.default_rng(seed)
        for i in favoured:
            v = rng.standard_normal(cols).astype(np.float32)
            head[i] = 40.0 * v / np.linalg.norm(v)
        data[lo:hi] = head.tobytes()
        write_safetensors(path, header, data)
        return
    raise SystemExit(f"{head_name} not found in {model_dir}")


def generate(model, extra):
    r = run(["generate", "-m", model, "-p", "Hello there", "--temp", "0", "--json"] + extra)
    if r.returncode != 0:
        fails.append(f"generate {model}: rc {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
        return None
    try:
        return json.loads(r.stdout.decode("utf-8"))  # strict UTF-8 and strict JSON
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        fails.append(f"generate {model}: output is not valid JSON/UTF-8 ({e}): {r.stdout[:200]!r}")
        return None


with tempfile.TemporaryDirectory() as tmp:
    for model, head, gen in (("llada-tiny", "model.transformer.ff_out.weight", ["--gen-len", "32", "--block-len", "8",
                                                                                  "--steps", "8"]),
                             ("dream-tiny", "lm_head.weight", ["--gen-len", "32", "--steps", "8"])):
        src = os.path.join(ROOT, "tests", "models", model)
        hf = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
        n_vocab = json.load(open(os.path.join(src, "config.json")))["vocab_size"]
        n_tok = hf.get_vocab_size(with_added_tokens=True)
        if not n_vocab > n_tok:
            fails.append(f"{model}: config vocab_size {n_vocab} is not larger than the tokenizer ({n_tok})")
            continue
        beyond = [n_vocab - 1, n_tok + 2]
        cut = [byte_id(hf, b) for b in (0xE2, 0x82, 0xF0, 0xFF, 0x00)]
        dst = os.path.join(tmp, model)
        shutil.copytree(src, dst)
        force_head(dst, head, beyond + cut + [hf.token_to_id("a")], seed=7)
        gguf = os.path.join(tmp, model + ".gguf")
        r = run(["convert", "-i", dst, "-o", gguf, "--type", "f32"])
        if r.returncode != 0:
            fails.append(f"convert {model}: {r.stderr.decode(errors='replace').strip()}")
            continue
        results = {}
        for label, path in (("hf", dst), ("gguf", gguf)):
            d = generate(path, gen)
            if d is None:
                continue
            results[label] = d
            n_gen += 1
            ids = d["tokens"]
            unknown = sum(1 for i in ids if hf.id_to_token(i) is None)
            if unknown == 0 or not any(i in cut for i in ids):
                fails.append(f"{model} {label}: the forced head did not emit both unknown and byte ids: {ids}")
            if d["unknown_ids"] != unknown:
                fails.append(f"{model} {label}: unknown_ids {d['unknown_ids']}, want {unknown} for {ids}")
            want = hf.decode([i for i in ids if i < n_tok], skip_special_tokens=False)
            if d["text"] != want:
                fails.append(f"{model} {label}: text {d['text']!r}, HF decode {want!r}")
            # the plain-text output is the same text, valid UTF-8
            r = run(["generate", "-m", path, "-p", "Hello there", "--temp", "0"] + gen)
            try:
                plain = r.stdout.decode("utf-8")
                if plain != want + "\n":
                    fails.append(f"{model} {label}: plain output {plain!r}, want {want!r}")
            except UnicodeDecodeError:
                fails.append(f"{model} {label}: plain output is not valid UTF-8: {r.stdout!r}")
        if len(results) == 2:
            for key in ("tokens", "text", "unknown_ids"):
                if results["hf"][key] != results["gguf"][key]:
                    fails.append(f"{model}: {key} differs between the HF folder and its GGUF")

for f in fails:
    print("FAIL", f)
print(f"{n_detok} detokenize cases, {n_gen} generations checked, {len(fails)} failures")
sys.exit(1 if fails or n_detok == 0 or n_gen == 0 else 0)
