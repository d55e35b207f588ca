"""Structured initialisation: an induction (key -> value lookup) circuit planted at step 0.

Why: a bidirectional masked-diffusion model that must answer "The value of apple is
[MASK]" from a list "- apple: 123" needs two heads that only help together: a
positional head that writes "the token three back" into every position (so the answer
position carries "apple" and the listed code carries its key), and a matching head that
lets the answer attend to the position whose key equals its own. Trained from an
ordinary initialisation neither half lowers the loss without the other, and the model
stays at chance for as long as this project could train it (models/MODEL.md, sessions
2-4). Planting both halves removes that saddle; all weights stay trainable, and the
rest of the model (and the planted heads' final form) is learned as usual.

What is planted, with d = d_model, hd = head dim (4 heads of 32 for d = 128):
  * embeddings: content in dims [0, d-32), dims [d-32, d) zero except a constant c in
    dim d-1 (a bias direction, so a head can attend by position alone);
  * layer 0, head 0 (positional): query and key read only the constant dim; their
    RoPE pairs carry amplitudes and phases chosen so that q_i . k_j peaks at
    i - j = offset (softmax mass ~0.96 on it at every length up to 4,096); value =
    a random projection of the token content to n_sig dims, written by attn_out into
    the signature slot [d-32, d-32+n_sig): each position holds sig(token[i - offset]);
  * layer 1, head 0 (matching): query and key both read the signature slot into the
    lowest-frequency RoPE pairs (nearly position-free over a few thousand tokens), so
    the score is large where sig(key of the answer) = sig(key before a code); value /
    output keep the copy initialisation (identity), with gain out_gain, so attending
    to the code raises the code's logit;
  * other heads' outputs and layers 0-1 MLP outputs are kept out of the slot at init.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def offset_rope_weights(theta: float, hd: int, offset: int, span: int = 4096, iters: int = 3000):
    """Per-frequency weights w_f >= 0 (hd/2 of them) such that the position-only score
    s(D) = sum_f w_f cos((D - offset) theta_f) puts most softmax mass on D = offset, over
    every relative distance |D| < span. -> (w, theta_f, that softmax mass)."""
    inv = theta ** (-torch.arange(0, hd, 2).float() / hd)
    D = torch.arange(-span + 1, span).float()
    cosm = torch.cos((D[:, None] - offset) * inv[None])
    raw = torch.zeros(hd // 2, requires_grad=True)
    opt = torch.optim.Adam([raw], lr=0.05)
    with torch.enable_grad():
        for _ in range(iters):
            w = F.softplus(raw)
            s = cosm @ w
            loss = -(s[D == offset] - torch.logsumexp(s, 0)).sum() + 1e-3 * w.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    w = F.softplus(raw).detach()
    mass = torch.softmax(cosm @ w, 0)[D == offset].item()
    return w, inv, mass


def plant_induction(model, offset: int = 3, n_sig: int = 12, c: float = 4.0, g: float = 2.0,
                    match_logit: float = 12.0, out_gain: float = 4.0, seed: int = 0) -> dict:
    """Overwrite parts of a freshly initialised LLaDA (model.LLaDA with copy_init) so that
    layers 0-1 implement "attend to the position whose token `offset` back equals mine,
    copy its token". Returns the dims used (content, slot, constant) and the positional
    head's softmax mass on the offset (position-only score over all distances < 4,096)."""
    cfg = model.cfg
    d, H = cfg["d_model"], cfg["n_heads"]
    hd = d // H
    half = hd // 2
    if cfg["n_layers"] < 2 or cfg["n_kv_heads"] != H or d - 32 < hd or not 2 <= n_sig < hd or n_sig % 2 \
            or offset < 1:
        raise ValueError(f"plant_induction: needs 2+ layers, no GQA, d_model - 32 >= head dim, an even "
                         f"n_sig in [2, head dim) and offset >= 1 (got n_layers {cfg['n_layers']}, "
                         f"n_kv_heads {cfg['n_kv_heads']}/{H}, d_model {d}, head dim {hd}, n_sig {n_sig}, "
                         f"offset {offset})")
    C = d - 32  # content dims [0, C)
    S = C  # signature slot [S, S + n_sig)
    K = d - 1  # constant dim
    w, inv, mass = offset_rope_weights(cfg["rope_theta"], hd, offset)
    gen = torch.Generator().manual_seed(seed)
    t = model.model.transformer
    with torch.no_grad():
        E = t.wte.weight  # rows ~ N(0, 1)
        E[:, C:] = 0
        E[:, K] = c
        t.ff_out.weight.copy_(E / math.sqrt(d))  # LM head = embedding (copy init)
        for b in t.blocks:
            b.attn_out.weight[C:, :] = 0
        for b in t.blocks[:2]:
            b.ff_out.weight[C:, :] = 0
        rms0 = math.sqrt((C + c * c) / d)  # RMS of an embedding row
        xc = c / rms0  # the constant dim after the first RMSNorm

        # layer 0, head 0: attend to i - offset by position alone
        b0 = t.blocks[0]
        for W in (b0.q_proj.weight, b0.k_proj.weight, b0.v_proj.weight):
            W[:hd, :] = 0
        amp = torch.sqrt(w * math.sqrt(hd)) / xc  # q.k / sqrt(hd) = sum_f w_f cos(...)
        b0.q_proj.weight[:half, K] = amp
        b0.k_proj.weight[:half, K] = amp * torch.cos(offset * inv)
        b0.k_proj.weight[half:hd, K] = amp * torch.sin(offset * inv)
        b0.v_proj.weight[:n_sig, :C] = torch.randn(n_sig, C, generator=gen) / math.sqrt(C) * rms0
        b0.attn_out.weight[:, :hd] = 0
        b0.attn_out.weight[S:S + n_sig, :n_sig] = g * torch.eye(n_sig)

        # layer 1, head 0: match signatures in the lowest-frequency RoPE pairs
        b1 = t.blocks[1]
        lo = list(range(half - n_sig // 2, half)) + list(range(hd - n_sig // 2, hd))
        b1.q_proj.weight[:hd, :] = 0
        b1.k_proj.weight[:hd, :] = 0
        rms1 = math.sqrt((C + c * c + n_sig * g * g) / d)  # residual RMS after layer 0
        a = math.sqrt(match_logit * math.sqrt(hd) / (n_sig * (g / rms1) ** 2))
        for i, r in enumerate(lo):
            b1.q_proj.weight[r, S + i] = a
            b1.k_proj.weight[r, S + i] = a
        b1.attn_out.weight[:C, :hd] = 0
        b1.attn_out.weight[:hd, :hd] = out_gain * torch.eye(hd)
    return dict(content=(0, C), slot=(S, S + n_sig), const=K, match_dims=lo, offset_mass=round(mass, 4))
