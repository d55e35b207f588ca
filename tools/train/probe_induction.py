"""Token-level sanity probes of the training model (tools/train/model.py), no tokenizer.

  --task repeat  n random tokens, then the same n again; the masked tokens of the
                 second half are at a fixed offset from their copy (position only).
  --task pairs   n/2 (key, value) pairs of random tokens, then the same pairs
                 shuffled; the masked values of the second half are predictable only
                 by finding their key in the first half (induction / associative
                 recall, the binding the shipped model lacks; see models/MODEL.md).

  --gap g        pairs only: g fixed filler tokens between a key and its value
                 (the text tasks have g = 2: "<key>: <code>", "<key> is <code>").
  --aux-copy f   a fraction f of the batches is the offset copy task instead: blocks
                 [a, r1..rg, a] of random tokens whose last token is masked, so that it
                 equals the token g+1 positions before it (what train.py's stage "bind"
                 mixes in; without it, pairs stays at chance).
  --aux-plain    the copy task also scores every unmasked position j on the token
                 g+1 before it (x[j-g-1]; unmasked positions are never scored
                 otherwise), so the offset head also forms for plain-token queries
                 such as the listed values, not only for [MASK] queries.

Loss: cross-entropy on masked second-half tokens (values only for `pairs`), each
masked with a per-sequence ratio t ~ U(0,1). Prints the accuracy on the masked
tokens of the training batch every 100 steps (pairs batches only when --aux-copy
is set). One core; not run by CI.

    python3 tools/train/probe_induction.py --task pairs --d-model 64 --minutes 25
    python3 tools/train/probe_induction.py --task pairs --n-layers 2 --n 4 --aux-copy 0.5 --minutes 4
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import LLaDA  # noqa: E402

MASK = 4095


FILL = [50, 51, 52, 53]  # filler tokens between a key and its value (--gap)


def make_batch(rng: random.Random, task: str, B: int, n: int, gap: int = 0):
    """-> (ids (B,T), candidate (B,T) bool: positions that may be masked and are scored)."""
    seqs = []
    for _ in range(B):
        if task == "repeat":
            r = [rng.randrange(100, 1000) for _ in range(n)]
            seqs.append(r + r)
        elif task == "copy":
            blocks = [[rng.randrange(100, 1200) for _ in range(gap + 1)] for _ in range(n // (gap + 2))]
            seqs.append([t for b in blocks for t in b + b[:1]])
        else:
            keys = rng.sample(range(1000, 1200), n // 2)
            vals = [rng.randrange(100, 1000) for _ in keys]
            order = list(range(n // 2))
            rng.shuffle(order)
            first = [t for k, v in zip(keys, vals) for t in (k, *FILL[:gap], v)]
            seqs.append(first + [t for i in order for t in (keys[i], *FILL[:gap], vals[i])])
    x = torch.tensor(seqs)
    T = x.shape[1]
    candidate = torch.zeros_like(x, dtype=torch.bool)
    if task == "repeat":
        candidate[:, T // 2:] = True
    elif task == "copy":
        candidate[:, gap + 1::gap + 2] = True
    else:
        candidate[:, T // 2 + gap + 1::gap + 2] = True  # values of the second half
    return x, candidate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["repeat", "pairs"], default="pairs")
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--n-layers", type=int, default=4)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--rope-theta", type=float, default=1e4)
    ap.add_argument("--no-copy-init", action="store_true")
    ap.add_argument("--n", type=int, default=24, help="tokens per half")
    ap.add_argument("--gap", type=int, default=0, help="pairs: filler tokens between key and value (0..4)")
    ap.add_argument("--aux-copy", type=float, default=0.0, help="fraction of batches on the offset copy task")
    ap.add_argument("--aux-plain", action="store_true", help="copy task: score unmasked positions on x[j-g-1] too")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.n < 4 or a.n % 2 or a.n // 2 > 200 or a.batch < 1:
        ap.error(f"--n {a.n} / --batch {a.batch}: need an even --n in 4..400 and --batch >= 1")
    if not 0 <= a.gap <= len(FILL) or not 0.0 <= a.aux_copy < 1.0:
        ap.error(f"--gap {a.gap} / --aux-copy {a.aux_copy}: need --gap in 0..{len(FILL)} and --aux-copy in [0, 1)")
    if a.aux_plain and a.aux_copy == 0.0:
        ap.error("--aux-plain scores the copy task: it needs --aux-copy > 0")
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    cfg = dict(d_model=a.d_model, n_layers=a.n_layers, n_heads=a.n_heads, n_kv_heads=a.n_heads,
               mlp_hidden_size=4 * a.d_model, embedding_size=4096, rope_theta=a.rope_theta, rms_norm_eps=1e-5,
               max_sequence_length=4096, copy_init=not a.no_copy_init)
    model = LLaDA(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)
    rng = random.Random(a.seed)
    t0, step, accs = time.time(), 0, []
    while time.time() - t0 < a.minutes * 60:
        aux = a.task == "pairs" and rng.random() < a.aux_copy
        x, candidate = make_batch(rng, "copy" if aux else a.task, a.batch, a.n * (a.gap + 2) // 2 if aux else a.n, a.gap)
        B, T = x.shape
        masked = (torch.rand(x.shape) < torch.rand(B, 1)) & candidate
        logits = model(torch.where(masked, torch.full_like(x, MASK), x))
        loss = F.cross_entropy(logits[masked], x[masked])
        if aux and a.aux_plain:
            back = a.gap + 1
            plain = ~masked[:, back:]
            loss = loss + F.cross_entropy(logits[:, back:][plain], x[:, :-back][plain])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if not aux:
            accs.append((logits[masked].argmax(-1) == x[masked]).float().mean().item())
        if step % 100 == 0 and accs:
            print(f"{a.task} step {step} {time.time() - t0:.0f}s loss {loss.item():.3f} acc {sum(accs) / len(accs):.2f}",
                  flush=True)
            accs = []


if __name__ == "__main__":
    main()
