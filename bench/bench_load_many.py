#!/usr/bin/env python3
"""Load time of models with very many tensors or shard names (issue 16:
loading used to be quadratic in them).

    python3 bench/bench_load_many.py [--maskkv build/maskkv] [--layers 16000] [--shards 200000]

1. A LLaDA GGUF with `--layers` tiny layers (9 tensors each, 144k tensors for
   16000 layers; d_model 8), written with the PyPI `gguf` package: seconds of
   `maskkv info -m FILE` (which loads and binds every tensor).
2. An HF directory whose model.safetensors.index.json names `--shards`
   distinct shard files that do not exist: seconds until `maskkv info`
   refuses it (the index is parsed and its names deduplicated first).

Prints one line per case; the numbers go to BENCHMARKS.md by hand.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_many_layer_gguf(path, n_layers):
    import gguf

    d, ff, vocab = 8, 8, 16
    w = gguf.GGUFWriter(path, "llada")
    w.add_block_count(n_layers)
    w.add_context_length(64)
    w.add_embedding_length(d)
    w.add_feed_forward_length(ff)
    w.add_head_count(2)
    w.add_head_count_kv(2)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_uint32("tokenizer.ggml.mask_token_id", vocab - 1)
    rng = np.random.default_rng(0)
    mat = rng.standard_normal((d, d)).astype(np.float32)
    w.add_tensor("token_embd.weight", rng.standard_normal((vocab, d)).astype(np.float32))
    w.add_tensor("output_norm.weight", np.ones(d, np.float32))
    for layer in range(n_layers):
        for name in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"):
            w.add_tensor(f"blk.{layer}.{name}.weight", mat)
        for name in ("attn_norm", "ffn_norm"):
            w.add_tensor(f"blk.{layer}.{name}.weight", np.ones(d, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return 9 * n_layers + 2


def timed(cmd):
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return time.monotonic() - start, proc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maskkv", default="build/maskkv")
    ap.add_argument("--layers", type=int, default=16000)
    ap.add_argument("--shards", type=int, default=200000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "many.gguf")
        n_tensors = write_many_layer_gguf(path, a.layers)
        seconds, proc = timed([a.maskkv, "info", "-m", path])
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.strip()}"
        print(f"gguf  {n_tensors} tensors ({a.layers} layers): maskkv info {seconds:.2f} s ({status})")

        hf = os.path.join(tmp, "hf")
        os.mkdir(hf)
        with open(os.path.join(hf, "config.json"), "w") as fp:
            json.dump({"architectures": ["LLaDAModelLM"], "model_type": "llada", "d_model": 8, "n_heads": 2,
                       "n_layers": 1, "mlp_hidden_size": 8, "vocab_size": 16, "max_sequence_length": 64,
                       "mask_token_id": 15}, fp)
        weight_map = {f"t{i}": f"model-{i:06d}-of-{a.shards:06d}.safetensors" for i in range(a.shards)}
        with open(os.path.join(hf, "model.safetensors.index.json"), "w") as fp:
            json.dump({"metadata": {}, "weight_map": weight_map}, fp)
        seconds, proc = timed([a.maskkv, "info", "-m", hf])
        print(f"index {a.shards} shard names: maskkv info {seconds:.2f} s (exit {proc.returncode}: {proc.stderr.strip()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
