#!/usr/bin/env python3
"""Write a GGUF file from a LLaDA or Dream HF directory, the way llama.cpp's
`convert_hf_to_gguf.py` does (classes `LLaDAModel` and `DreamModel`).

    python3 tools/gguf_export.py HF_DIR OUT.gguf --type f32|f16|bf16|q8_0|q4_0 [--pre NAME]

Also importable: `export(hf_dir, out_path, qtype, pre=None)`.

Needs only numpy and the PyPI `gguf` package (GGUFWriter, SpecialVocab,
Metadata, quants) plus `tokenizers` to read tokenizer.json.

What it mirrors from llama.cpp (conversion/base.py, llada.py, dream.py):

* hparams = the raw config.json (llama.cpp's AutoConfig call fails without
  trust_remote_code for both models and falls back to config.json).
* Tensors are read part by part (model.safetensors, or the parts named in
  model.safetensors.index.json, sorted), names sorted inside each part;
  BF16 (any type other than F16/F32) is widened to F32 first.
* LLaDA: q_proj/k_proj weights are permuted with LlamaModel.permute
  (n_head for q, n_kv_head for k) so that llama.cpp's interleaved-pair
  ("NORM") RoPE reproduces the checkpoint's half-split ("NeoX") RoPE.
  Dream: no permutation (llama.cpp runs Dream with NeoX RoPE).
* Names are mapped with gguf.get_tensor_name_map(arch, n_layers).
* Types: tensors with n_dims <= 1 and `*_norm.weight` are always F32; every
  other tensor gets the requested type. If quantizing fails (row length not a
  multiple of the 32-element block for q8_0/q4_0) the tensor falls back to
  F16, exactly like the converter's QuantError handler. `q4_0` is not an
  outtype of convert_hf_to_gguf.py (llama-quantize makes it); here it is
  applied uniformly to all 2-D weights including token_embd and output (what
  `llama-quantize --pure` would do), with the same F16 fallback.
* Metadata key order and values follow prepare_metadata(): general.* (type,
  name, size label ... from gguf.Metadata), then TextModel.set_gguf_parameters
  and the LLaDA/Dream additions, general.quantization_version, then the
  tokenizer (`_set_vocab_gpt2` + SpecialVocab), and for LLaDA
  `tokenizer.ggml.add_bos_token = true` last (overriding tokenizer_config).
* Token list: ids 0..vocab_size-1; ids absent from the tokenizer become
  `[PAD{i}]` (type UNUSED); added tokens are CONTROL if special else
  USER_DEFINED; everything else NORMAL (LLaDAModel/DreamModel.get_vocab_base).
* `tokenizer.ggml.pre`: llama.cpp derives it from a hash of the tokenization
  of a fixed string, which only matches published tokenizers. For these
  tokenizers we write the name of the pre-tokenizer family: "llama-bpe"
  (LLaMA-3 regex) for LLaDA, "qwen2" for Dream, unless --pre is given.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

import gguf

QTYPES = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "bf16": (gguf.GGMLQuantizationType.BF16, gguf.LlamaFileType.MOSTLY_BF16),
    "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "q4_0": (gguf.GGMLQuantizationType.Q4_0, gguf.LlamaFileType.MOSTLY_Q4_0),
}

DEFAULT_PRE = {"llada": "llama-bpe", "dream": "qwen2"}

log = logging.getLogger("gguf_export")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def permute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """LLaDAModel.permute / LlamaModel.permute of llama.cpp."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def unpermute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """Inverse of `permute` (for tests / reading llama.cpp files back)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def _find(hp: dict, keys, optional=True):
    for k in keys:
        if k in hp:
            return hp[k]
    if optional:
        return None
    raise KeyError(keys)


def _bf16_to_f32(u16: np.ndarray) -> np.ndarray:
    return (u16.astype(np.uint32) << 16).view(np.float32)


def iter_hf_tensors(hf_dir: Path):
    """(name, float32-or-float16 ndarray) in llama.cpp's order."""
    idx = hf_dir / "model.safetensors.index.json"
    if idx.is_file():
        weight_map = json.loads(idx.read_text())["weight_map"]
        parts = sorted(dict.fromkeys(weight_map.values()))
    else:
        parts = sorted(p.name for p in hf_dir.iterdir()
                       if p.name.startswith("model") and p.name.endswith(".safetensors"))
    for part in parts:
        st = gguf.utility.SafetensorsLocal(hf_dir / part)
        with st as tensors:
            for name, t in tensors.items():  # already sorted by name
                raw = np.frombuffer(t.mmap_bytes(), dtype=np.uint8)
                if t.dtype == "F32":
                    arr = raw.view(np.float32)
                elif t.dtype == "F16":
                    arr = raw.view(np.float16)
                elif t.dtype == "BF16":
                    arr = _bf16_to_f32(raw.view(np.uint16))
                else:
                    raise ValueError(f"unsupported dtype {t.dtype} for {name}")
                yield name, arr.reshape(t.shape)


def detect_arch(hp: dict) -> str:
    archs = hp.get("architectures") or []
    if "LLaDAModelLM" in archs:
        return "llada"
    if "DreamModel" in archs:
        return "dream"
    raise ValueError(f"not a LLaDA or Dream config: architectures={archs}")


def vocab_base(hf_dir: Path, vocab_size: int):
    """LLaDAModel/DreamModel.get_vocab_base, using `tokenizers` directly
    (the same vocabulary AutoTokenizer would expose for a fast tokenizer)."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
    vocab = tok.get_vocab(with_added_tokens=True)
    assert max(vocab.values()) < vocab_size
    added = tok.get_added_tokens_decoder()  # id -> AddedToken
    reverse = {i: t for t, i in vocab.items()}
    tokens: list[str] = []
    types: list[int] = []
    for i in range(vocab_size):
        if i not in reverse:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tokens.append(reverse[i])
            types.append(gguf.TokenType.CONTROL if added[i].special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(reverse[i])
            types.append(gguf.TokenType.NORMAL)
    return tokens, types


# --------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------

def add_metadata(w: gguf.GGUFWriter, hf_dir: Path, hp: dict, ftype, pre: str | None = None) -> None:
    """The key/value part of the file, after every tensor (or its info) has
    been added to `w` (the parameter count comes from them): general.*,
    TextModel/LLaDAModel/DreamModel.set_gguf_parameters, the vocabulary."""
    arch = detect_arch(hp)
    block_count = _find(hp, ["n_layers", "num_hidden_layers", "n_layer", "num_layers"], optional=False)
    n_head = _find(hp, ["num_attention_heads", "n_heads"], optional=False)
    n_kv_head = _find(hp, ["num_key_value_heads", "n_kv_heads"])
    # ---- metadata (ModelBase.prepare_metadata) ----
    total_params, shared_params, expert_params, expert_count = w.get_total_parameter_count()
    meta = gguf.Metadata.load(None, hf_dir, None, total_params)
    if meta.name is None:
        meta.name = hf_dir.name
    if meta.size_label is None and total_params > 0:
        meta.size_label = gguf.size_label(total_params, shared_params, expert_params, expert_count)
    w.add_type(gguf.GGUFType.MODEL)
    meta.set_gguf_meta_model(w)

    # TextModel.set_gguf_parameters
    w.add_block_count(block_count)
    n_ctx = _find(hp, ["max_position_embeddings", "n_ctx", "n_positions", "max_length",
                       "max_sequence_length", "model_max_length"])
    if n_ctx is not None:
        w.add_context_length(n_ctx)
    n_embd = _find(hp, ["hidden_size", "n_embd", "dim"])
    if n_embd is not None:
        w.add_embedding_length(n_embd)
    n_ff = _find(hp, ["prefix_dense_intermediate_size", "dense_intermediate_size",
                      "intermediate_size", "n_inner", "hidden_dim"])
    if n_ff is not None:
        w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    if n_kv_head is not None:
        w.add_head_count_kv(n_kv_head)
    if hp.get("is_causal") is False:
        w.add_causal_attention(False)
    rope_params = hp.get("rope_parameters", hp.get("rope_scaling")) or {}
    if rope_params.get("rope_type", rope_params.get("type")) not in (None, "default"):
        raise NotImplementedError("rope scaling is not handled by this exporter")
    rope_theta = _find(hp, ["global_rope_theta", "rope_global_theta", "rope_theta_global",
                            "rope_theta", "rotary_emb_base"])
    if rope_theta is not None:
        w.add_rope_freq_base(rope_theta)
    eps = _find(hp, ["rms_norm_eps", "norm_eps"])
    if eps is not None:
        w.add_layer_norm_rms_eps(eps)
    if (head_dim := hp.get("head_dim")) is not None:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_file_type(ftype)

    if arch == "llada":
        # LLaDAModel.set_gguf_parameters
        w.add_vocab_size(hp["vocab_size"])
        rope_dim = hp.get("head_dim") or hp.get("hidden_size", hp.get("d_model")) // n_head
        w.add_rope_dimension_count(rope_dim)
        w.add_context_length(hp.get("max_sequence_length", 4096))
        w.add_embedding_length(hp.get("d_model", 4096))
        w.add_feed_forward_length(hp.get("mlp_hidden_size", 12288))
        w.add_causal_attention(False)
        w.add_diffusion_shift_logits(False)
    else:
        # DreamModel.set_gguf_parameters
        w.add_causal_attention(False)
        if hp.get("mask_token_id") is not None:
            w.add_mask_token_id(hp["mask_token_id"])

    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    # ---- vocabulary (TextModel.prepare_metadata -> set_vocab -> _set_vocab_gpt2) ----
    tokens, toktypes = vocab_base(hf_dir, hp["vocab_size"])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre or DEFAULT_PRE[arch])
    w.add_token_list(tokens)
    w.add_token_types(toktypes)
    special = gguf.SpecialVocab(hf_dir, load_merges=True)
    special.add_to_gguf(w, quiet=True)
    if arch == "llada":
        w.add_add_bos_token(True)


def export(hf_dir, out_path, qtype: str = "f32", pre: str | None = None) -> dict:
    """Write OUT.gguf; returns {tensor_name: ggml type name} for reporting."""
    hf_dir = Path(hf_dir)
    out_path = Path(out_path)
    tensor_qtype, ftype = QTYPES[qtype]
    hp = json.loads((hf_dir / "config.json").read_text())
    arch = detect_arch(hp)
    model_arch = gguf.MODEL_ARCH.LLADA if arch == "llada" else gguf.MODEL_ARCH.DREAM
    block_count = _find(hp, ["n_layers", "num_hidden_layers", "n_layer", "num_layers"], optional=False)
    tmap = gguf.get_tensor_name_map(model_arch, block_count)

    w = gguf.GGUFWriter(path=None, arch=gguf.MODEL_ARCH_NAMES[model_arch])
    written: dict[str, str] = {}

    # ---- tensors (prepare_tensors) ----
    n_head = _find(hp, ["num_attention_heads", "n_heads"], optional=False)
    n_kv_head = _find(hp, ["num_key_value_heads", "n_kv_heads"])
    for name, data in iter_hf_tensors(hf_dir):
        if name.endswith((".attention.masked_bias", ".attention.bias", ".rotary_emb.inv_freq")):
            continue
        if data.dtype not in (np.float16, np.float32):
            data = data.astype(np.float32)
        if arch == "llada":
            if name.endswith(("q_proj.weight", "q_proj.bias")):
                data = permute(data, n_head, n_head)
            if name.endswith(("k_proj.weight", "k_proj.bias")):
                data = permute(data, n_head, n_kv_head)
        new_name = tmap.get_name(key=name, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            raise ValueError(f"Can not map tensor {name!r}")
        n_dims = data.ndim
        if n_dims <= 1 or new_name.endswith("_norm.weight"):
            dq = gguf.GGMLQuantizationType.F32
        elif not new_name.endswith(".weight"):
            dq = gguf.GGMLQuantizationType.F32
        else:
            dq = tensor_qtype
        try:
            qdata = gguf.quants.quantize(np.ascontiguousarray(data), dq)
        except gguf.QuantError as e:
            log.info("%s: %s, falling back to F16", new_name, e)
            dq = gguf.GGMLQuantizationType.F16
            qdata = gguf.quants.quantize(np.ascontiguousarray(data), dq)
        w.add_tensor(new_name, qdata, raw_dtype=dq)
        written[new_name] = dq.name

    add_metadata(w, hf_dir, hp, ftype, pre)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    w.write_header_to_file(path=out_path)
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hf_dir", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--type", default="f32", choices=sorted(QTYPES))
    ap.add_argument("--pre", default=None, help="tokenizer.ggml.pre value (default: llama-bpe for LLaDA, qwen2 for Dream)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR)
    written = export(args.hf_dir, args.out, args.type, args.pre)
    if args.verbose:
        for k, v in written.items():
            print(f"{k:32s} {v}")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {len(written)} tensors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
