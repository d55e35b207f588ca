"""Train a tiny LLaDA-architecture masked-diffusion model on long-context retrieval tasks.

    nice -n 10 python3 tools/train/train.py --name llada-tiny-retrieval --stage induct --steps 3700

Steps (all deterministic given --seed and --steps, at one thread count):
 1. filler sentences + byte-level BPE tokenizer (tasks.py), saved in the checkpoint;
 2. held-out eval sets, 50 per task per length (256/512/1024/2048) -> models/NAME-eval/*.jsonl;
 3. training with LLaDA's SFT masked-diffusion loss (answer-only masking, t ~ U(0,1),
    p_mask = (1-eps) t + eps, CE on masked answer tokens / p_mask, normalized by answer
    length), a length curriculum keyed on the fraction of the budget (--steps, or
    --minutes of wall time), AdamW,
    warmup + cosine LR; checkpoints every few minutes to --work;
 4. export of the final checkpoint (HF dir + GGUF) and the accuracy table (eval.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import tasks  # noqa: E402
from model import LLaDA, count_params  # noqa: E402
import eval as ev  # noqa: E402
import export  # noqa: E402
from induction_init import plant_induction  # noqa: E402

EVAL_LENGTHS = [256, 512, 1024, 2048]


def curriculum(frac: float, rng: random.Random) -> int:
    """Prompt length for a batch, given the fraction of the budget already used."""
    if frac < 0.2:
        return rng.randint(64, 160)
    if frac < 0.3:
        return rng.randint(96, 384)
    if frac < 0.5:
        return rng.choice([rng.randint(128, 512), rng.randint(256, 1024)])
    return rng.choice([rng.randint(128, 512), rng.randint(512, 1024), rng.randint(1024, 2048),
                       rng.randint(1536, 2048)])


def curriculum_match(frac: float, rng: random.Random) -> int:
    """Stage 2 (key matching): short prompts first, where the key -> value lookup is
    learnt quickly, then the full range of lengths."""
    if frac < 0.25:
        return rng.randint(48, 192)
    if frac < 0.45:
        return rng.choice([rng.randint(64, 256), rng.randint(128, 640)])
    return rng.choice([rng.randint(64, 384), rng.randint(256, 1024), rng.randint(768, 2048),
                       rng.randint(1536, 2048)])


def curriculum_mix(frac: float, rng: random.Random) -> int:
    """Stage "mix" (fine-tuning the trained model): every length from the start."""
    return rng.choice([rng.randint(64, 256), rng.randint(128, 512), rng.randint(512, 1024),
                       rng.randint(1024, 2048)])


STAGES = {
    # stage name: (curriculum, task weights niah/kv/two/kv2/multi)
    "base": (curriculum, (1, 1, 1, 0, 0)),
    "match": (curriculum_match, (1, 2, 1, 3, 3)),
    "bind": (curriculum_match, (1, 2, 1, 3, 3)),
    # from scratch, answer prefixes, induction circuit planted at initialisation
    "induct": (curriculum, (1, 1, 1, 0, 0)),
    # fine-tuning of "induct" (--init): every other batch bare prompts whose answer restates
    # the question (tasks.TaskGen restate), answered in BARE_ANS_LEN positions
    "mix": (curriculum_mix, (1, 1, 1, 0, 0)),
}
BARE_ANS_LEN = 16  # "The secret codes: Ann is 123, Bob is 456" + <|eot_id|> = 14 tokens
# stage "bind": answers after an answer prefix that restates the key (tasks.TaskGen.prefixed),
# except for this fraction of samples (bare answers, as stage 1); every SHIFT_EVERY-th
# batch is the offset-3 read-out task (make_shift_batch); the multi-query batches mask only
# the codes of their answers (make_batch codes_only)
BIND_PLAIN_FRAC = 0.2
SHIFT_EVERY = 4
SHIFT = 3  # "<key>: <code>", "<key> is <code>": the code is three tokens after its key
SHIFT_READOUT_BLOCKS = 1  # the offset read-out is scored after the first block
ALL_TASKS = tasks.TASKS + tasks.TRAIN_ONLY_TASKS
DENSE_ANS_LEN = 32  # up to 10 codes joined by " and ", then <|eot_id|>


def pad_batch(seqs: list[list[int]], pad: int):
    """-> (ids (B,T) padded with pad, key mask (B,T): True on real tokens)."""
    B, T = len(seqs), max(len(s) for s in seqs)
    ids = torch.full((B, T), pad, dtype=torch.long)
    km = torch.zeros((B, T), dtype=torch.bool)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        km[i, :len(s)] = True
    return ids, km


def mask_answers(rng: random.Random, tgt: torch.Tensor, mask_id: int, eps: float, maskable=None):
    """LLaDA forward process on the answer positions: t ~ U(0,1) per sequence (stratified
    over the batch: same expectation, lower variance), p_mask = (1-eps) t + eps; only
    where maskable (B,A) is True when given. -> (masked answer ids, masked (B,A), p_mask (B,A))."""
    B, A = tgt.shape
    g = torch.Generator().manual_seed(rng.getrandbits(31))
    t = ((torch.randperm(B, generator=g) + torch.rand(B, generator=g)) / B).clamp(0, 1)
    p_mask = ((1 - eps) * t + eps)[:, None].expand(B, A)
    masked = torch.rand(B, A, generator=g) < p_mask
    if maskable is not None:
        masked &= maskable
    return torch.where(masked, torch.full_like(tgt, mask_id), tgt), masked, p_mask


def make_shift_batch(gen: tasks.TaskGen, rng: random.Random, L: int, B: int, eps: float = 1e-3):
    """Offset copy task: blocks [a, r, r', a] of random regular tokens; the last token of a
    block (masked like an answer) equals the token SHIFT positions before it. Scored on the
    residual after the first SHIFT_READOUT_BLOCKS blocks (through the final norm and LM
    head), so the copy happens in the first layer: there it puts the key into the answer
    position ("<key> is [MASK]") where later layers can match it with the key in the
    text. Scored at the output instead, the model learns it in its last layer, which no
    later layer can use; without the task, training stays at chance on recall
    (models/MODEL.md)."""
    nb = max(1, L // (SHIFT + 1))
    x = torch.randint(0, gen.bos, (B, nb, SHIFT + 1), generator=torch.Generator().manual_seed(rng.getrandbits(31)))
    x[:, :, SHIFT] = x[:, :, 0]
    ids = x.reshape(B, -1)
    pos = torch.arange(SHIFT, ids.shape[1], SHIFT + 1)[None].expand(B, -1).contiguous()
    tgt = torch.gather(ids, 1, pos)
    cur, masked, p_mask = mask_answers(rng, tgt, gen.mask, eps)
    ids.scatter_(1, pos, cur)
    return ids, None, pos, tgt, masked, p_mask  # no padding: no key mask


def make_batch(gen: tasks.TaskGen, rng: random.Random, L: int, B: int, ans_len: int, eps: float = 1e-3,
               weights=(1, 1, 1, 0, 0), task_list=None, plain_frac=None, codes_only=False):
    """codes_only: mask only the answer's code tokens (the keys and words of a prefixed
    multi-query answer stay visible): one key -> value lookup per code, as in kv."""
    seqs, ans_pos, answers = [], [], []
    for _ in range(B):
        if plain_frac is not None:
            gen.prefixed = rng.random() >= plain_frac
        # stage 1 keeps its original draw (rng.choice) so that it reproduces
        if task_list is not None:
            task = rng.choice(task_list)
        elif weights == (1, 1, 1, 0, 0):
            task = rng.choice(tasks.TASKS)
        else:
            task = rng.choices(ALL_TASKS, weights=weights)[0]
        ex = gen.sample(task, rng, L)
        p, a = gen.encode_example(ex, ans_len)
        seqs.append(p + a)
        ans_pos.append(list(range(len(p), len(p) + ans_len)))
        answers.append(a)
    ids, km = pad_batch(seqs, gen.eos)
    pos = torch.tensor(ans_pos)
    tgt = torch.tensor(answers)
    maskable = torch.isin(tgt, torch.tensor(gen.code_ids)) if codes_only else None
    cur, masked, p_mask = mask_answers(rng, tgt, gen.mask, eps, maskable)
    ids.scatter_(1, pos, cur)
    return ids, km, pos, tgt, masked, p_mask


def lr_at(frac: float, step: int, lr: float, warmup: int) -> float:
    w = min(1.0, (step + 1) / warmup)
    return lr * w * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="llada-tiny-retrieval")
    ap.add_argument("--work", default="/work/scratch/train")
    ap.add_argument("--models", default=str(ROOT / "models"))
    ap.add_argument("--minutes", type=float, default=75.0)
    ap.add_argument("--steps", type=int, default=0,
                    help="train this many optimizer steps, the curriculum and LR schedule keyed on steps "
                         "(deterministic on a given machine and thread count); 0 = key them on --minutes")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--n-layers", type=int, default=4)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--mlp", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--ans-len", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--batch-tokens", type=int, default=6144)
    ap.add_argument("--eval-n", type=int, default=50)
    ap.add_argument("--ckpt-every-min", type=float, default=4.0)
    ap.add_argument("--eval-every-min", type=float, default=12.0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--stage", choices=sorted(STAGES), default="base",
                    help="curriculum and task mix: base (stage 1), match (stage 2: key matching, bare answers), "
                         "bind (stage 2: answer prefixes + offset copy task), induct (the shipped model's first "
                         "stage: planted induction circuit, answer prefixes), mix (its second: fine-tuning on "
                         "prefixed and bare prompts, needs --init)")
    ap.add_argument("--init", default=None,
                    help="start from this checkpoint's weights, or an exported HF dir's (fresh optimizer and "
                         "time budget)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-plant", action="store_true",
                    help='stage "induct" without the planted induction circuit (the ablation in models/MODEL.md)')
    a = ap.parse_args()
    if a.steps < 0 or a.minutes <= 0 or a.threads < 1:
        ap.error("--steps must be >= 0, --minutes > 0 and --threads >= 1")
    if a.no_plant and a.stage != "induct":
        ap.error('--no-plant applies to --stage induct only')
    if a.stage == "mix" and not a.init:
        ap.error('--stage mix fine-tunes a trained model: it needs --init (the exported "induct" HF dir)')
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    log_f = open(work / (f"{a.name}.log" if a.stage == "base" else f"{a.name}.{a.stage}.log"), "a")

    def log(*xs):
        s = time.strftime("%H:%M:%S ") + " ".join(str(x) for x in xs)
        print(s, flush=True)
        log_f.write(s + "\n")
        log_f.flush()

    # 1. data + tokenizer
    sents = tasks.filler_sentences()
    n_regular = a.vocab - len(tasks.SPECIALS)
    tj = tasks.train_tokenizer(n_regular, sents)
    tok = tasks.load_tokenizer(tj)
    # answer style of the eval sets: prefixed for "induct" (the shipped model) and "bind", bare otherwise
    gen = tasks.TaskGen(tok, sents, prefixed=a.stage in ("bind", "induct", "mix"))
    log(f"filler sentences {len(sents)}, vocab {tok.get_vocab_size()}, codes {len(gen.codes)}, "
        f"names {len(gen.names)}, keys {len(gen.keys)}, mask {gen.mask} eos {gen.eos} eot {gen.eot} bos {gen.bos}")

    # 2. eval sets
    evdir = Path(a.models) / f"{a.name}-eval"
    evdir.mkdir(parents=True, exist_ok=True)
    sets = {}
    for task in tasks.TASKS:
        for L in EVAL_LENGTHS:
            exs = tasks.make_eval_set(gen, task, L, a.eval_n, a.seed)
            sets[f"{task}_{L}"] = exs
            with open(evdir / f"{task}_{L}.jsonl", "w") as f:
                for e in exs:
                    f.write(json.dumps(e, ensure_ascii=False) + "\n")
    log(f"eval sets written to {evdir}")
    bare_sets = {}
    if a.stage == "mix":
        # bare prompts (no answer prefix), answered with the restated question and the code
        bdir = Path(a.models) / f"{a.name}-eval-bare"
        bdir.mkdir(parents=True, exist_ok=True)
        gen.prefixed, gen.restate = False, True
        for task in tasks.TASKS:
            for L in EVAL_LENGTHS:
                exs = tasks.make_eval_set(gen, task, L, a.eval_n, a.seed + 1)
                bare_sets[f"{task}_{L}"] = exs
                with open(bdir / f"{task}_{L}.jsonl", "w") as f:
                    for e in exs:
                        f.write(json.dumps(e, ensure_ascii=False) + "\n")
        gen.prefixed, gen.restate = True, False
        log(f"bare eval sets written to {bdir}")

    # 3. model
    cfg = dict(d_model=a.d_model, n_layers=a.n_layers, n_heads=a.n_heads, n_kv_heads=a.n_heads,
               mlp_hidden_size=a.mlp, embedding_size=a.vocab, rope_theta=500000.0, rms_norm_eps=1e-5,
               max_sequence_length=4096)
    model = LLaDA(cfg)
    if a.stage == "induct" and not a.init and not a.no_plant:
        info = plant_induction(model, offset=SHIFT)
        log(f"induction circuit planted (offset {SHIFT}): {info}")
    log(f"params {count_params(model)}  cfg {cfg}")
    decay = [p for n, p in model.named_parameters() if p.ndim == 2 and "wte" not in n]
    nodecay = [p for n, p in model.named_parameters() if not (p.ndim == 2 and "wte" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-8)
    step, used_s = 0, 0.0
    rng = random.Random(f"train-{a.seed}" if a.stage == "base" else f"train-{a.seed}-{a.stage}")
    run_id = a.name if a.stage == "base" else f"{a.name}.{a.stage}"
    ckpt_path = work / f"{run_id}.pt"
    if a.init and not (a.resume and ckpt_path.exists()) and Path(a.init).is_dir():
        m0, _, c0 = ev.load_hf(a.init)
        if json.load(open(Path(a.init) / "tokenizer.json")) != tj or any(m0.cfg[k] != cfg[k] for k in m0.cfg):
            sys.exit(f"--init {a.init}: model config or tokenizer differs from this run")
        model.load_state_dict(m0.state_dict())
        log(f"initialised from the HF dir {a.init}")
    elif a.init and not (a.resume and ckpt_path.exists()):
        ck = torch.load(a.init, map_location="cpu", weights_only=False)
        if ck["cfg"] != cfg or ck["tokenizer"] != tj:
            sys.exit(f"--init {a.init}: model config or tokenizer differs from this run")
        model.load_state_dict(ck["model"])
        log(f"initialised from {a.init} (step {ck['step']}, {ck['used_s'] / 60:.1f} min)")
    if a.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, used_s = ck["step"], ck["used_s"]
        rng.setstate(ck["rng"])
        log(f"resumed at step {step}, {used_s / 60:.1f} min used")

    def save(tag=""):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "used_s": used_s,
                    "rng": rng.getstate(), "cfg": cfg, "tokenizer": tj, "args": vars(a)}, str(ckpt_path) + ".tmp")
        os.replace(str(ckpt_path) + ".tmp", ckpt_path)
        log(f"checkpoint step {step} {tag}")

    stop = {gen.eot, gen.eos}
    budget = a.minutes * 60
    t_start = time.time() - used_s
    last_ck = last_ev = time.time()
    ema = None
    while True:
        used_s = time.time() - t_start
        frac = step / a.steps if a.steps > 0 else used_s / budget
        if frac >= 1.0:
            break
        curr, weights = STAGES[a.stage]
        L = curr(frac, rng)
        plain = BIND_PLAIN_FRAC if a.stage == "bind" else None
        shift_batch = a.stage == "bind" and step % SHIFT_EVERY == SHIFT_EVERY - 1
        if shift_batch:
            L = min(L, 512)
            B = max(1, a.batch_tokens // L)
            ids, km, pos, tgt, masked, p_mask = make_shift_batch(gen, rng, L, B)
        elif a.stage == "mix" and step % 2 == 1:
            # bare prompt, the answer restates the question
            gen.prefixed, gen.restate = False, True
            B = max(1, a.batch_tokens // (L + BARE_ANS_LEN))
            ids, km, pos, tgt, masked, p_mask = make_batch(gen, rng, L, B, BARE_ANS_LEN, weights=weights)
            gen.prefixed, gen.restate = True, False
        elif a.stage in ("match", "bind") and step % 2 == 0:
            # every other batch: many queries per prompt, answered in DENSE_ANS_LEN positions
            L = min(L, 1024)
            B = max(1, a.batch_tokens // (L + DENSE_ANS_LEN))
            ids, km, pos, tgt, masked, p_mask = make_batch(gen, rng, L, B, DENSE_ANS_LEN, task_list=tasks.DENSE_TASKS,
                                                           plain_frac=plain, codes_only=a.stage == "bind")
        else:
            B = max(1, a.batch_tokens // (L + a.ans_len))
            ids, km, pos, tgt, masked, p_mask = make_batch(gen, rng, L, B, a.ans_len, weights=weights,
                                                           plain_frac=plain)
        lr = lr_at(frac, step, a.lr, a.warmup)
        for g_ in opt.param_groups:
            g_["lr"] = lr
        model.train()
        logits = model(ids, pos, km, n_blocks=SHIFT_READOUT_BLOCKS if shift_batch else None)
        ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="none")
        n_ans = tgt.shape[1]
        ce = ce.view(B, n_ans)
        loss = ((ce / p_mask) * masked).sum() / (B * n_ans)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        # accuracy of the first answer token when masked (diagnostic)
        with torch.no_grad():
            m0 = masked[:, 0]
            acc0 = ((logits[:, 0].argmax(-1) == tgt[:, 0]) & m0).sum().item() / max(1, m0.sum().item())
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        step += 1
        if step % 25 == 0:
            log(f"step {step} frac {frac:.3f} L {L} B {B} lr {lr:.2e} loss {loss.item():.4f} ema {ema:.4f} "
                f"acc0 {acc0:.2f} gn {gn:.2f}")
        now = time.time()
        if now - last_ck > a.ckpt_every_min * 60:
            save()
            last_ck = now
        if now - last_ev > a.eval_every_min * 60:
            model.eval()
            t0 = time.time()
            quick = {k: v for k, v in sets.items() if k.endswith("_256") or k.endswith("_1024")}
            r = ev.evaluate(model, tok, quick, a.ans_len, gen.mask, stop, n=12, batch_tokens=8192)
            log("quick eval " + " ".join(f"{k}={ok}/{n}" for k, (ok, n) in r.items()) + f" ({time.time() - t0:.0f}s)")
            if bare_sets:
                quick = {k: v for k, v in bare_sets.items() if k.endswith("_256") or k.endswith("_1024")}
                r = ev.evaluate(model, tok, quick, BARE_ANS_LEN, gen.mask, stop, n=12, batch_tokens=8192)
                log("quick eval bare " + " ".join(f"{k}={ok}/{n}" for k, (ok, n) in r.items()))
            last_ev = time.time()
            t_start += time.time() - t0  # eval time does not count against the training budget
    used_s = time.time() - t_start
    save("final")
    log(f"training done: {step} steps, {used_s / 60:.1f} min of training")

    # 4. export + full eval
    out = Path(a.models) / a.name
    export.write_hf_dir(out, model.state_dict(), cfg, tj)
    ok = export.write_gguf(out, Path(a.models) / f"{a.name}.gguf", "f32")
    log(f"exported {out} gguf={ok}")


if __name__ == "__main__":
    main()
