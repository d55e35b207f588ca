#!/usr/bin/env python3
"""Writes the small malformed model files of tests/data/formats/ used by the
command-line tests (tests/cli/cases_formats.sh). Deterministic; rerun after
changing it:  python3 tools/make_bad_files.py"""
import json
import struct
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "formats"


def gguf_header(version, n_tensors, n_kv):
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    # Not a GGUF at all.
    (OUT / "bad-magic.gguf").write_bytes(b"GGUX" + bytes(28))
    # GGUF version 1 (u32 counts), which llama.cpp dropped long ago.
    (OUT / "v1.gguf").write_bytes(gguf_header(1, 0, 0))
    # A well-formed GGUF whose architecture is not LLaDA or Dream.
    kv = gguf_str("general.architecture") + struct.pack("<I", 8) + gguf_str("llama")
    # A file cut inside its first tensor name.
    (OUT / "truncated.gguf").write_bytes(gguf_header(3, 1, 1) + kv + gguf_str("token_embd.weight")[:11])
    (OUT / "llama-arch.gguf").write_bytes(gguf_header(3, 0, 1) + kv)
    # A tensor whose data lies past the end of the file.
    info = gguf_str("token_embd.weight") + struct.pack("<IqqIQ", 2, 8, 4, 0, 0)
    body = gguf_header(3, 1, 1) + kv.replace(b"llama", b"llada") + info
    body += bytes((-len(body)) % 32) + bytes(16)
    (OUT / "tensor-out-of-bounds.gguf").write_bytes(body)
    # HF directories: no config.json, an unknown architecture, invalid JSON,
    # and a safetensors file whose header length points past its end.
    (OUT / "no-config").mkdir(exist_ok=True)
    (OUT / "no-config" / "README").write_text("An HF checkpoint directory without config.json (CLI error test).\n")
    (OUT / "unknown-arch").mkdir(exist_ok=True)
    (OUT / "unknown-arch" / "config.json").write_text(
        json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64}, indent=1) + "\n")
    (OUT / "bad-json").mkdir(exist_ok=True)
    (OUT / "bad-json" / "config.json").write_text('{"model_type": "llada", "d_model": 64,\n')
    bad = OUT / "bad-safetensors"
    bad.mkdir(exist_ok=True)
    cfg = {"architectures": ["LLaDAModelLM"], "model_type": "llada", "d_model": 64, "n_layers": 1, "n_heads": 4,
           "n_kv_heads": 4, "mlp_hidden_size": 128, "vocab_size": 32, "embedding_size": 32, "rope_theta": 500000.0,
           "rms_norm_eps": 1e-5, "mask_token_id": 31, "max_sequence_length": 256}
    (bad / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    (bad / "model.safetensors").write_bytes(struct.pack("<Q", 10**12) + b"{}")


if __name__ == "__main__":
    main()
