"""Short probe: does a model learn to bind a key to its value on short prompts?

The shipped model copies codes but does not bind them to keys (models/MODEL.md).
This probe trains on short key-value lists only (the dense `kvmany` task), where
binding is the only thing left to learn, and prints every 100 steps:

  acc  exact token accuracy on the code positions of 40 held-out `kvmany`
       prompts of 96 tokens (3-5 pairs, 2-5 keys asked; all answer positions
       masked, one forward pass);
  kv   first-answer-token accuracy on 60 held-out `kv` prompts of 96 tokens
       (2-4 pairs; chance is about 0.35 for a model that copies a listed code).

    python3 tools/train/probe_binding.py --init /work/scratch/train/stage1.pt --minutes 15
    python3 tools/train/probe_binding.py --d-model 64 --rope-theta 1e4 --lr 1e-3 --pretrain-frac 0.5

--pretrain-frac F: fraction of batches trained with LLaDA's *pre-training*
objective (every token of prompt and answer masked with probability t, loss on
all masked tokens / t) instead of the answer-only SFT objective.
Not run by CI; one core; results are written up in models/MODEL.md.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import tasks  # noqa: E402
import train  # noqa: E402
from model import LLaDA, count_params  # noqa: E402

DENSE = 32  # answer positions of a kvmany batch


def code_accuracy(model, gen, code_ids, task, length, n, ans_len):
    model.eval()
    rng = random.Random(f"probe-{task}-{length}")
    ok = total = 0
    for _ in range(n):
        p, ans = gen.encode_example(gen.sample(task, rng, length), ans_len)
        ids = torch.tensor([p + [gen.mask] * ans_len])
        pos = torch.tensor([list(range(len(p), len(p) + ans_len))])
        with torch.no_grad():
            pred = model(ids, pos)[0].argmax(-1).tolist()
        for j, t in enumerate(ans):
            if t in code_ids:
                ok += pred[j] == t
                total += 1
                if task == "kv":
                    break
    model.train()
    return ok / max(1, total)


def loss_sft(model, gen, rng, L, B):
    ids, km, pos, tgt, masked, p_mask = train.make_batch(gen, rng, L, B, DENSE, task_list=["kvmany"])
    logits = model(ids, pos, km)
    ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="none")
    return ((ce.view(B, DENSE) / p_mask) * masked).sum() / (B * DENSE)


def loss_pretrain(model, gen, rng, L, B, eps=1e-3):
    ids, km, pos, tgt, _, _ = train.make_batch(gen, rng, L, B, DENSE, task_list=["kvmany"])
    return pretrain_objective(model, ids.scatter(1, pos, tgt), km, gen.mask, rng, eps)


def pretrain_objective(model, full, km, mask_id, rng, eps=1e-3):
    """LLaDA's pre-training loss: every real token masked with probability t (one t per
    sequence, stratified over the batch), cross-entropy on masked tokens / t."""
    B = full.shape[0]
    g = torch.Generator().manual_seed(rng.getrandbits(31))
    t = ((torch.randperm(B, generator=g) + torch.rand(B, generator=g)) / B).clamp(0, 1)
    p_mask = ((1 - eps) * t + eps)[:, None].expand_as(full)
    masked = (torch.rand(full.shape, generator=g) < p_mask) & km
    logits = model(torch.where(masked, torch.full_like(full, mask_id), full), None, km)
    ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), full.reshape(-1), reduction="none")
    return ((ce.view(full.shape) / p_mask) * masked).sum() / km.sum()


def repeat_example(gen, rng, n_pairs):
    """A key-value list, then a shuffled repeat of some of its lines: in the repeat every
    code is predictable only by finding the same key in the first list (induction)."""
    keys = rng.sample(gen.keys, n_pairs)
    vals = [rng.choice(gen.codes) for _ in keys]
    again = rng.sample(range(n_pairs), rng.randint(1, n_pairs))
    first = "".join(f"- {k}: {v}\n" for k, v in zip(keys, vals))
    second = "".join(f"- {keys[i]}: {vals[i]}\n" for i in again)
    a = gen.tok.encode(first, add_special_tokens=False).ids
    b = gen.tok.encode("Again:\n" + second, add_special_tokens=False).ids
    return a + b, len(a)


def loss_repeat(model, gen, rng, L, B, eps=1e-3):
    """LLaDA pre-training objective on `repeat` sequences (about L tokens each)."""
    seqs = [repeat_example(gen, rng, max(2, L // 12))[0] for _ in range(B)]
    full, km = train.pad_batch(seqs, gen.eos)
    return pretrain_objective(model, full, km, gen.mask, rng, eps)


def repeat_accuracy(model, gen, code_ids, n_pairs, n):
    """Every code of the repeat masked at once; accuracy of those codes."""
    model.eval()
    rng = random.Random(f"probe-repeat-{n_pairs}")
    ok = total = 0
    for _ in range(n):
        s, cut = repeat_example(gen, rng, n_pairs)
        where = [j for j in range(cut, len(s)) if s[j] in code_ids]
        ids = torch.tensor([s])
        ids[0, where] = gen.mask
        with torch.no_grad():
            pred = model(ids, torch.tensor([where]))[0].argmax(-1).tolist()
        ok += sum(p == s[j] for p, j in zip(pred, where))
        total += len(where)
    model.train()
    return ok / max(1, total)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", default=None, help="start from this train.py checkpoint (else a fresh model)")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--n-layers", type=int, default=4)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--rope-theta", type=float, default=5e5)
    ap.add_argument("--no-copy-init", action="store_true")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-len", type=int, default=64)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--pretrain-frac", type=float, default=0.0)
    ap.add_argument("--task", choices=["kvmany", "repeat"], default="kvmany",
                    help="repeat: pre-training objective on a list and its shuffled repeat")
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if not 1 <= a.min_len <= a.max_len:
        ap.error(f"--min-len {a.min_len} / --max-len {a.max_len}: need 1 <= min <= max")
    if not 0.0 <= a.pretrain_frac <= 1.0:
        ap.error(f"--pretrain-frac {a.pretrain_frac}: need a fraction in [0, 1]")
    if a.init and not Path(a.init).is_file():
        ap.error(f"--init {a.init}: no such checkpoint")
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    sents = tasks.filler_sentences()
    if a.init:
        ck = torch.load(a.init, map_location="cpu", weights_only=False)
        cfg, tj = ck["cfg"], ck["tokenizer"]
        model = LLaDA(cfg)
        model.load_state_dict(ck["model"])
    else:
        tj = tasks.train_tokenizer(4096 - len(tasks.SPECIALS), sents)
        cfg = dict(d_model=a.d_model, n_layers=a.n_layers, n_heads=a.n_heads, n_kv_heads=a.n_heads,
                   mlp_hidden_size=4 * a.d_model, embedding_size=4096, rope_theta=a.rope_theta,
                   rms_norm_eps=1e-5, max_sequence_length=4096, copy_init=not a.no_copy_init)
        model = LLaDA(cfg)
    tok = tasks.load_tokenizer(tj)
    gen = tasks.TaskGen(tok, sents)
    code_ids = {tok.token_to_id(c) for c in gen.codes}
    print(f"params {count_params(model)} cfg {cfg}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), weight_decay=0.0)
    rng = random.Random(f"probe-train-{a.seed}")
    t0, step = time.time(), 0
    while time.time() - t0 < a.minutes * 60:
        L = rng.randint(a.min_len, a.max_len)
        B = max(1, a.batch_tokens // (L + DENSE))
        for g in opt.param_groups:
            g["lr"] = a.lr * min(1.0, (step + 1) / 100)
        pretrain = rng.random() < a.pretrain_frac
        if a.task == "repeat":
            loss = loss_repeat(model, gen, rng, L, max(1, a.batch_tokens // L))
        else:
            loss = (loss_pretrain if pretrain else loss_sft)(model, gen, rng, L, B)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 100 == 0:
            rep = repeat_accuracy(model, gen, code_ids, 6, 30)
            acc = code_accuracy(model, gen, code_ids, "kvmany", 96, 40, DENSE)
            kv = code_accuracy(model, gen, code_ids, "kv", 96, 60, 8)
            print(f"step {step} {time.time() - t0:.0f}s loss {loss.item():.3f} repeat {rep:.2f} acc {acc:.2f} kv {kv:.2f} "
                  f"gn {gn:.2f}", flush=True)


if __name__ == "__main__":
    main()
