"""Run `maskkv generate` on held-out prompts, per cache method, and print the misses;
optionally with the key removed from the question (the answer prefix still names it),
which shows whether a method's hits come from the question's tokens (EVAL.md).

    python3 tools/train/answer_check.py models/llada-tiny-retrieval --task two --length 512 \\
        --methods dllm,maskkv:64,snapkv:64
    python3 tools/train/answer_check.py models/llada-tiny-retrieval --task kv --length 1024 \\
        --methods dllm,snapkv:16,maskkv:16 --drop-question-key

Reads MODEL_DIR (tokenizer.json), MODEL_DIR.gguf and MODEL_DIR-eval/<task>_<length>.jsonl;
needs build/maskkv. A method is a --cache mode, with :B for the budget of an eviction method.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import tasks  # noqa: E402


def without_question_key(ex: dict) -> str:
    """The prompt content with "What is the value of <key>?" reduced to "What is the value?"."""
    key = ex["prefix"].split("The value of ", 1)[1].split(" is ", 1)[0]
    question = f"What is the value of {key}?"
    if question not in ex["content"]:
        sys.exit(f"answer_check.py: error: no question '{question}' in a {ex['task']} prompt")
    return ex["content"].replace(question, "What is the value?")


def generate(maskkv: str, gguf: str, ids: list[int], method: str) -> str:
    cache, _, budget = method.partition(":")
    cmd = [maskkv, "generate", "-m", gguf, "--ids", " ".join(map(str, ids)), "--gen-len", "8", "--steps", "8",
           "--block-len", "8", "--threads", "1", "--cache", cache] + (["--budget", budget] if budget else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"answer_check.py: error: {r.stderr.strip()}")
    return r.stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--task", default="kv", choices=tasks.TASKS)
    ap.add_argument("--length", type=int, default=1024)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--methods", default="dllm,maskkv:16,snapkv:16")
    ap.add_argument("--drop-question-key", action="store_true", help="kv only: remove the key from the question")
    ap.add_argument("--maskkv", default=str(ROOT / "build" / "maskkv"))
    a = ap.parse_args()
    if a.drop_question_key and a.task != "kv":
        ap.error("--drop-question-key needs --task kv")
    if a.n < 1:
        ap.error("--n must be at least 1")
    d = a.model_dir.rstrip("/")
    path = f"{d}-eval/{a.task}_{a.length}.jsonl"
    for f in (path, f"{d}.gguf", os.path.join(d, "tokenizer.json"), a.maskkv):
        if not os.path.exists(f):
            ap.error(f"{f} does not exist")
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    exs = [json.loads(line) for line in open(path)][:a.n]
    methods = a.methods.split(",")
    correct = dict.fromkeys(methods, 0)
    for i, ex in enumerate(exs):
        if a.drop_question_key:
            ids = tok.encode(tasks.chat_prompt(without_question_key(ex), ex["prefix"]), add_special_tokens=False).ids
        else:
            ids = ex["prompt_ids"]
        outs = [generate(a.maskkv, f"{d}.gguf", ids, m) for m in methods]
        for m, o in zip(methods, outs):
            correct[m] += o == ex["answer"]
        if any(o != ex["answer"] for o in outs):
            print(f"{i}: want {ex['answer']!r}; " + "; ".join(f"{m} {o!r}" for m, o in zip(methods, outs)))
    print(" ".join(f"{m} {k}/{len(exs)}" for m, k in correct.items()))


if __name__ == "__main__":
    main()
