#!/usr/bin/env python3
"""Writes a LLaDA-shaped HF checkpoint directory with fixed random weights, for
benchmarks (bench/): config.json with the official LLaDA keys and a
model.safetensors with the official tensor names. Not committed (hundreds of MB).

    python3 tools/make_bench_model.py OUT_DIR [--d-model 1024 --layers 12 --heads 8
        --ffn 3072 --vocab 32768 --dtype f32|bf16 --seed 0]

The default (~230M parameters) keeps the 32k-token benchmark row under an hour on
2 cores; the real LLaDA-8B is --d-model 4096 --layers 32 --heads 32 --ffn 12288
--vocab 126464."""
import argparse
import json
import os

import numpy as np
from safetensors.numpy import save_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--d-model", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--ffn", type=int, default=3072)
    ap.add_argument("--vocab", type=int, default=32768)
    ap.add_argument("--ctx", type=int, default=32768 + 1024)
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    d, f, v = a.d_model, a.ffn, a.vocab

    def w(*shape, std=0.02):
        x = (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)
        if a.dtype == "bf16":
            # round to nearest even, stored as uint16 bit patterns viewed by safetensors as bf16
            u = x.view(np.uint32)
            u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
            return u
        return x

    tensors = {
        "model.transformer.wte.weight": w(v, d, std=1.0),
        "model.transformer.ln_f.weight": w(d, std=0.0) + (1 if a.dtype == "f32" else 0),
        "model.transformer.ff_out.weight": w(v, d),
    }
    for i in range(a.layers):
        p = f"model.transformer.blocks.{i}."
        tensors[p + "attn_norm.weight"] = np.ones(d, np.float32) if a.dtype == "f32" else np.full(d, 0x3F80, np.uint16)
        tensors[p + "ff_norm.weight"] = tensors[p + "attn_norm.weight"].copy()
        for name in ("q_proj", "k_proj", "v_proj", "attn_out"):
            tensors[p + name + ".weight"] = w(d, d)
        tensors[p + "ff_proj.weight"] = w(f, d)
        tensors[p + "up_proj.weight"] = w(f, d)
        tensors[p + "ff_out.weight"] = w(d, f)
    if a.dtype == "f32":
        tensors["model.transformer.ln_f.weight"] = np.ones(d, np.float32)
        save_file(tensors, os.path.join(a.out, "model.safetensors"))
    else:
        tensors["model.transformer.ln_f.weight"] = np.full(d, 0x3F80, np.uint16)
        # safetensors.numpy has no bf16: write the header ourselves
        header, offset, blobs = {}, 0, []
        for name, t in tensors.items():
            b = t.tobytes()
            header[name] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
            offset += len(b)
            blobs.append(b)
        h = json.dumps(header).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        with open(os.path.join(a.out, "model.safetensors"), "wb") as fp:
            fp.write(len(h).to_bytes(8, "little"))
            fp.write(h)
            for b in blobs:
                fp.write(b)
    config = {
        "architectures": ["LLaDAModelLM"], "model_type": "llada",
        "d_model": d, "n_layers": a.layers, "n_heads": a.heads, "n_kv_heads": a.heads,
        "mlp_hidden_size": f, "mlp_ratio": f // d, "vocab_size": v, "embedding_size": v,
        "rope_theta": 500000.0, "rms_norm_eps": 1e-5, "max_sequence_length": a.ctx,
        "mask_token_id": v - 2, "eos_token_id": v - 3, "pad_token_id": v - 3,
        "include_bias": False, "weight_tying": False, "block_type": "llama", "activation_type": "silu",
        "rope": True, "flash_attention": False, "layer_norm_type": "rms", "rms_norm_eps": 1e-5,
        "attention_layer_norm": False, "scale_logits": False, "alibi": False, "multi_query_attention": None,
        "init_device": "cpu", "input_emb_norm": False, "rope_full_precision": True, "torch_dtype": "float32" if a.dtype == "f32" else "bfloat16",
    }
    with open(os.path.join(a.out, "config.json"), "w") as fp:
        json.dump(config, fp, indent=1)
    n = sum(int(np.prod(t.shape)) for t in tensors.values())
    print(f"{a.out}: {n / 1e6:.1f}M parameters, {a.dtype}")


if __name__ == "__main__":
    main()
