#!/usr/bin/env python3
"""Writes a LLaDA-shaped HF checkpoint directory with fixed random weights, for
benchmarks (bench/): config.json with the official LLaDA keys and a
model.safetensors with the official tensor names. Not committed (hundreds of MB).

    python3 tools/make_bench_model.py OUT_DIR [--d-model 1024 --layers 12 --heads 8
        --ffn 3072 --vocab 32768 --dtype f32|bf16 --seed 0]
        [--gguf NAME.gguf --tokenizer-from tests/models/llada-tiny]

With --gguf it writes OUT_DIR/NAME.gguf instead of model.safetensors: llama.cpp's
tensor names and metadata (tools/gguf_export.add_metadata, as convert_hf_to_gguf.py
writes them), 2-D weights in --dtype, norms in f32, and the tokenizer of
--tokenizer-from padded to --vocab with [PAD<i>] entries (its mask/eos ids go
into config.json), so that llama.cpp's llama-quantize and llama-diffusion-cli
read it. Tensors are generated and written one chunk at a time: the 16 GB
LLaDA-8B-shaped bf16 file needs ~1 GB of memory. q/k are not permuted (random).

The default (~230M parameters) keeps the 32k-token benchmark row under an hour on
2 cores; the real LLaDA-8B is --d-model 4096 --layers 32 --heads 32 --ffn 12288
--vocab 126464."""
import argparse
import json
import os

import numpy as np
from safetensors.numpy import save_file


def bench_config(a):
    """config.json of the benchmark model (the official LLaDA keys)."""
    d, f, v = a.d_model, a.ffn, a.vocab
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
    return config


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
    ap.add_argument("--gguf", help="write OUT_DIR/GGUF (llama.cpp layout) instead of model.safetensors")
    ap.add_argument("--tokenizer-from", help="HF directory whose tokenizer files go into OUT_DIR (--gguf)")
    a = ap.parse_args()
    if a.gguf:
        return write_gguf(a)
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
    config = bench_config(a)
    with open(os.path.join(a.out, "config.json"), "w") as fp:
        json.dump(config, fp, indent=1)
    n = sum(int(np.prod(t.shape)) for t in tensors.values())
    print(f"{a.out}: {n / 1e6:.1f}M parameters, {a.dtype}")


def gguf_tensors(a):
    """(HF name, shape, std) in the order llama.cpp's converter writes them
    (names sorted); std None = a norm weight of ones."""
    d, f, v = a.d_model, a.ffn, a.vocab
    out = [("model.transformer.ff_out.weight", (v, d), 0.02), ("model.transformer.ln_f.weight", (d,), None),
           ("model.transformer.wte.weight", (v, d), 1.0)]
    for i in range(a.layers):
        p = f"model.transformer.blocks.{i}."
        out += [(p + "attn_norm.weight", (d,), None), (p + "ff_norm.weight", (d,), None)]
        out += [(p + n + ".weight", (d, d), 0.02) for n in ("q_proj", "k_proj", "v_proj", "attn_out")]
        out += [(p + "ff_proj.weight", (f, d), 0.02), (p + "up_proj.weight", (f, d), 0.02),
                (p + "ff_out.weight", (d, f), 0.02)]
    return sorted(out)


def random_rows(rng, shape, std, dtype, chunk_elems=1 << 26):
    """Yields the tensor in row chunks, f32 or bf16 bit patterns (uint16)."""
    rows, cols = (shape[0], shape[1]) if len(shape) == 2 else (1, shape[0])
    step = max(1, chunk_elems // cols)
    for r in range(0, rows, step):
        n = min(step, rows - r)
        x = rng.standard_normal((n, cols), dtype=np.float32)
        x *= std
        if dtype == "f32":
            yield x
            continue
        u = x.view(np.uint32)
        u += 0x7FFF + ((u >> 16) & 1)
        yield (u >> 16).astype(np.uint16)


def write_gguf(a):
    import shutil
    import sys
    from pathlib import Path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gguf
    import gguf_export
    os.makedirs(a.out, exist_ok=True)
    config = bench_config(a)
    if a.tokenizer_from:
        src = json.load(open(os.path.join(a.tokenizer_from, "config.json")))
        for k in ("mask_token_id", "eos_token_id", "pad_token_id"):
            config[k] = src[k]
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"):
            if os.path.exists(os.path.join(a.tokenizer_from, name)):
                shutil.copyfile(os.path.join(a.tokenizer_from, name), os.path.join(a.out, name))
    with open(os.path.join(a.out, "config.json"), "w") as fp:
        json.dump(config, fp, indent=1)
    qt, ftype = gguf_export.QTYPES[a.dtype]
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLADA, a.layers)
    w = gguf.GGUFWriter(path=None, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLADA])
    plan = gguf_tensors(a)
    for name, shape, std in plan:
        new = tmap.get_name(key=name, try_suffixes=(".weight", ".bias"))
        if std is None:
            w.add_tensor_info(new, shape, np.dtype(np.float32), 4 * shape[0], gguf.GGMLQuantizationType.F32)
        else:
            es = 4 if a.dtype == "f32" else 2
            w.add_tensor_info(new, shape, np.dtype(np.float32 if es == 4 else np.uint16), es * shape[0] * shape[1], qt)
    gguf_export.add_metadata(w, Path(a.out), config, ftype)
    path = os.path.join(a.out, a.gguf)
    w.write_header_to_file(path=path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    # Tensor data, streamed: each tensor starts at the next multiple of the
    # alignment (the offsets write_ti_data_to_file recorded), chunk by chunk.
    rng = np.random.default_rng(a.seed)
    fout, n = w.fout[0], 0
    for name, shape, std in plan:
        w.write_padding(fout, fout.tell())
        if std is None:
            np.ones(shape[0], np.float32).tofile(fout)
        else:
            for c in random_rows(rng, shape, std, a.dtype):
                c.tofile(fout)
        n += int(np.prod(shape))
    w.close()
    print(f"{path}: {n / 1e6:.1f}M parameters, {a.dtype}, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
