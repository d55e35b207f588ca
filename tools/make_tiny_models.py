#!/usr/bin/env python3
"""Build small random-weight LLaDA and Dream models and golden vectors
computed by the OFFICIAL PyTorch implementations.

    python3 tools/make_tiny_models.py --llada-code DIR --dream-code DIR \
        --out-models tests/models --out-golden tests/golden

--llada-code DIR  holds modeling_llada.py + configuration_llada.py (as published
                  with GSAI-ML/LLaDA-8B-Instruct) and generate.py (ML-GSAI/LLaDA)
--dream-code DIR  holds modeling_dream.py, configuration_dream.py,
                  generation_utils.py (as published with Dream-org/Dream-v0-Instruct-7B)

The official code is only read from those directories (it is not part of this
repository). Needs torch, transformers (the official code was written for
4.46.x; run with transformers==4.46.2), tokenizers, numpy and gguf.
Everything is seeded and single-threaded: two runs give identical bytes.
See tests/golden/README.md (written by this script) for the file formats.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_common as gc  # noqa: E402
import gguf_export  # noqa: E402

# --------------------------------------------------------------------------
# Chat templates and regexes of the real models (tokenizer_config.json of
# GSAI-ML/LLaDA-8B-Instruct and Dream-org/Dream-v0-Instruct-7B).
# --------------------------------------------------------------------------

LLADA_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
)

DREAM_CHAT_TEMPLATE = (
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n    {%- else %}\n        {{- 'You are a helpful assistant.' }}\n"
    "    {%- endif %}\n    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query."
    "\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": "
    "<args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n"
    "{%- for message in messages %}\n    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) "
    "or (message.role == \"assistant\" and not message.tool_calls) %}\n        {{- '<|im_start|>' + message.role + '\\n' "
    "+ message.content + '<|im_end|>' + '\\n' }}\n    {%- elif message.role == \"assistant\" %}\n"
    "        {{- '<|im_start|>' + message.role }}\n        {%- if message.content %}\n            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n        {%- for tool_call in message.tool_calls %}\n            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n        {%- endfor %}\n        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n        {%- endif %}\n        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n"
)

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# --------------------------------------------------------------------------
# Model shapes and special tokens
# --------------------------------------------------------------------------

# LLaDA special tokens in the order of the real tokenizer (ids 126080..126348
# there); "<|reserved_token_N|>" fill gaps as in the real vocabulary.
LLADA_SPECIALS = [
    "<|startoftext|>", "<|endoftext|>", "[CLS]", "[gMASK]",
    "<|reserved_token_0|>", "<|reserved_token_1|>", "<|reserved_token_2|>", "<|reserved_token_3|>",
    "<|mdm_mask|>", "<|reserved_token_5|>",
    "<role>", "</role>", "<|arithmetic_start|>", "<|arithmetic_end|>", "<|number_start|>", "<|number_end|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
]
LLADA_ODD_SPECIALS = [
    "<|startoftext|>", "<|endoftext|>", "[CLS]", "[gMASK]", "<|mdm_mask|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
]
# Dream: (content, special). <tool_call>/</tool_call> are non-special added
# tokens in the real Qwen2/Dream vocabulary (USER_DEFINED in GGUF).
DREAM_SPECIALS = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
    ("<tool_call>", False), ("</tool_call>", False), ("<|beginoftext|>", True), ("<|mask|>", True),
]

LLADA_TINY = dict(name="llada-tiny", d_model=96, n_heads=3, n_kv_heads=3, n_layers=2, mlp_hidden_size=160,
                  vocab_size=384, n_regular=336, specials=LLADA_SPECIALS, seed=1001)
LLADA_ODD = dict(name="llada-odd", d_model=60, n_heads=3, n_kv_heads=3, n_layers=2, mlp_hidden_size=100,
                 vocab_size=300, n_regular=280, specials=LLADA_ODD_SPECIALS, seed=1002)
DREAM_TINY = dict(name="dream-tiny", hidden_size=160, num_attention_heads=4, num_key_value_heads=2,
                  num_hidden_layers=2, intermediate_size=144, vocab_size=352, n_regular=332,
                  specials=DREAM_SPECIALS, seed=2001)


# --------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------

def training_texts() -> list[str]:
    files = sorted(set(os.path.realpath(p) for p in glob.glob("/usr/share/common-licenses/*")))
    files = [f for f in files if os.path.isfile(f)]
    texts = [Path(f).read_text(encoding="utf-8", errors="replace") for f in files]
    if sum(map(len, texts)) < 50000:  # fallback: python stdlib docstrings
        import inspect
        import json as _j, os as _o, re as _r, string as _s, textwrap as _t
        texts += [inspect.getdoc(m) or "" for m in (_j, _o, _r, _s, _t)]
    return texts


def train_bpe(style: str, n_regular: int, specials, texts):
    """Byte-level BPE. style 'llada' = LLaMA-3 regex + ByteLevel(use_regex=False)
    (merges stored as legacy "a b" strings); style 'dream' = Qwen2 layout
    (NFC normalizer, Qwen2 regex; merges stored as [a, b] pairs)."""
    from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,
                            pre_tokenizers, processors, trainers)
    tok = Tokenizer(models.BPE())
    if style == "llada":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
        tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    else:
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
        tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
        tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=n_regular, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False, min_frequency=2)
    tok.train_from_iterator(texts, trainer)
    assert tok.get_vocab_size() == n_regular, tok.get_vocab_size()
    for s in specials:
        content, special = (s, True) if isinstance(s, str) else s
        at = AddedToken(content, special=special, normalized=False, lstrip=False, rstrip=False, single_word=False)
        (tok.add_special_tokens if special else tok.add_tokens)([at])
    j = json.loads(tok.to_str())
    if style == "llada":
        j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]
    return j


def added_tokens_decoder(tj: dict) -> dict:
    return {str(a["id"]): {k: a[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
            for a in tj["added_tokens"]}


def tok_id(tj: dict, content: str) -> int:
    for a in tj["added_tokens"]:
        if a["content"] == content:
            return a["id"]
    return tj["model"]["vocab"][content]


# --------------------------------------------------------------------------
# HF directories
# --------------------------------------------------------------------------

def save_safetensors(path: Path, tensors: dict[str, np.ndarray], dtype: str) -> int:
    import torch
    from safetensors.torch import save_file
    tt = {}
    for k, v in tensors.items():
        t = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
        tt[k] = t.to(torch.bfloat16) if dtype == "bf16" else t
    save_file(tt, str(path), metadata={"format": "pt"})
    return sum(t.numel() * t.element_size() for t in tt.values())


def mask_id_of(spec: dict) -> int:
    names = [t if isinstance(t, str) else t[0] for t in spec["specials"]]
    return spec["n_regular"] + names.index("<|mask|>" if "<|mask|>" in names else "<|mdm_mask|>")


# Weight recipe (all N(0, std) from numpy default_rng(seed), float32):
#   embeddings std 1 (the mask token's row scaled by 0.1, so that masked
#   positions are driven by their context and generation is not one token
#   repeated), q/k std 2/sqrt(d) (clearly position-dependent attention),
#   v and MLP-in std 1/sqrt(d), attention/MLP output std 0.5/sqrt(fan_in),
#   norms 1 + 0.1 N(0,1), LM head std 3/sqrt(d) (logit spread of a few units)
#   except the rows of the mask token and of the ids the tokenizer does not
#   have (scaled by 0.05), so that - as in the real models - those ids are
#   never predicted (the official samplers do not exclude them).
def _quiet_rows(head: np.ndarray, spec: dict) -> None:
    head[mask_id_of(spec)] *= 0.05
    head[spec["n_regular"] + len(spec["specials"]):] *= 0.05


def llada_weights(spec: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(spec["seed"])
    d, L, ff, V = spec["d_model"], spec["n_layers"], spec["mlp_hidden_size"], spec["vocab_size"]
    hd = d // spec["n_heads"]
    kvd = spec["n_kv_heads"] * hd
    f = lambda *shape, std: (rng.standard_normal(shape) * std).astype(np.float32)  # noqa: E731
    norm = lambda: (1.0 + 0.1 * rng.standard_normal(d)).astype(np.float32)  # noqa: E731
    W = {"model.transformer.wte.weight": f(V, d, std=1.0)}
    W["model.transformer.wte.weight"][mask_id_of(spec)] *= 0.1
    for i in range(L):
        p = f"model.transformer.blocks.{i}."
        W[p + "attn_norm.weight"] = norm()
        W[p + "q_proj.weight"] = f(d, d, std=2.0 / np.sqrt(d))
        W[p + "k_proj.weight"] = f(kvd, d, std=2.0 / np.sqrt(d))
        W[p + "v_proj.weight"] = f(kvd, d, std=1.0 / np.sqrt(d))
        W[p + "attn_out.weight"] = f(d, d, std=0.5 / np.sqrt(d))
        W[p + "ff_norm.weight"] = norm()
        W[p + "ff_proj.weight"] = f(ff, d, std=1.0 / np.sqrt(d))
        W[p + "up_proj.weight"] = f(ff, d, std=1.0 / np.sqrt(d))
        W[p + "ff_out.weight"] = f(d, ff, std=0.5 / np.sqrt(ff))
    W["model.transformer.ln_f.weight"] = norm()
    W["model.transformer.ff_out.weight"] = f(V, d, std=3.0 / np.sqrt(d))
    _quiet_rows(W["model.transformer.ff_out.weight"], spec)
    return W


def dream_weights(spec: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(spec["seed"])
    d, L, ff, V = spec["hidden_size"], spec["num_hidden_layers"], spec["intermediate_size"], spec["vocab_size"]
    hd = d // spec["num_attention_heads"]
    kvd = spec["num_key_value_heads"] * hd
    f = lambda *shape, std: (rng.standard_normal(shape) * std).astype(np.float32)  # noqa: E731
    norm = lambda: (1.0 + 0.1 * rng.standard_normal(d)).astype(np.float32)  # noqa: E731
    W = {"model.embed_tokens.weight": f(V, d, std=1.0)}
    W["model.embed_tokens.weight"][mask_id_of(spec)] *= 0.1
    for i in range(L):
        p = f"model.layers.{i}."
        W[p + "input_layernorm.weight"] = norm()
        W[p + "self_attn.q_proj.weight"] = f(d, d, std=2.0 / np.sqrt(d))
        W[p + "self_attn.q_proj.bias"] = f(d, std=0.2)
        W[p + "self_attn.k_proj.weight"] = f(kvd, d, std=2.0 / np.sqrt(d))
        W[p + "self_attn.k_proj.bias"] = f(kvd, std=0.2)
        W[p + "self_attn.v_proj.weight"] = f(kvd, d, std=1.0 / np.sqrt(d))
        W[p + "self_attn.v_proj.bias"] = f(kvd, std=0.2)
        W[p + "self_attn.o_proj.weight"] = f(d, d, std=0.5 / np.sqrt(d))
        W[p + "post_attention_layernorm.weight"] = norm()
        W[p + "mlp.gate_proj.weight"] = f(ff, d, std=1.0 / np.sqrt(d))
        W[p + "mlp.up_proj.weight"] = f(ff, d, std=1.0 / np.sqrt(d))
        W[p + "mlp.down_proj.weight"] = f(d, ff, std=0.5 / np.sqrt(ff))
    W["model.norm.weight"] = norm()
    W["lm_head.weight"] = f(V, d, std=3.0 / np.sqrt(d))
    _quiet_rows(W["lm_head.weight"], spec)
    return W


def llada_config(spec: dict, tj: dict) -> dict:
    """Exactly the keys of GSAI-ML/LLaDA-8B-Instruct config.json."""
    eos = tok_id(tj, "<|endoftext|>")
    return {
        "activation_type": "silu", "alibi": False, "alibi_bias_max": 8.0,
        "architectures": ["LLaDAModelLM"], "attention_dropout": 0.0, "attention_layer_norm": False,
        "attention_layer_norm_with_affine": True,
        "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig",
                     "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
                     "AutoModel": "modeling_llada.LLaDAModelLM"},
        "bias_for_layer_norm": False, "block_group_size": 1, "block_type": "llama",
        "d_model": spec["d_model"], "embedding_dropout": 0.0, "embedding_size": spec["vocab_size"],
        "eos_token_id": eos, "flash_attention": False, "include_bias": False, "include_qkv_bias": False,
        "init_cutoff_factor": None, "init_device": "meta", "init_fn": "mitchell", "init_std": 0.02,
        "input_emb_norm": False, "layer_norm_type": "rms", "layer_norm_with_affine": True,
        "mask_token_id": tok_id(tj, "<|mdm_mask|>"), "max_sequence_length": 4096,
        "mlp_hidden_size": spec["mlp_hidden_size"], "mlp_ratio": 4, "model_type": "llada",
        "multi_query_attention": None, "n_heads": spec["n_heads"], "n_kv_heads": spec["n_kv_heads"],
        "n_layers": spec["n_layers"], "pad_token_id": eos, "precision": "amp_bf16", "residual_dropout": 0.0,
        "rms_norm_eps": 1e-05, "rope": True, "rope_full_precision": True, "rope_theta": 500000.0,
        "scale_logits": False, "transformers_version": "4.46.3", "use_cache": False,
        "vocab_size": spec["vocab_size"], "weight_tying": False,
    }


def dream_config(spec: dict, tj: dict, dtype: str = "float32") -> dict:
    """Exactly the keys of Dream-org/Dream-v0-Instruct-7B config.json."""
    eos = tok_id(tj, "<|endoftext|>")
    return {
        "_name_or_path": spec["name"], "architectures": ["DreamModel"], "attention_dropout": 0.0,
        "auto_map": {"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
        "bos_token_id": eos, "eos_token_id": eos, "hidden_act": "silu", "hidden_size": spec["hidden_size"],
        "initializer_range": 0.02, "intermediate_size": spec["intermediate_size"],
        "mask_token_id": tok_id(tj, "<|mask|>"), "max_position_embeddings": 131072, "max_window_layers": 28,
        "model_type": "Dream", "num_attention_heads": spec["num_attention_heads"],
        "num_hidden_layers": spec["num_hidden_layers"], "num_key_value_heads": spec["num_key_value_heads"],
        "pad_token_id": eos, "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 1000000.0,
        "sliding_window": None, "tie_word_embeddings": False, "torch_dtype": dtype,
        "transformers_version": "4.46.2", "use_cache": True, "use_mrope": False, "use_sliding_window": False,
        "vocab_size": spec["vocab_size"],
    }


def write_llada_dir(out: Path, spec: dict, tj: dict, W: dict, dtype: str = "f32") -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cfg = llada_config(spec, tj)
    gc.write_json(out / "config.json", cfg)
    save_safetensors(out / "model.safetensors", W, dtype)
    (out / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False, indent=1) + "\n")
    bos, eos = tok_id(tj, "<|startoftext|>"), tok_id(tj, "<|endoftext|>")
    extra = [t for t in ["<role>", "</role>", "<|arithmetic_start|>", "<|arithmetic_end|>",
                         "<|number_start|>", "<|number_end|>"] if t in spec["specials"]]
    tc = {
        "add_bos_token": False, "add_eos_token": False, "added_tokens_decoder": added_tokens_decoder(tj),
        "additional_special_tokens": extra, "bos_token": "<|startoftext|>", "chat_template": LLADA_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False, "cls_token": "[CLS]", "eos_token": "<|endoftext|>",
        "fast_tokenizer": True, "gmask_token": "[gMASK]", "merges_file": None,
        "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<|endoftext|>", "tokenizer_class": "PreTrainedTokenizerFast", "trust_remote_code": True,
        "vocab_file": None,
    }
    gc.write_json(out / "tokenizer_config.json", tc)
    tokd = lambda c: {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}  # noqa: E731
    gc.write_json(out / "special_tokens_map.json", {
        "additional_special_tokens": extra, "bos_token": tokd("<|startoftext|>"), "cls_token": tokd("[CLS]"),
        "eos_token": tokd("<|endoftext|>"), "pad_token": tokd("<|endoftext|>")})
    gc.write_json(out / "generation_config.json", {"_from_model_config": True, "bos_token_id": bos,
                                                   "eos_token_id": eos, "transformers_version": "4.38.2"})
    return cfg


def write_dream_dir(out: Path, spec: dict, tj: dict, W: dict) -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cfg = dream_config(spec, tj)
    gc.write_json(out / "config.json", cfg)
    # two shards: embeddings + layer 0 | the rest (names sorted like HF does)
    names = list(W)
    first = [n for n in names if n.startswith("model.embed_tokens") or n.startswith("model.layers.0.")]
    second = [n for n in names if n not in first]
    shards = {"model-00001-of-00002.safetensors": first, "model-00002-of-00002.safetensors": second}
    total = 0
    weight_map = {}
    for fname, ns in shards.items():
        total += save_safetensors(out / fname, {n: W[n] for n in ns}, "f32")
        weight_map.update({n: fname for n in ns})
    gc.write_json(out / "model.safetensors.index.json",
                  {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    (out / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False, indent=1) + "\n")
    # the real Dream ships the slow-tokenizer files too
    vocab = tj["model"]["vocab"]
    gc.write_json(out / "vocab.json", vocab)
    (out / "merges.txt").write_text("#version: 0.2\n" + "".join(" ".join(m) + "\n" for m in tj["model"]["merges"]))
    tc = {
        "add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": added_tokens_decoder(tj),
        "additional_special_tokens": ["<|beginoftext|>", "<|mask|>"], "bos_token": "<|beginoftext|>",
        "chat_template": DREAM_CHAT_TEMPLATE, "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>",
        "errors": "replace", "mask_token": "<|mask|>", "model_max_length": 131072, "pad_token": "<|endoftext|>",
        "split_special_tokens": False, "tokenizer_class": "Qwen2TokenizerFast", "unk_token": None,
    }
    gc.write_json(out / "tokenizer_config.json", tc)
    tokd = lambda c: {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}  # noqa: E731
    gc.write_json(out / "special_tokens_map.json", {
        "additional_special_tokens": ["<|beginoftext|>", "<|mask|>"], "bos_token": tokd("<|beginoftext|>"),
        "eos_token": tokd("<|endoftext|>"), "mask_token": tokd("<|mask|>"), "pad_token": tokd("<|endoftext|>")})
    eos = tok_id(tj, "<|endoftext|>")
    gc.write_json(out / "generation_config.json", {
        "_from_model_config": True, "alg": "origin", "alg_temp": None, "bos_token_id": eos, "eos_token_id": eos,
        "eps": 0.001, "mask_token_id": None, "output_history": False, "pad_token_id": eos, "steps": 512,
        "temperature": 0.0, "top_k": None, "top_p": None, "transformers_version": "4.46.2"})
    return cfg


# --------------------------------------------------------------------------
# Official models
# --------------------------------------------------------------------------

class Official:
    def __init__(self, llada_code: Path, dream_code: Path):
        import torch
        self.torch = torch
        self.llada_mod = gc.import_official(llada_code, "llada_official", "modeling_llada")
        self.llada_gen = gc.import_official(llada_code, "llada_official", "generate")
        self.dream_mod = gc.import_official(dream_code, "dream_official", "modeling_dream")

    def load_llada(self, d: Path):
        m = self.llada_mod.LLaDAModelLM.from_pretrained(str(d), torch_dtype=self.torch.float32)
        return m.eval()

    def load_dream(self, d: Path):
        m = self.dream_mod.DreamModel.from_pretrained(str(d), torch_dtype=self.torch.float32)
        return m.eval()

    def logits(self, model, ids) -> np.ndarray:
        torch = self.torch
        with torch.no_grad():
            out = model(torch.tensor([list(ids)], dtype=torch.long)).logits
        return out[0].float().numpy()


def check_state_dict(model, W: dict, tol: float = 0.0) -> None:
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    assert set(sd) == set(W), (sorted(set(sd) ^ set(W)))
    for k in W:
        err = np.max(np.abs(sd[k] - W[k]))
        assert err <= tol, (k, err)


def round_bf16(W: dict) -> dict:
    out = {}
    for k, v in W.items():
        u = np.ascontiguousarray(v, dtype=np.float32).view(np.uint32).astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even (no NaNs here)
        out[k] = ((u.astype(np.uint32)) << 16).view(np.float32)
    return out


# --------------------------------------------------------------------------
# Golden logits
# --------------------------------------------------------------------------

def logits_goldens(name: str, out_dir: Path, seqs: list, official_fn, ref_fn, report: list,
                   write_f64: bool = True, rel_tol: float = 2e-5) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for k, ids in enumerate(seqs):
        ref64 = ref_fn(ids, np.float64)
        ref32 = ref_fn(ids, np.float32)
        gc.write_ids(out_dir / f"logits_{k}.ids", ids)
        if official_fn is not None:
            off = official_fn(ids)
            e64 = gc.max_rel_err(off, ref64)
            e32 = gc.max_rel_err(off, ref32)
            gc.write_f32(out_dir / f"logits_{k}.f32", off)
            line = (f"{name} logits_{k}: n={len(ids)} official-fp32 vs numpy-f64 max rel err {e64:.2e}, "
                    f"vs numpy-f32 {e32:.2e}")
            assert e64 < rel_tol, line
        else:
            gc.write_f32(out_dir / f"logits_{k}.f32", ref64)
            line = f"{name} logits_{k}: n={len(ids)} (numpy-f64 reference only)"
        if write_f64:
            gc.write_f64(out_dir / f"logits_{k}.f64", ref64)
        print("  " + line)
        report.append(line)


# --------------------------------------------------------------------------
# Golden generation
# --------------------------------------------------------------------------

def _capture(model, store: list):
    torch = __import__("torch")

    def hook(mod, args, kwargs, output):
        x = args[0] if args else kwargs.get("input_ids")
        store.append((x.detach().clone(), output.logits.detach().float().clone()))
    return model.register_forward_hook(hook, with_kwargs=True), torch


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def llada_generate_golden(off: Official, model, prompt_ids, params: dict, mask_id: int) -> dict:
    torch = off.torch
    calls: list = []
    h, _ = _capture(model, calls)
    prompt = torch.tensor([prompt_ids], dtype=torch.long)
    kw = dict(params)
    am = kw.pop("attention_mask")
    attn = torch.ones_like(prompt) if am == "ones" else None
    try:
        out = off.llada_gen.generate(model, prompt, attention_mask=attn, mask_id=mask_id, **kw)
    finally:
        h.remove()
    full = out[0].tolist()
    P = len(prompt_ids)
    # trace + margins: per step, committed positions and decision margins
    xs = [c[0][0].numpy() for c in calls] + [np.array(full)]
    trace, min_conf_gap, min_top2 = [], float("inf"), float("inf")
    nb = params["gen_length"] // params["block_length"]
    spb = params["steps"] // nb
    for s, (x_in, logits) in enumerate(calls):
        lg = logits.numpy()
        if params["cfg_scale"] > 0:
            lg = lg[1] + (params["cfg_scale"] + 1) * (lg[0] - lg[1])
        else:
            lg = lg[0]
        xi = x_in[0].numpy()
        xo = xs[s + 1]
        committed = [int(i) for i in np.nonzero((xi == mask_id) & (xo != mask_id))[0]]
        trace.append(committed)
        blk = s // spb
        end = P + (blk + 1) * params["block_length"]
        cand = [i for i in range(len(xi)) if xi[i] == mask_id and i < end]
        p = _softmax(lg.astype(np.float64))
        conf = {i: p[i].max() for i in cand}
        order = sorted(cand, key=lambda i: -conf[i])
        kk = len(committed)
        assert sorted(order[:kk]) == committed or abs(conf[order[kk - 1]] - conf[order[kk]]) < 1e-6, \
            "selection mismatch"
        if 0 < kk < len(order):
            min_conf_gap = min(min_conf_gap, conf[order[kk - 1]] - conf[order[kk]])
        for i in committed:
            srt = np.sort(lg[i])[::-1]
            min_top2 = min(min_top2, float(srt[0] - srt[1]))
            assert int(np.argmax(lg[i])) == xo[i]
    return {"full_ids": full, "output_ids": full[P:], "trace": trace,
            "diagnostics": {"forward_calls": len(calls), "min_confidence_gap_at_cut": float(min_conf_gap),
                            "min_top1_top2_logit_gap_committed": float(min_top2)}}


def dream_generate_golden(off: Official, model, prompt_ids, params: dict, mask_id: int) -> dict:
    torch = off.torch
    calls: list = []
    h, _ = _capture(model, calls)
    try:
        out = model.diffusion_generate(torch.tensor([prompt_ids], dtype=torch.long), **params)
    finally:
        h.remove()
    full = out[0].tolist()
    P = len(prompt_ids)
    xs = [c[0][0].numpy() for c in calls] + [np.array(full)]
    trace, min_conf_gap, min_top2 = [], float("inf"), float("inf")
    for s, (x_in, logits) in enumerate(calls):
        lg = logits[0].numpy()
        lg = np.concatenate([lg[:1], lg[:-1]], axis=0)  # the shift done by generation_utils
        xi = x_in[0].numpy()
        xo = xs[s + 1]
        committed = [int(i) for i in np.nonzero((xi == mask_id) & (xo != mask_id))[0]]
        trace.append(committed)
        cand = [int(i) for i in np.nonzero(xi == mask_id)[0]]
        p = _softmax(lg.astype(np.float64))
        alg = params["alg"]
        def conf_of(i):
            if alg == "maskgit_plus":
                return p[i].max()
            if alg == "topk_margin":
                srt = np.sort(p[i])[::-1]
                return srt[0] - srt[1]
            return float(np.sum(p[i] * np.log(p[i] + 1e-10)))
        conf = {i: conf_of(i) for i in cand}
        order = sorted(cand, key=lambda i: -conf[i])
        kk = len(committed)
        if kk and kk < len(order):
            min_conf_gap = min(min_conf_gap, conf[order[kk - 1]] - conf[order[kk]])
        for i in committed:
            srt = np.sort(lg[i])[::-1]
            min_top2 = min(min_top2, float(srt[0] - srt[1]))
            assert int(np.argmax(lg[i])) == xo[i]
    return {"full_ids": full, "output_ids": full[P:], "trace": trace,
            "diagnostics": {"forward_calls": len(calls), "min_confidence_gap_at_cut": float(min_conf_gap),
                            "min_top1_top2_logit_gap_committed": float(min_top2)}}


# --------------------------------------------------------------------------
# GGUF checks
# --------------------------------------------------------------------------

def gguf_to_hf_weights(path: Path, hf_names: list[str], arch: str, cfg: dict) -> tuple[dict, dict]:
    """Read a GGUF back, dequantize, map to HF names. LLaDA q/k stay in the
    permuted (llama.cpp) order; returns (weights, ggml types)."""
    import gguf
    model_arch = gguf.MODEL_ARCH.LLADA if arch == "llada" else gguf.MODEL_ARCH.DREAM
    nl = cfg.get("n_layers", cfg.get("num_hidden_layers"))
    tmap = gguf.get_tensor_name_map(model_arch, nl)
    rev = {tmap.get_name(n, try_suffixes=(".weight", ".bias")): n for n in hf_names}
    r = gguf.GGUFReader(str(path))
    W, T = {}, {}
    for t in r.tensors:
        shape = [int(x) for x in reversed(list(t.shape))]
        arr = gguf.quants.dequantize(np.array(t.data), t.tensor_type).reshape(shape).astype(np.float32)
        W[rev[t.name]] = arr
        T[t.name] = t.tensor_type.name
    return W, T


def gguf_kv_summary(path: Path) -> list[str]:
    import gguf
    r = gguf.GGUFReader(str(path))
    out = []
    for f in r.fields.values():
        if f.name.startswith("GGUF."):
            continue
        tname = f.types[0].name if f.types else "?"
        if f.types and f.types[0] == gguf.GGUFValueType.ARRAY:
            tname = f"ARRAY[{f.types[-1].name}] x{len(f.data)}"
            val = ""
        else:
            try:
                val = f.contents()
            except Exception:  # pragma: no cover
                val = "?"
            if isinstance(val, str) and len(val) > 60:
                val = val[:57] + "..."
        out.append(f"{f.name} : {tname} = {val!r}" if val != "" else f"{f.name} : {tname}")
    return out


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def sha256(p: Path) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llada-code", type=Path, required=True)
    ap.add_argument("--dream-code", type=Path, required=True)
    ap.add_argument("--out-models", type=Path, default=Path("tests/models"))
    ap.add_argument("--out-golden", type=Path, default=Path("tests/golden"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    t0 = time.time()

    import torch
    import transformers
    import tokenizers
    import gguf  # noqa: F401
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if not transformers.__version__.startswith("4.46"):
        print(f"WARNING: transformers {transformers.__version__}; the official code targets 4.46.x", file=sys.stderr)

    M, G = args.out_models, args.out_golden
    M.mkdir(parents=True, exist_ok=True)
    G.mkdir(parents=True, exist_ok=True)
    report: list[str] = []
    off = Official(args.llada_code, args.dream_code)

    # ---------------- tokenizers ----------------
    texts = training_texts()
    tj_llada = train_bpe("llada", LLADA_TINY["n_regular"], LLADA_SPECIALS, texts)
    tj_odd = train_bpe("llada", LLADA_ODD["n_regular"], LLADA_ODD_SPECIALS, texts)
    tj_dream = train_bpe("dream", DREAM_TINY["n_regular"], DREAM_SPECIALS, texts)

    # ---------------- HF dirs ----------------
    W_ll = llada_weights(LLADA_TINY)
    W_odd = llada_weights(LLADA_ODD)
    W_dr = dream_weights(DREAM_TINY)
    cfg_ll = write_llada_dir(M / "llada-tiny", LLADA_TINY, tj_llada, W_ll)
    cfg_odd = write_llada_dir(M / "llada-odd", LLADA_ODD, tj_odd, W_odd)
    W_odd_bf = round_bf16(W_odd)
    write_llada_dir(M / "llada-odd-bf16", LLADA_ODD, tj_odd, W_odd, dtype="bf16")
    cfg_dr = write_dream_dir(M / "dream-tiny", DREAM_TINY, tj_dream, W_dr)
    for spec, cfg in ((LLADA_TINY, cfg_ll), (LLADA_ODD, cfg_odd), (DREAM_TINY, cfg_dr)):
        assert cfg["mask_token_id"] == mask_id_of(spec), spec["name"]

    # ---------------- official models ----------------
    from transformers import AutoTokenizer
    m_ll = off.load_llada(M / "llada-tiny")
    check_state_dict(m_ll, W_ll)
    m_odd = off.load_llada(M / "llada-odd")
    check_state_dict(m_odd, W_odd)
    m_odd_bf = off.load_llada(M / "llada-odd-bf16")
    check_state_dict(m_odd_bf, W_odd_bf)
    m_dr = off.load_dream(M / "dream-tiny")
    check_state_dict(m_dr, W_dr)
    # llada-tiny with its weights rounded to bf16 (what llada-tiny-bf16.gguf holds), fp32 compute
    W_ll_bf = round_bf16(W_ll)
    m_ll_bf = off.load_llada(M / "llada-tiny")
    with torch.no_grad():
        for k, v in m_ll_bf.state_dict().items():
            v.copy_(v.to(torch.bfloat16).to(torch.float32))
    check_state_dict(m_ll_bf, W_ll_bf)

    tok_ll = AutoTokenizer.from_pretrained(str(M / "llada-tiny"))
    tok_odd = AutoTokenizer.from_pretrained(str(M / "llada-odd"))
    tok_dr = AutoTokenizer.from_pretrained(str(M / "dream-tiny"))

    text_a = "The quick brown fox jumps over the lazy dog near the river bank."
    text_long = ("Everyone is permitted to copy and distribute verbatim copies of this license document, "
                 "but changing it is not allowed. The licenses for most software and other practical works "
                 "are designed to take away your freedom to share and change the works. By contrast, the "
                 "GNU General Public License is intended to guarantee your freedom to share and change all "
                 "versions of a program. 1234567890")
    chat_q = "What is the secret code of Alice? The code is 4417."

    def enc(tok, s):
        return tok(s, add_special_tokens=False)["input_ids"]

    def llada_seqs(tok, cfg, tj):
        bos = tok_id(tj, "<|startoftext|>")
        mask = cfg["mask_token_id"]
        chat = tok.apply_chat_template([{"role": "user", "content": chat_q}], add_generation_prompt=True,
                                       tokenize=False)
        chat_ids = enc(tok, chat)
        s = [[bos], enc(tok, text_a)[:7], chat_ids, [bos] + enc(tok, text_a)[:11] + [mask] * 28]
        long = [bos] + enc(tok, text_long)
        return s, long[:130], chat_ids

    seq_ll, long_ll, chat_ll = llada_seqs(tok_ll, cfg_ll, tj_llada)
    seq_odd, _, chat_odd = llada_seqs(tok_odd, cfg_odd, tj_odd)
    assert len(long_ll) == 130, len(long_ll)
    mask_dr = cfg_dr["mask_token_id"]
    chat_dr = tok_dr.apply_chat_template([{"role": "user", "content": chat_q}], add_generation_prompt=True,
                                         tokenize=True)
    long_dr = enc(tok_dr, text_long)[:130]
    assert len(long_dr) == 130
    seq_dr = [enc(tok_dr, " fox")[:1], enc(tok_dr, text_a)[:7], chat_dr, enc(tok_dr, text_a)[:12] + [mask_dr] * 28]
    assert len(seq_dr[0]) == 1 and len(seq_dr[1]) == 7

    # ---------------- golden logits ----------------
    print("golden logits:")
    lref = lambda W, cfg: (lambda ids, dt: gc.llada_forward_np(W, cfg, ids, dt))  # noqa: E731
    logits_goldens("llada-tiny", G / "llada-tiny", seq_ll + [long_ll], lambda ids: off.logits(m_ll, ids),
                   lref(W_ll, cfg_ll), report)
    logits_goldens("llada-tiny-bf16", G / "llada-tiny-bf16", seq_ll, lambda ids: off.logits(m_ll_bf, ids),
                   lref(W_ll_bf, cfg_ll), report)
    logits_goldens("llada-odd", G / "llada-odd", seq_odd, lambda ids: off.logits(m_odd, ids),
                   lref(W_odd, cfg_odd), report)
    logits_goldens("llada-odd-bf16", G / "llada-odd-bf16", seq_odd, lambda ids: off.logits(m_odd_bf, ids),
                   lref(W_odd_bf, cfg_odd), report)
    logits_goldens("dream-tiny", G / "dream-tiny", seq_dr + [long_dr], lambda ids: off.logits(m_dr, ids),
                   lambda ids, dt: gc.dream_forward_np(W_dr, cfg_dr, ids, dt), report)

    # ---------------- golden generation ----------------
    print("golden generation:")
    llada_sig = __import__("inspect").signature(off.llada_gen.generate)
    llada_defaults = {k: v.default for k, v in llada_sig.parameters.items()
                      if v.default is not __import__("inspect").Parameter.empty}

    def llada_gen_set(name, model, tj, cfg, tok, chat_ids, cases):
        d = G / name
        bos = tok_id(tj, "<|startoftext|>")
        for k, (prompt_kind, over) in enumerate(cases):
            if prompt_kind == "chat":
                prompt, ptxt = chat_ids, chat_q
            elif prompt_kind == "short":
                prompt, ptxt = [bos] + enc(tok, "Once upon a time there was"), None
            else:
                prompt, ptxt = [bos] + enc(tok, text_long)[:60], None
            params = {k2: v for k2, v in llada_defaults.items() if k2 not in ("attention_mask", "mask_id")}
            params.update(temperature=0.0, remasking="low_confidence", attention_mask="none")
            params.update(over)
            res = llada_generate_golden(off, model, prompt, params, cfg["mask_token_id"])
            p_out = dict(params)
            p_out["mask_id"] = cfg["mask_token_id"]
            doc = {"model": name, "function": "generate.generate (ML-GSAI/LLaDA)", "prompt_ids": prompt,
                   "prompt_text": ptxt, "params": p_out, "output_ids": res["output_ids"],
                   "full_ids": res["full_ids"], "trace": res["trace"], "diagnostics": res["diagnostics"]}
            if ptxt is not None:
                doc["prompt_text_note"] = "prompt_ids = tokenizer(apply_chat_template([{role: user, content: prompt_text}], add_generation_prompt=True, tokenize=False), add_special_tokens=False)"
            gc.write_json(d / f"gen_{k}.json", doc)
            line = (f"{name} gen_{k}: P={len(prompt)} {over} -> {res['output_ids']} "
                    f"diag={res['diagnostics']}")
            print("  " + line)
            report.append(line)

    llada_gen_set("llada-tiny", m_ll, tj_llada, cfg_ll, tok_ll, chat_ll, [
        ("short", dict(gen_length=16, block_length=8, steps=8)),
        ("short", dict(gen_length=16, block_length=16, steps=4)),
        ("long", dict(gen_length=24, block_length=8, steps=12)),
        ("short", dict(gen_length=16, block_length=8, steps=8, cfg_scale=1.0, attention_mask="ones")),
        ("chat", dict(gen_length=16, block_length=16, steps=16)),
        ("long", dict(gen_length=16, block_length=8, steps=6)),
        ("long", dict(gen_length=32, block_length=8, steps=32)),
    ])
    llada_gen_set("llada-odd", m_odd, tj_odd, cfg_odd, tok_odd, chat_odd, [
        ("short", dict(gen_length=16, block_length=8, steps=8)),
        ("chat", dict(gen_length=12, block_length=4, steps=6)),
    ])

    dream_cases = [
        ("short", dict(max_new_tokens=16, steps=8, alg="maskgit_plus")),
        ("short", dict(max_new_tokens=12, steps=5, alg="topk_margin")),
        ("long", dict(max_new_tokens=16, steps=16, alg="entropy")),
        ("long", dict(max_new_tokens=20, steps=7, alg="maskgit_plus")),
        ("chat", dict(max_new_tokens=16, steps=8, alg="entropy")),
    ]
    for k, (kind, over) in enumerate(dream_cases):
        if kind == "chat":
            prompt, ptxt = chat_dr, chat_q
        elif kind == "short":
            prompt, ptxt = enc(tok_dr, "Once upon a time there was"), None
        else:
            prompt, ptxt = enc(tok_dr, text_long)[:60], None
        params = dict(temperature=0.0, top_p=None, top_k=None, alg_temp=0.0, eps=1e-3,
                      output_history=False, return_dict_in_generate=False)
        params.update(over)
        res = dream_generate_golden(off, m_dr, prompt, params, mask_dr)
        p_out = {k2: v for k2, v in params.items() if k2 not in ("output_history", "return_dict_in_generate")}
        p_out["mask_token_id"] = mask_dr
        p_out["max_length"] = len(prompt) + params["max_new_tokens"]
        doc = {"model": "dream-tiny", "function": "DreamModel.diffusion_generate (generation_utils.py)",
               "prompt_ids": prompt, "prompt_text": ptxt, "params": p_out, "output_ids": res["output_ids"],
               "full_ids": res["full_ids"], "trace": res["trace"], "diagnostics": res["diagnostics"]}
        if ptxt is not None:
            doc["prompt_text_note"] = "prompt_ids = apply_chat_template([{role: user, content: prompt_text}], add_generation_prompt=True, tokenize=True) (default system prompt)"
        gc.write_json(G / "dream-tiny" / f"gen_{k}.json", doc)
        line = f"dream-tiny gen_{k}: P={len(prompt)} {over} -> {res['output_ids']} diag={res['diagnostics']}"
        print("  " + line)
        report.append(line)

    # ---------------- GGUF ----------------
    print("gguf:")
    ggufs = [("llada-tiny", "f32"), ("llada-tiny", "f16"), ("llada-tiny", "bf16"), ("llada-tiny", "q8_0"),
             ("llada-tiny", "q4_0"), ("dream-tiny", "f32"), ("dream-tiny", "q8_0"),
             ("llada-odd", "q8_0")]
    gguf_types: dict[str, dict] = {}
    import logging
    import tempfile
    logging.getLogger("gguf").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as td:
        # llada-tiny-bf16.gguf is converted from an all-BF16 HF dir (llada-tiny
        # rounded to bf16), like a real bf16 checkpoint: its F32 norms then hold
        # bf16 values too, so golden/llada-tiny-bf16 applies to it exactly.
        bf_dir = Path(td) / "llada-tiny-bf16"
        write_llada_dir(bf_dir, LLADA_TINY, tj_llada, W_ll, dtype="bf16")
        for base, qt in ggufs:
            path = M / f"{base}-{qt}.gguf"
            src = bf_dir if (base, qt) == ("llada-tiny", "bf16") else M / base
            gguf_types[path.name] = gguf_export.export(src, path, qt)
    # round-trip checks + numpy goldens for the dequantized weights
    specs = {"llada-tiny": (W_ll, cfg_ll, "llada", seq_ll), "llada-odd": (W_odd, cfg_odd, "llada", seq_odd),
             "dream-tiny": (W_dr, cfg_dr, "dream", seq_dr)}
    for base, qt in ggufs:
        path = M / f"{base}-{qt}.gguf"
        W, cfg, arch, seqs = specs[base]
        Wg, _ = gguf_to_hf_weights(path, list(W), arch, cfg)
        if qt == "f32":
            for n in W:
                w0 = W[n]
                if arch == "llada" and n.endswith("q_proj.weight"):
                    w0 = gguf_export.permute(w0, cfg["n_heads"], cfg["n_heads"])
                if arch == "llada" and n.endswith("k_proj.weight"):
                    w0 = gguf_export.permute(w0, cfg["n_heads"], cfg["n_kv_heads"])
                assert np.array_equal(w0, Wg[n]), n
        if arch == "llada":
            ref = lambda ids, dt, Wg=Wg, cfg=cfg: gc.llada_forward_np(Wg, cfg, ids, dt, rope_style="norm")  # noqa: E731
        else:
            ref = lambda ids, dt, Wg=Wg, cfg=cfg: gc.dream_forward_np(Wg, cfg, ids, dt)  # noqa: E731
        gdir = G / "gguf" / path.stem
        if qt == "f32":
            # permuted q/k + interleaved-pair RoPE must equal the HF checkpoint + half-split RoPE
            hf_ref = (lambda ids: gc.llada_forward_np(W, cfg, ids)) if arch == "llada" else \
                (lambda ids: gc.dream_forward_np(W, cfg, ids))
            for ids in seqs:
                e = gc.max_rel_err(ref(ids, np.float64), hf_ref(ids))
                assert e < 1e-12, (path.name, e)
            line = f"{path.name}: exact round trip; NORM-rope on GGUF == NeoX-rope on HF (f64 rel err < 1e-12)"
            print("  " + line)
            report.append(line)
            continue
        if base == "llada-tiny" and qt == "bf16":
            # bf16 GGUF holds exactly the bf16-rounded weights used for golden/llada-tiny-bf16
            for n in W:
                w0 = W_ll_bf[n]
                if n.endswith("q_proj.weight"):
                    w0 = gguf_export.permute(w0, cfg["n_heads"], cfg["n_heads"])
                if n.endswith("k_proj.weight"):
                    w0 = gguf_export.permute(w0, cfg["n_heads"], cfg["n_kv_heads"])
                assert np.array_equal(w0, Wg[n]), n
            line = f"{path.name}: weights == bf16(RNE)-rounded llada-tiny -> use golden/llada-tiny-bf16"
            print("  " + line)
            report.append(line)
            continue
        gdir.mkdir(parents=True, exist_ok=True)
        for k, ids in enumerate(seqs):
            lg = ref(ids, np.float64)
            gc.write_ids(gdir / f"logits_{k}.ids", ids)
            gc.write_f32(gdir / f"logits_{k}.f32", lg)
            base_lg = (gc.llada_forward_np(W, cfg, ids) if arch == "llada" else gc.dream_forward_np(W, cfg, ids))
            line = (f"{path.name} logits_{k}: numpy-f64 on dequantized GGUF weights; differs from the "
                    f"unquantized model by max rel {gc.max_rel_err(lg, base_lg):.2e}")
            print("  " + line)
            report.append(line)

    # ---------------- README ----------------
    sizes = []
    for p in sorted(M.rglob("*")):
        if p.is_file():
            sizes.append(f"{p.relative_to(M)}  {p.stat().st_size}")
    kv_ll = gguf_kv_summary(M / "llada-tiny-q8_0.gguf")
    kv_dr = gguf_kv_summary(M / "dream-tiny-q8_0.gguf")
    code_hashes = []
    for d in (args.llada_code, args.dream_code):
        for f in sorted(Path(d).glob("*.py")):
            code_hashes.append(f"{sha256(f)}  {d.name}/{f.name}")
        src = Path(d) / "SOURCE.txt"
        if src.is_file():
            code_hashes.append(src.read_text().rstrip())
    write_readme(G / "README.md", dict(
        torch=torch.__version__, transformers=transformers.__version__, tokenizers=tokenizers.__version__,
        numpy=np.__version__, gguf=_pkg_version("gguf"), python=platform.python_version(),
        code=code_hashes, report=report, sizes=sizes, kv_ll=kv_ll, kv_dr=kv_dr, gguf_types=gguf_types,
        ids={"llada-tiny": _ids_summary(tj_llada, cfg_ll, "llada"), "llada-odd": _ids_summary(tj_odd, cfg_odd, "llada"),
             "dream-tiny": _ids_summary(tj_dream, cfg_dr, "dream")},
        shapes={"llada-tiny": LLADA_TINY, "llada-odd": LLADA_ODD, "dream-tiny": DREAM_TINY}))
    total = sum(p.stat().st_size for p in M.rglob("*") if p.is_file())
    print(f"tests/models total {total} bytes; done in {time.time() - t0:.1f}s")
    return 0


def _pkg_version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # pragma: no cover
        return "?"


def _ids_summary(tj: dict, cfg: dict, arch: str) -> str:
    n_tok = len(tj["model"]["vocab"]) + len(tj["added_tokens"])
    adds = ", ".join(f"{a['content']}={a['id']}{'' if a['special'] else ' (not special)'}" for a in tj["added_tokens"])
    v = cfg["vocab_size"]
    return (f"vocab_size {v}; tokenizer has {n_tok} tokens ({len(tj['model']['vocab'])} BPE incl. 256 byte tokens, "
            f"{len(tj['model']['merges'])} merges); ids {n_tok}..{v - 1} exist only as embedding rows "
            f"([PAD<i>] UNUSED in GGUF). Added tokens: {adds}. config.json: mask_token_id {cfg['mask_token_id']}, "
            f"eos_token_id {cfg['eos_token_id']}, pad_token_id {cfg['pad_token_id']}"
            + (f", bos_token_id {cfg['bos_token_id']}" if "bos_token_id" in cfg else ""))


NOTES_DIFFERENCES = [
    "Sizes are tiny (see above) to keep tests/models under 8 MB; llada-tiny has 3 heads of 32, llada-odd "
    "has non-SIMD sizes (d_model 60, head_dim 20, mlp 100, vocab 300), dream-tiny has head_dim 40, GQA 4:2, "
    "q/k/v biases, and intermediate 144 (not a multiple of 32, so its ffn_down falls back to F16 in the q8_0 GGUF).",
    "Weights are random (numpy default_rng, seeds in the table above). The mask token's embedding row is "
    "scaled by 0.1 and the LM-head rows of the mask token and of the ids the tokenizer lacks by 0.05, so that "
    "generations are varied and never produce the mask id or unused ids (the official samplers do not exclude "
    "them: a predicted mask id simply stays masked).",
    "config.json has exactly the keys of the real configs (LLaDA: d_model, n_layers, n_heads, n_kv_heads, "
    "mlp_hidden_size, vocab_size == embedding_size, max_sequence_length 4096, rope_theta 500000, rms_norm_eps 1e-5, "
    "mask_token_id, eos/pad_token_id, no bos_token_id - that lives in generation_config.json; Dream: Qwen2 keys, "
    "rope_theta 1e6, rms_norm_eps 1e-6, max_position_embeddings 131072, bos = eos = pad = <|endoftext|>, mask_token_id).",
    "llada-tiny is one model.safetensors (the real LLaDA is sharded); dream-tiny is sharded in two files with "
    "model.safetensors.index.json; llada-odd-bf16 stores BF16 tensors.",
    "Tokenizers are byte-level BPE trained on /usr/share/common-licenses/*. LLaDA style: LLaMA-3 split regex + "
    "ByteLevel(use_regex=False), no normalizer, merges stored in the legacy \"a b\" string form. Dream style: "
    "Qwen2 layout (NFC normalizer, Qwen2 regex with single digits), merges stored as [a, b] pairs. The real Dream "
    "ships only vocab.json/merges.txt for its slow DreamTokenizer (which also applies NFC); dream-tiny ships "
    "tokenizer.json (tokenizer_class Qwen2TokenizerFast) plus vocab.json/merges.txt.",
    "Because dream-tiny has a tokenizer.json, gguf's SpecialVocab resolves tokenizer_config's bos_token "
    "(<|beginoftext|>) to an id, so dream-tiny GGUFs have bos_token_id = <|beginoftext|>; a GGUF converted from "
    "the real Dream (no tokenizer.json) gets bos = eos = <|endoftext|> from config.json. add_bos_token is false "
    "for Dream either way.",
    "tokenizer.ggml.pre is \"llama-bpe\" (LLaDA) / \"qwen2\" (Dream): llama.cpp's converter picks it from a "
    "hash that only matches published tokenizers.",
]

NOTES_OFFICIAL = [
    "LLaDA names: `ff_proj` is the gate (SiLU is applied to it), `up_proj` the linear branch, block `ff_out` the "
    "down projection, and `model.transformer.ff_out` the LM head. head_dim = d_model / n_heads (no head_dim key). "
    "GQA (if n_kv_heads < n_heads) repeats KV heads with repeat_interleave: query head h uses KV head h // (H/Hkv).",
    "LLaDA RoPE: half-split (NeoX) rotation; sin/cos computed once for max_sequence_length positions in float32 "
    "(positions as float32 times inv_freq = 1/theta^(arange(0,hd,2)/hd)); q and k are cast to float32 for RoPE "
    "(rope_full_precision). RMSNorm: x.float() * rsqrt(mean(x^2) + eps), cast back, then times weight.",
    "LLaDA attention is F.scaled_dot_product_attention with attn_mask=None hard-coded: the attention_mask / "
    "attention_bias arguments are turned into a bias tensor that is never used, so padding masks have no effect.",
    "LLaDA generate.py: mask_id defaults to 126336 (pass the model's); with cfg_scale > 0 and attention_mask=None it "
    "raises NameError (attention_mask_ unbound); logits_eos_inf / confidence_eos_eot_inf hard-code ids 126081/126348 "
    "and the latter's chained assignment sets logits_with_noise[..., 126081] and logits[..., 126348] (after x0 was "
    "taken); Gumbel noise is exp(logits)/(-log u)^T in float64 (T = 0: plain argmax); confidence = softmax(logits) "
    "of x0 in float32; positions after the current block get -inf; per block, num_transfer = n_mask // steps with "
    "the remainder added to the first steps; top-k by torch.topk.",
    "Dream: attention is never causal (is_causal=False hard-coded, attention_mask 'full' -> None); "
    "head_dim = hidden_size / num_attention_heads. model(x).logits are unshifted; diffusion_generate shifts them "
    "with cat([logits[:, :1], logits[:, :-1]]) so position 0 reuses its own row.",
    "Dream transfer counts: timesteps = torch.linspace(1, eps, steps+1) in float32; at step i < steps-1, "
    "k = int(n_mask * (1 - s/t)) computed with float32 tensors (n_mask is the current number of masks), "
    "at the last step all remaining masks. Early steps can commit 0 tokens (see the traces). Confidences: "
    "maskgit_plus = max prob, topk_margin = p1 - p2 (sorted probs), entropy = sum p*log(p + 1e-10); "
    "then torch.topk over positions (non-mask positions hold -inf). alg 'origin' draws torch.rand even at "
    "temperature 0; alg_temp None or 0 means deterministic top-k.",
    "Dream generation_config.json has mask_token_id null; diffusion_generate takes it from the model config. "
    "Dream's config has use_cache true, which only makes the forward build an unused DynamicCache.",
]


def write_readme(path: Path, info: dict) -> None:
    L = []
    a = L.append
    a("# Golden vectors for the tiny test models")
    a("")
    a("Generated by `tools/make_tiny_models.py` (see `tools/README.md`). Regenerate with:")
    a("")
    a("```sh")
    a("python3 tools/make_tiny_models.py --llada-code /path/to/llada_official \\")
    a("    --dream-code /path/to/dream_official --out-models tests/models --out-golden tests/golden")
    a("```")
    a("")
    a(f"Versions: python {info['python']}, torch {info['torch']} (CPU, 1 thread), transformers "
      f"{info['transformers']}, tokenizers {info['tokenizers']}, numpy {info['numpy']}, gguf {info['gguf']}.")
    a("")
    a("## Official code used (sha256 of the files, and where they came from)")
    a("")
    a("```")
    L.extend(info["code"])
    a("```")
    a("")
    a("## Models (tests/models)")
    a("")
    for k, s in info["shapes"].items():
        s2 = {kk: vv for kk, vv in s.items() if kk not in ("specials", "name")}
        a(f"* `{k}`: {s2}")
        a(f"  - {info['ids'][k]}")
    a("* `llada-odd-bf16`: llada-odd saved with BF16 safetensors (weights = llada-odd rounded to bf16, RNE).")
    a("* GGUF files: written by `tools/gguf_export.py` from the HF dirs (`<model>-<type>.gguf`).")
    a("  Tensor types per file:")
    for f, t in info["gguf_types"].items():
        cnt: dict[str, int] = {}
        for v in t.values():
            cnt[v] = cnt.get(v, 0) + 1
        a(f"  - `{f}`: {cnt}")
    a("")
    a("## File formats")
    a("")
    a("* `<set>/logits_<k>.ids`: the input token ids, decimal, space-separated, one line.")
    a("* `<set>/logits_<k>.f32`: raw little-endian float32, row-major `[n_tokens, vocab_size]` "
      "(vocab_size = config vocab_size = embedding_size). For `llada-*` and `dream-tiny` sets this is the "
      "OFFICIAL PyTorch forward in float32 on CPU: `model(input_ids).logits` with no attention mask "
      "(LLaDA: `LLaDAModelLM`; Dream: `DreamModel`, raw logits WITHOUT the shift - Dream's "
      "generation code uses `cat([logits[:, :1], logits[:, :-1]])`, i.e. the token at i is predicted by row i-1).")
    a("* `<set>/logits_<k>.f64`: raw little-endian float64, same shape: the numpy reference forward "
      "(`tools/golden_common.py`) in float64 - the 'exact' answer. (Running the official code in float64 is "
      "not exact: its RMSNorm and RoPE force float32.) The official float32 logits agree with it to the max "
      "relative error listed below (max|a-b| / max|b|).")
    a("* `llada-tiny-bf16/`: the official model with llada-tiny's weights rounded to bf16 (round-to-nearest-even, "
      "as `torch.Tensor.to(torch.bfloat16)`) and all compute in float32 - the same weights that "
      "`llada-tiny-bf16.gguf` stores. `llada-odd-bf16/`: the official model loaded from the BF16 safetensors "
      "dir with `torch_dtype=torch.float32` (bf16 weights widened exactly, float32 compute).")
    a("* `gguf/<file-stem>/logits_<k>.{ids,f32}`: for the quantized GGUFs (f16, q8_0, q4_0): the numpy "
      "float64 reference run on the GGUF's own dequantized weights (`gguf.quants.dequantize`), with LLaDA's "
      "permuted q/k and interleaved-pair RoPE - i.e. what an exact engine reading that GGUF computes. "
      "(f32 GGUFs: use the HF goldens; llada-tiny-bf16.gguf: use `llada-tiny-bf16/`.)")
    a("* `<set>/gen_<k>.json`: official generation at temperature 0: `prompt_ids`, `params` (official argument "
      "names, including the mask id), `output_ids` (the generated part only), `full_ids` (prompt + answer), "
      "`trace` (for each forward call/step, the positions committed at that step), `diagnostics` "
      "(number of forward calls; smallest confidence gap between the last committed and first "
      "uncommitted candidate over all steps; smallest top1-top2 logit gap of a committed token - "
      "a tiny gap means the result is fragile to float rounding).")
    a("  - LLaDA: `generate()` of ML-GSAI/LLaDA `generate.py`, remasking 'low_confidence', temperature 0. "
      "`params.attention_mask` is 'none' or 'ones': generate.py raises NameError when cfg_scale > 0 and no "
      "attention_mask is passed, so the CFG case passes an all-ones mask (which the model ignores).")
    a("  - Dream: `DreamModel.diffusion_generate` (generation_utils.py) with temperature 0, alg_temp 0 "
      "(deterministic top-k), top_p/top_k None. alg 'origin' is not included: it draws `torch.rand` even at "
      "temperature 0. Transfer counts use float32 `torch.linspace(1, eps, steps+1)` and "
      "`int(n_mask * (1 - s/t))`, evaluated in float32.")
    a("")
    a("## How these models differ from the real checkpoints")
    a("")
    for s in NOTES_DIFFERENCES:
        a(f"* {s}")
    a("")
    a("## Facts about the official code worth knowing when matching it")
    a("")
    for s in NOTES_OFFICIAL:
        a(f"* {s}")
    a("")
    a("## Cross-checks run by the script (all passed)")
    a("")
    a("```")
    L.extend(info["report"])
    a("```")
    a("")
    a("## GGUF metadata (llada-tiny-q8_0.gguf)")
    a("")
    a("```")
    L.extend(info["kv_ll"])
    a("```")
    a("")
    a("## GGUF metadata (dream-tiny-q8_0.gguf)")
    a("")
    a("```")
    L.extend(info["kv_dr"])
    a("```")
    a("")
    a("## File sizes (tests/models)")
    a("")
    a("```")
    L.extend(info["sizes"])
    a("```")
    path.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    sys.exit(main())
