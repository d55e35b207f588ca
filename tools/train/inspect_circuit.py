"""Where the planted induction heads look (induction_init.py), on held-out key-value prompts.

    python3 tools/train/inspect_circuit.py models/llada-tiny-retrieval models/llada-tiny-retrieval-eval
    python3 tools/train/inspect_circuit.py models/llada-tiny-retrieval models/llada-tiny-retrieval-eval --fresh

For the first --n prompts of kv_<L>.jsonl at each length, with all 8 answer positions
masked (one forward pass), prints the means of:
  * L0H0 answer: attention of layer 0, head 0 from the first answer position to the token
    --offset back (the key after "The value of <key> is ");
  * L0H0 codes: the same from every listed code to the token --offset back (its key);
  * L1H0 answer->code: attention of layer 1, head 0 from the first answer position to the
    listed code that answers the question;
and how often that code scores highest among all code tokens at the first answer position.
--fresh measures a freshly planted initialisation (seed 1234, the model's config) instead
of the trained weights.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import LLaDA, apply_rope, rope_tables  # noqa: E402
from induction_init import plant_induction  # noqa: E402
from eval import load_hf  # noqa: E402


def attention(model: LLaDA, layer: int, x: torch.Tensor) -> torch.Tensor:
    """Softmax attention (heads, T, T) of block `layer` for its input x (1, T, d)."""
    blk = model.model.transformer.blocks[layer]
    T = x.shape[1]
    H, hd = blk.n_heads, blk.hd
    sin, cos = rope_tables(T, hd, model.cfg["rope_theta"])
    h = blk.attn_norm(x)
    q = apply_rope(blk.q_proj(h).view(1, T, H, hd).transpose(1, 2), sin, cos)
    k = apply_rope(blk.k_proj(h).view(1, T, H, hd).transpose(1, 2), sin, cos)
    return torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), -1)[0]


@torch.no_grad()
def inspect(model: LLaDA, exs: list[dict], code_ids: list[int], tok, mask_id: int, offset: int, gen_len: int = 8):
    t = model.model.transformer
    codes = set(code_ids)
    code_index = torch.tensor(code_ids)
    s = dict(l0_answer=0.0, l0_codes=0.0, l1_answer_code=0.0, top_code=0)
    for e in exs:
        p = e["prompt_ids"]
        answer = tok.encode(e["answer"], add_special_tokens=False).ids[0]
        ids = torch.tensor([p + [mask_id] * gen_len])
        T, a = ids.shape[1], len(p)
        sin, cos = rope_tables(T, t.blocks[0].hd, model.cfg["rope_theta"])
        x0 = t.wte(ids)
        A0 = attention(model, 0, x0)[0]
        A1 = attention(model, 1, t.blocks[0](x0, sin, cos))[0]
        listed = [j for j in range(offset, a) if p[j] in codes]
        s["l0_answer"] += A0[a, a - offset].item()
        s["l0_codes"] += sum(A0[j, j - offset].item() for j in listed) / max(1, len(listed))
        s["l1_answer_code"] += A1[a, [j for j in listed if p[j] == answer]].sum().item()
        logits = model(ids, torch.tensor([[a]]))[0, 0]
        s["top_code"] += code_ids[logits[code_index].argmax().item()] == answer
    return {k: v / len(exs) if k != "top_code" else f"{v}/{len(exs)}" for k, v in s.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("eval_dir")
    ap.add_argument("--lengths", default="256,2048")
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--offset", type=int, default=3)
    ap.add_argument("--fresh", action="store_true", help="a freshly planted initialisation, not the trained weights")
    a = ap.parse_args()
    if a.n < 1 or a.offset < 1:
        ap.error("--n and --offset must be at least 1")
    model, tok, c = load_hf(a.model_dir)
    if a.fresh:
        torch.manual_seed(1234)
        model = LLaDA(model.cfg)
        plant_induction(model, offset=a.offset)
        model.eval()
    code_ids = [i for s, i in tok.get_vocab().items() if len(s) == 3 and s.isdigit()]
    for L in [int(x) for x in a.lengths.split(",")]:
        path = os.path.join(a.eval_dir, f"kv_{L}.jsonl")
        if not os.path.exists(path):
            ap.error(f"no eval set {path}")
        exs = [json.loads(line) for line in open(path)][:a.n]
        r = inspect(model, exs, code_ids, tok, c["mask_token_id"], a.offset)
        print(f"L {L}: L0H0 answer {r['l0_answer']:.2f}, L0H0 codes {r['l0_codes']:.2f}, "
              f"L1H0 answer->code {r['l1_answer_code']:.2f}, top code {r['top_code']}")


if __name__ == "__main__":
    main()
