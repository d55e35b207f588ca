"""A LLaDA-architecture masked-diffusion transformer (PyTorch, CPU).

Mirrors GSAI-ML/LLaDA-8B-Instruct `modeling_llada.py` (block_type "llama"):
pre-norm RMSNorm (fp32, weight, eps 1e-5, no bias), fully bidirectional
attention, half-split ("NeoX") RoPE with theta 500000 computed in fp32
(`rotate_half` on the two halves of each head), SwiGLU
`ff_out(silu(ff_proj(x)) * up_proj(x))`, no biases, untied LM head
(`model.transformer.ff_out`), no logit scaling.

Parameter names equal the official HF checkpoint names
(`model.transformer.wte.weight`, `model.transformer.blocks.N.q_proj.weight`, ...),
so `model.state_dict()` can be written to model.safetensors as is.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        og = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return (self.weight * x).to(og)


def rope_tables(n: int, head_dim: int, theta: float, device=None):
    """LLaDA RotaryEmbedding.get_rotary_embedding: positions 0..n-1, fp32."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float) / head_dim))
    seq = torch.arange(n, device=device, dtype=torch.float)
    freqs = torch.einsum("i , j -> i j", seq, inv_freq)
    pos = torch.cat((freqs, freqs), dim=-1)
    return pos.sin()[None, None], pos.cos()[None, None]  # (1,1,n,hd)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    B, nh, T, hs = x.size()
    x = x.view(B, nh, T, 2, hs // 2)
    x1, x2 = x.unbind(dim=-2)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(t, sin, cos):
    return (t * cos) + (rotate_half(t) * sin)


class Block(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        d, ff = cfg["d_model"], cfg["mlp_hidden_size"]
        self.n_heads = cfg["n_heads"]
        self.n_kv_heads = cfg["n_kv_heads"]
        self.hd = d // self.n_heads
        eps = cfg["rms_norm_eps"]
        self.attn_norm = RMSNorm(d, eps)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, self.n_kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.n_kv_heads * self.hd, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_norm = RMSNorm(d, eps)
        self.ff_proj = nn.Linear(d, ff, bias=False)
        self.up_proj = nn.Linear(d, ff, bias=False)
        self.ff_out = nn.Linear(ff, d, bias=False)

    def forward(self, x, sin, cos, attn_mask=None):
        B, T, d = x.shape
        h = self.attn_norm(x)
        q = self.q_proj(h).view(B, T, self.n_heads, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.n_kv_heads, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.n_kv_heads, self.hd).transpose(1, 2)
        q = apply_rope(q.float(), sin, cos).to(v.dtype)
        k = apply_rope(k.float(), sin, cos).to(v.dtype)
        if self.n_kv_heads != self.n_heads:
            r = self.n_heads // self.n_kv_heads
            k = k.repeat_interleave(r, dim=1)
            v = v.repeat_interleave(r, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=False)
        a = a.transpose(1, 2).reshape(B, T, d)
        x = x + self.attn_out(a)
        h = self.ff_norm(x)
        x = x + self.ff_out(F.silu(self.ff_proj(h)) * self.up_proj(h))
        return x


class Transformer(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.wte = nn.Embedding(cfg["embedding_size"], cfg["d_model"])
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg["n_layers"])])
        self.ln_f = RMSNorm(cfg["d_model"], cfg["rms_norm_eps"])
        self.ff_out = nn.Linear(cfg["d_model"], cfg["embedding_size"], bias=False)


class Inner(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.transformer = Transformer(cfg)


class LLaDA(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self.reset_parameters()

    def reset_parameters(self):
        d = self.cfg["d_model"]
        std = 1.0 / math.sqrt(d)
        for n, p in self.named_parameters():
            if n.endswith("norm.weight") or n.endswith("ln_f.weight"):
                nn.init.ones_(p)
            elif "wte" in n:
                nn.init.normal_(p, std=1.0)
            elif n.endswith("attn_out.weight") or n.endswith("blocks.0.ff_out.weight") or ".ff_out." in n and "blocks" in n:
                nn.init.normal_(p, std=std / math.sqrt(2 * self.cfg["n_layers"]))
            else:
                nn.init.normal_(p, std=std)
        if self.cfg.get("copy_init", True):
            # Initialisation that makes copying available from step 0 (training is
            # otherwise unchanged; the head stays untied): LM head rows = embedding
            # rows, and each attention head's value/output path = (scaled) identity,
            # so attending to a token raises that token's logit.
            with torch.no_grad():
                t = self.model.transformer
                t.ff_out.weight.copy_(t.wte.weight / math.sqrt(d))
                eye = torch.eye(d)
                for b in t.blocks:
                    if b.v_proj.weight.shape == (d, d):
                        b.v_proj.weight.copy_(eye + 0.1 * std * torch.randn(d, d))
                        b.attn_out.weight.copy_(0.5 * eye + 0.1 * std * torch.randn(d, d))

    def hidden(self, ids: torch.Tensor, key_mask: torch.Tensor | None = None,
               n_blocks: int | None = None) -> torch.Tensor:
        """ids (B,T) -> residual stream (B,T,d) after the first n_blocks blocks (all by
        default). key_mask: optional (B,T) bool, True = real token (padding keys are
        excluded from attention)."""
        t = self.model.transformer
        B, T = ids.shape
        x = t.wte(ids)
        sin, cos = rope_tables(T, self.cfg["d_model"] // self.cfg["n_heads"], self.cfg["rope_theta"], ids.device)
        am = None
        if key_mask is not None:
            am = key_mask[:, None, None, :]
        for blk in t.blocks[:n_blocks]:
            x = blk(x, sin, cos, am)
        return x

    def forward(self, ids: torch.Tensor, out_pos: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None, n_blocks: int | None = None) -> torch.Tensor:
        """ids (B,T) -> logits. out_pos: optional (B,P) positions whose logits are
        wanted (others skipped: mask-only projection). key_mask, n_blocks as in hidden()
        (n_blocks < n_layers: an early read-out through the final norm and LM head, used
        by training only)."""
        t = self.model.transformer
        x = self.hidden(ids, key_mask, n_blocks)
        if out_pos is not None:
            x = torch.gather(x, 1, out_pos[..., None].expand(-1, -1, x.shape[-1]))
        x = t.ln_f(x)
        return t.ff_out(x)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
