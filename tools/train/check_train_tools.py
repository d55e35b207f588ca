#!/usr/bin/env python3
"""The training tools refuse bad input with a one-line error (tools/train/): train.py's
budget and stage options, plant_induction's model shapes, answer_check.py's options; and
a planted circuit is what induction_init.py says it is (the positional head's softmax
mass on its offset, the reserved slot empty in every embedding); eval.py scores the bare
sets on their codes. Needs PyTorch (the
recipe's dependency, not CI's): without it this check reports SKIP."""
import os
import subprocess
import sys

try:
    import torch
except ImportError:
    print("torch is not installed")
    sys.exit(77)

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
train_dir = os.path.join(root, "tools", "train")
sys.path.insert(0, train_dir)
from model import LLaDA  # noqa: E402
from induction_init import plant_induction  # noqa: E402
import eval as ev  # noqa: E402

fails = []


def expect_error(args, needle):
    r = subprocess.run([sys.executable] + args, capture_output=True, text=True, cwd=root)
    last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    if r.returncode != 2 or needle not in last:
        fails.append(f"{' '.join(args)}: exit {r.returncode}, last stderr line {last!r}, want exit 2 with {needle!r}")


train = os.path.join(train_dir, "train.py")
check = os.path.join(train_dir, "answer_check.py")
expect_error([train, "--steps", "-1"], "--steps must be >= 0")
expect_error([train, "--minutes", "0"], "--minutes > 0")
expect_error([train, "--no-plant"], "--no-plant applies to --stage induct only")
expect_error([train, "--stage", "mix"], "--stage mix fine-tunes a trained model: it needs --init")
expect_error([check, "models/llada-tiny-retrieval", "--task", "two", "--drop-question-key"], "needs --task kv")
expect_error([check, "models/no-such-model"], "does not exist")

cfg = dict(d_model=128, n_layers=4, n_heads=4, n_kv_heads=4, mlp_hidden_size=512, embedding_size=4096,
           rope_theta=500000.0, rms_norm_eps=1e-5)
for bad in (dict(n_layers=1), dict(n_kv_heads=2)):
    try:
        plant_induction(LLaDA({**cfg, **bad}))
        fails.append(f"plant_induction accepted {bad}")
    except ValueError as e:
        if "plant_induction: needs" not in str(e):
            fails.append(f"plant_induction {bad}: unexpected message {e}")
try:
    plant_induction(LLaDA(cfg), offset=0)
    fails.append("plant_induction accepted offset 0")
except ValueError:
    pass

torch.manual_seed(0)
m = LLaDA(cfg)
info = plant_induction(m, offset=3)
if info["offset_mass"] < 0.99:
    fails.append(f"positional head mass on the offset {info['offset_mass']} < 0.99")
E = m.model.transformer.wte.weight
lo, hi = info["slot"]
if E[:, lo:hi].abs().max().item() != 0 or not torch.all(E[:, info["const"]] == E[0, info["const"]]):
    fails.append("embeddings: the signature slot is not empty or the constant dim is not constant")

# the bare sets' scoring (eval.answer_correct, as `maskkv eval`'s "match": "codes")
two = {"answer": "The secret codes: Ann is 123, Bob is 456", "match": "codes"}
for text, want in (("The secret codes: Ann is 123, Bob is 456", True), ("123 and 456", True),
                   ("456 and 123", False), ("123", False), ("The secret codes: Ann is 123, Bob is 4567", False)):
    if ev.answer_correct(text, two) != want:
        fails.append(f"answer_correct({text!r}) on {two['answer']!r}: want {want}")
if ev.answer_correct("123 and 456", {"answer": "123, Bob is 456"}):
    fails.append("answer_correct: a sample without \"match\" is not scored by exact match")

for f in fails:
    print("FAIL", f)
sys.exit(1 if fails else 0)
