#!/usr/bin/env python3
"""`maskkv tokenize` / `maskkv detokenize` against HF `tokenizers` on every
tokenizer.json under tests/models/*/ (the tiny LLaDA/Dream models) and
tests/data/tokenizer/*/, and every tests/models/*.gguf against the
tokenizer.json of the HF directory it was made from. Exit 77 when the
`tokenizers` package is missing."""
import glob
import os
import subprocess
import sys
import tempfile

try:
    from tokenizers import Tokenizer
except ImportError:
    print("tokenizers is not installed (pip install tokenizers)")
    sys.exit(77)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MASKKV = os.environ.get("MASKKV", os.path.join(ROOT, "build", "maskkv"))
if not os.path.isabs(MASKKV):
    MASKKV = os.path.join(ROOT, MASKKV)

TEXTS = [
    "", "Hello world!", "What is the secret code of Alice? The secret code of Alice is 4417.",
    "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    "<|im_start|>assistant\n",
    "<|mdm_mask|><|mdm_mask|> <|mask|> <|endoftext|>", "I've been 'told he's there, 'RE you sure? We'Ve a'lL",
    "  leading and trailing  ", "tabs\tand\nnewlines\r\n\r\n\n\n", " " * 17 + "x", "3 33 333 3333 33333 3.14159 -42 1,000,000",
    "\u6211\u60f3\u5728apple\u5de5\u4f5c1314151\u5929\uff5e", "\u043d\u0435\u0449\u043e \u043d\u0430 \u0411\u044a\u043b\u0433\u0430\u0440\u0441\u043a\u0438",
    "caf\u00e9 cafe\u0301 \u212b A\u030a", "\U0001F680 \U0001F636\u200d\U0001F32B\ufe0f \U0001F468\u200d\U0001F469\u200d\U0001F467",
    "def f(x):\n    return x * 2\n", "\u1780\u17b6\u1793\u17cb\u178f\u17c2\u1796\u17b7\u179f\u17c1\u179f",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", "x\u180ey\u00a0z\u3000w\u0085v",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "<|im_start", "<<|endoftext|>>", "\u0000\u0001\u001f\u007f",
]


def run(args, data=None):
    r = subprocess.run([MASKKV] + args, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"maskkv {' '.join(args)}: exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def ids_of(out):
    line = out.decode().strip()
    return [int(x) for x in line.split()] if line else []


def check(model_path, hf, label, tmp):
    failures = 0
    for i, text in enumerate(TEXTS):
        path = os.path.join(tmp, f"t{i}.txt")
        with open(path, "wb") as f:
            f.write(text.encode("utf-8"))
        for special in (True, False):
            hf.encode_special_tokens = not special
            want = hf.encode(text, add_special_tokens=False).ids
            got = ids_of(run(["tokenize", "-m", model_path, "-f", path] + ([] if special else ["--no-special"])))
            if got != want:
                failures += 1
                print(f"FAIL {label}: {text!r} (special={special})\n  want {want}\n  got  {got}")
        hf.encode_special_tokens = False
        ids = hf.encode(text, add_special_tokens=False).ids
        if ids:
            want = hf.decode(ids, skip_special_tokens=False)
            got = run(["detokenize", "-m", model_path, "--ids", " ".join(map(str, ids))]).decode("utf-8")
            if got != want + "\n":
                failures += 1
                print(f"FAIL {label}: decode of {text!r}\n  want {want!r}\n  got  {got[:-1]!r}")
    return failures


def main():
    if not os.path.exists(MASKKV):
        print(f"{MASKKV} is not built")
        return 1
    jsons = sorted(glob.glob(os.path.join(ROOT, "tests", "models", "*", "tokenizer.json")) +
                   glob.glob(os.path.join(ROOT, "tests", "data", "tokenizer", "*", "tokenizer.json")))
    ggufs = []
    for g in sorted(glob.glob(os.path.join(ROOT, "tests", "models", "*.gguf"))):
        stem = os.path.basename(g)[:-5]
        base = stem.rsplit("-", 1)[0]  # llada-tiny-q8_0 -> llada-tiny
        hf_json = os.path.join(ROOT, "tests", "models", base, "tokenizer.json")
        if os.path.exists(hf_json):
            ggufs.append((g, hf_json))
    failures = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in jsons:
            failures += check(path, Tokenizer.from_file(path), os.path.relpath(path, ROOT), tmp)
            checked += 1
        for g, hf_json in ggufs:
            failures += check(g, Tokenizer.from_file(hf_json), os.path.relpath(g, ROOT), tmp)
            checked += 1
    print(f"{checked} tokenizers ({len(ggufs)} GGUF), {len(TEXTS)} texts each: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
