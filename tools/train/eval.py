"""Exact-match evaluation with LLaDA low-confidence remasking decoding (full sequence,
no cache), as ML-GSAI/LLaDA generate.py with temperature 0, remasking
'low_confidence', gen_length = block_length = steps = answer length.

    python3 tools/train/eval.py models/NAME models/NAME-eval [--n 50] [--tasks niah,kv,two]

Reads the HF dir (config.json, model.safetensors, tokenizer.json) and the JSONL eval
sets ({task}_{length}.jsonl: fields content, answer, prompt_ids, ...).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import LLaDA  # noqa: E402


@torch.no_grad()
def generate(model, prompts: list[list[int]], gen_len: int, mask_id: int, steps: int | None = None,
             block_len: int | None = None) -> list[list[int]]:
    """Batched LLaDA generate (temperature 0, low_confidence). Sequences are right-padded;
    padding keys are excluded from attention so every row equals an unpadded run."""
    steps = steps or gen_len
    block_len = block_len or gen_len
    assert gen_len % block_len == 0
    nb = gen_len // block_len
    assert steps % nb == 0
    spb = steps // nb
    B = len(prompts)
    lens = [len(p) for p in prompts]
    T = max(lens) + gen_len
    x = torch.full((B, T), mask_id, dtype=torch.long)
    km = torch.zeros((B, T), dtype=torch.bool)
    for i, p in enumerate(prompts):
        x[i, :len(p)] = torch.tensor(p)
        km[i, :len(p) + gen_len] = True
    start = torch.tensor(lens)
    ar = torch.arange(gen_len)
    pos = start[:, None] + ar[None, :]  # (B, gen_len)
    for b in range(nb):
        blk = (ar >= b * block_len) & (ar < (b + 1) * block_len)
        cur = torch.gather(x, 1, pos)
        nmask = ((cur == mask_id) & blk[None]).sum(1)  # (B,)
        base, rem = nmask // spb, nmask % spb
        for s in range(spb):
            k = base + (s < rem).long()
            logits = model(x, pos, km if B > 1 else None).float()
            cur = torch.gather(x, 1, pos)
            x0 = logits.argmax(-1)
            p = torch.softmax(logits, -1)
            conf = torch.gather(p, -1, x0[..., None])[..., 0]
            ism = cur == mask_id
            x0 = torch.where(ism, x0, cur)
            conf = torch.where(ism & blk[None], conf, torch.full_like(conf, -float("inf")))
            for i in range(B):
                if k[i] > 0:
                    sel = torch.topk(conf[i], int(k[i])).indices
                    cur[i, sel] = x0[i, sel]
            x.scatter_(1, pos, cur)
    return torch.gather(x, 1, pos).tolist()


def answer_text(tok, ids: list[int], stop: set[int]) -> str:
    out = []
    for t in ids:
        if t in stop:
            break
        out.append(t)
    return tok.decode(out, skip_special_tokens=False).strip()


def answer_codes(text: str) -> list[str]:
    """The numbers (maximal runs of ASCII digits) of an answer, in order."""
    return re.findall(r"[0-9]+", text)


def answer_correct(text: str, ex: dict) -> bool:
    """Exact match of the decoded answer, or with "match": "codes" (the bare sets, whose
    reference answer restates the question) the same numbers in the same order as the
    reference: "545", "The secret code of Edith is 545" and "Edith: 545" all answer
    "The secret code of Edith is 545"; "545 or 123" does not. As `maskkv eval`."""
    if ex.get("match") == "codes":
        return answer_codes(text) == answer_codes(ex["answer"])
    return text == ex["answer"]


def load_hf(d: str):
    from safetensors.torch import load_file
    from tokenizers import Tokenizer
    c = json.load(open(os.path.join(d, "config.json")))
    cfg = {k: c[k] for k in ("d_model", "n_layers", "n_heads", "n_kv_heads", "mlp_hidden_size",
                             "embedding_size", "rope_theta", "rms_norm_eps")}
    m = LLaDA(cfg)
    m.load_state_dict(load_file(os.path.join(d, "model.safetensors")))
    m.eval()
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    return m, tok, c


def evaluate(model, tok, sets: dict[str, list[dict]], gen_len: int, mask_id: int, stop: set[int],
             n: int | None = None, batch_tokens: int = 16384, log=print) -> dict:
    res = {}
    for name, exs in sets.items():
        exs = exs[:n] if n else exs
        ok = 0
        i = 0
        while i < len(exs):
            L = max(len(e["prompt_ids"]) for e in exs[i:i + 1]) + gen_len
            bs = max(1, batch_tokens // L)
            chunk = exs[i:i + bs]
            outs = generate(model, [e["prompt_ids"] for e in chunk], gen_len, mask_id)
            for e, o in zip(chunk, outs):
                ok += answer_correct(answer_text(tok, o, stop), e)
            i += bs
        res[name] = (ok, len(exs))
    return res


def load_sets(d: str, tasks=None, lengths=None) -> dict[str, list[dict]]:
    sets = {}
    for f in sorted(glob.glob(os.path.join(d, "*.jsonl"))):
        name = Path(f).stem
        task, length = name.rsplit("_", 1)
        if tasks and task not in tasks:
            continue
        if lengths and int(length) not in lengths:
            continue
        sets[name] = [json.loads(l) for l in open(f)]
    return dict(sorted(sets.items(), key=lambda kv: (kv[0].rsplit("_", 1)[0], int(kv[0].rsplit("_", 1)[1]))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("eval_dir")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--tasks", default=None)
    ap.add_argument("--lengths", default=None)
    ap.add_argument("--gen-len", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write results here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m, tok, c = load_hf(a.model_dir)
    v = tok.get_vocab()
    stop = {v["<|eot_id|>"], v["<|endoftext|>"]}
    sets = load_sets(a.eval_dir, a.tasks.split(",") if a.tasks else None,
                     [int(x) for x in a.lengths.split(",")] if a.lengths else None)
    t0 = time.time()
    res = evaluate(m, tok, sets, a.gen_len, c["mask_token_id"], stop, a.n)
    for k, (ok, n) in res.items():
        print(f"{k:12s} {ok:4d}/{n:<4d} {100.0 * ok / n:6.1f}%")
    print(f"eval time {time.time() - t0:.0f}s")
    if a.json:
        json.dump({k: {"correct": ok, "n": n} for k, (ok, n) in res.items()}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
