"""Shared helpers for the tiny-model / golden-vector tools.

* `import_official(code_dir, pkg)` loads the official PyTorch modelling code
  (which uses package-relative imports) from a directory that is *not* part of
  this repository, as a synthetic package.
* Plain-numpy reference forwards for LLaDA and Dream (float64 or float32),
  written from the official code, used to cross-check the PyTorch golden
  vectors and to produce the float64 goldens.
* Small I/O helpers for the golden file formats.

Only numpy is needed here (torch is imported lazily by `import_official`).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import types
from pathlib import Path

import numpy as np


# --------------------------------------------------------------------------
# Official code loading
# --------------------------------------------------------------------------

def import_official(code_dir: str | os.PathLike, pkg: str, module: str):
    """Import `module` from `code_dir` as `pkg.module` (so that relative
    imports such as `from .configuration_llada import ...` work) without
    needing an __init__.py in that directory."""
    code_dir = str(Path(code_dir).resolve())
    if pkg not in sys.modules:
        m = types.ModuleType(pkg)
        m.__path__ = [code_dir]  # type: ignore[attr-defined]
        sys.modules[pkg] = m
    return importlib.import_module(f"{pkg}.{module}")


# --------------------------------------------------------------------------
# Golden file I/O
# --------------------------------------------------------------------------

def write_ids(path: Path, ids) -> None:
    path.write_text(" ".join(str(int(i)) for i in ids) + "\n")


def write_f32(path: Path, arr: np.ndarray) -> None:
    np.ascontiguousarray(arr, dtype="<f4").tofile(path)


def write_f64(path: Path, arr: np.ndarray) -> None:
    np.ascontiguousarray(arr, dtype="<f8").tofile(path)


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def max_rel_err(a: np.ndarray, ref: np.ndarray) -> float:
    """max |a - ref| / max |ref| (a scale-aware error for logits)."""
    a = np.asarray(a, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    return float(np.max(np.abs(a - ref)) / max(np.max(np.abs(ref)), 1e-30))


# --------------------------------------------------------------------------
# numpy reference forward passes
# --------------------------------------------------------------------------

def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    # LLaDA RMSLayerNorm / Dream RMSNorm: x * rsqrt(mean(x^2) + eps) * weight
    var = np.mean(x * x, axis=-1, keepdims=True)
    return (x / np.sqrt(var + eps)) * w


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def rope_tables(n: int, head_dim: int, theta: float, dtype) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin tables [n, head_dim/2]; inv_freq = theta^(-2i/head_dim)."""
    i = np.arange(0, head_dim, 2, dtype=np.float64)
    inv_freq = 1.0 / (theta ** (i / head_dim))
    ang = np.arange(n, dtype=np.float64)[:, None] * inv_freq[None, :]
    return np.cos(ang).astype(dtype), np.sin(ang).astype(dtype)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, style: str) -> np.ndarray:
    """x: [n, heads, head_dim].
    style 'neox': rotate (i, i + hd/2) pairs (HF LLaDA / Dream checkpoints).
    style 'norm': rotate (2i, 2i+1) pairs (llama.cpp LLAMA/LLADA graph after the
    converter's q/k permutation)."""
    hd = x.shape[-1]
    c = cos[:, None, :]
    s = sin[:, None, :]
    if style == "neox":
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)
    if style == "norm":
        x1, x2 = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = x1 * c - x2 * s
        out[..., 1::2] = x2 * c + x1 * s
        return out
    raise ValueError(style)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bidirectional attention. q [n, H, hd], k/v [n, Hkv, hd] -> [n, H*hd].
    Query head h uses KV head h // (H/Hkv) (torch repeat_interleave / repeat_kv)."""
    n, H, hd = q.shape
    Hkv = k.shape[1]
    rep = H // Hkv
    k = np.repeat(k, rep, axis=1)
    v = np.repeat(v, rep, axis=1)
    s = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(hd).astype(q.dtype)
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p = p / p.sum(axis=-1, keepdims=True)
    o = np.einsum("hqk,khd->qhd", p, v)
    return o.reshape(n, H * hd)


def llada_forward_np(W: dict, cfg: dict, ids, dtype=np.float64, rope_style: str = "neox") -> np.ndarray:
    """LLaDA (block_type llama) forward from HF-named weights
    (`model.transformer.*`). Returns logits [n, embedding_size]."""
    g = lambda name: np.asarray(W[name], dtype=dtype)  # noqa: E731
    d = cfg["d_model"]
    H = cfg["n_heads"]
    Hkv = cfg.get("n_kv_heads") or H
    hd = d // H
    eps = cfg["rms_norm_eps"]
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    x = g("model.transformer.wte.weight")[ids]
    cos, sin = rope_tables(n, hd, cfg["rope_theta"], dtype)
    for L in range(cfg["n_layers"]):
        p = f"model.transformer.blocks.{L}."
        xn = rms_norm(x, g(p + "attn_norm.weight"), eps)
        q = (xn @ g(p + "q_proj.weight").T).reshape(n, H, hd)
        k = (xn @ g(p + "k_proj.weight").T).reshape(n, Hkv, hd)
        v = (xn @ g(p + "v_proj.weight").T).reshape(n, Hkv, hd)
        q = apply_rope(q, cos, sin, rope_style)
        k = apply_rope(k, cos, sin, rope_style)
        a = attention(q, k, v)
        x = x + a @ g(p + "attn_out.weight").T
        hn = rms_norm(x, g(p + "ff_norm.weight"), eps)
        gate = hn @ g(p + "ff_proj.weight").T
        up = hn @ g(p + "up_proj.weight").T
        x = x + (silu(gate) * up) @ g(p + "ff_out.weight").T
    x = rms_norm(x, g("model.transformer.ln_f.weight"), eps)
    return x @ g("model.transformer.ff_out.weight").T


def dream_forward_np(W: dict, cfg: dict, ids, dtype=np.float64) -> np.ndarray:
    """Dream (Qwen2 layout, bidirectional) forward from HF-named weights.
    Returns the RAW logits [n, vocab] (no shift)."""
    g = lambda name: np.asarray(W[name], dtype=dtype)  # noqa: E731
    d = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    Hkv = cfg["num_key_value_heads"]
    hd = d // H
    eps = cfg["rms_norm_eps"]
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    x = g("model.embed_tokens.weight")[ids]
    cos, sin = rope_tables(n, hd, cfg["rope_theta"], dtype)
    for L in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{L}."
        xn = rms_norm(x, g(p + "input_layernorm.weight"), eps)
        q = (xn @ g(p + "self_attn.q_proj.weight").T + g(p + "self_attn.q_proj.bias")).reshape(n, H, hd)
        k = (xn @ g(p + "self_attn.k_proj.weight").T + g(p + "self_attn.k_proj.bias")).reshape(n, Hkv, hd)
        v = (xn @ g(p + "self_attn.v_proj.weight").T + g(p + "self_attn.v_proj.bias")).reshape(n, Hkv, hd)
        q = apply_rope(q, cos, sin, "neox")
        k = apply_rope(k, cos, sin, "neox")
        a = attention(q, k, v)
        x = x + a @ g(p + "self_attn.o_proj.weight").T
        hn = rms_norm(x, g(p + "post_attention_layernorm.weight"), eps)
        gate = hn @ g(p + "mlp.gate_proj.weight").T
        up = hn @ g(p + "mlp.up_proj.weight").T
        x = x + (silu(gate) * up) @ g(p + "mlp.down_proj.weight").T
    x = rms_norm(x, g("model.norm.weight"), eps)
    return x @ g("lm_head.weight").T


# --------------------------------------------------------------------------
# safetensors reading without torch (bf16 -> f32 widening done by bit shift)
# --------------------------------------------------------------------------

_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64,
              "I64": np.int64, "I32": np.int32}


def read_safetensors(path: Path) -> dict[str, tuple[str, np.ndarray]]:
    """Return {name: (dtype_string, array)} in file-header order. BF16 arrays
    are returned as uint16 bit patterns (use `to_f32`)."""
    raw = Path(path).read_bytes()
    hlen = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    base = 8 + hlen
    out: dict[str, tuple[str, np.ndarray]] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        b, e = meta["data_offsets"]
        arr = np.frombuffer(raw[base + b: base + e], dtype=_ST_DTYPES[meta["dtype"]]).reshape(meta["shape"])
        out[name] = (meta["dtype"], arr)
    return out


def to_f32(dtype: str, arr: np.ndarray) -> np.ndarray:
    if dtype == "BF16":
        return (arr.astype(np.uint32) << 16).view(np.float32)
    return arr.astype(np.float32)


def load_hf_weights(model_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All tensors of an HF dir (single file or sharded index) as float32
    numpy arrays, plus their stored dtypes."""
    model_dir = Path(model_dir)
    idx = model_dir / "model.safetensors.index.json"
    if idx.is_file():
        parts = sorted(set(json.loads(idx.read_text())["weight_map"].values()))
    else:
        parts = ["model.safetensors"]
    W: dict[str, np.ndarray] = {}
    D: dict[str, str] = {}
    for p in parts:
        for name, (dt, arr) in read_safetensors(model_dir / p).items():
            W[name] = to_f32(dt, arr)
            D[name] = dt
    return W, D
