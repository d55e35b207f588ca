"""Write a trained checkpoint as an HF-style LLaDA directory (+ GGUF via tools/gguf_export.py).

    python3 tools/train/export.py CKPT.pt models/NAME [--gguf models/NAME.gguf --type f32]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from tasks import LLADA_CHAT_TEMPLATE  # noqa: E402


def tok_id(tj: dict, content: str) -> int:
    for a in tj["added_tokens"]:
        if a["content"] == content:
            return a["id"]
    return tj["model"]["vocab"][content]


def llada_config(cfg: dict, tj: dict) -> dict:
    """The keys of GSAI-ML/LLaDA-8B-Instruct config.json."""
    eos = tok_id(tj, "<|endoftext|>")
    return {
        "activation_type": "silu", "alibi": False, "alibi_bias_max": 8.0,
        "architectures": ["LLaDAModelLM"], "attention_dropout": 0.0, "attention_layer_norm": False,
        "attention_layer_norm_with_affine": True,
        "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig",
                     "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
                     "AutoModel": "modeling_llada.LLaDAModelLM"},
        "bias_for_layer_norm": False, "block_group_size": 1, "block_type": "llama",
        "d_model": cfg["d_model"], "embedding_dropout": 0.0, "embedding_size": cfg["embedding_size"],
        "eos_token_id": eos, "flash_attention": False, "include_bias": False, "include_qkv_bias": False,
        "init_cutoff_factor": None, "init_device": "meta", "init_fn": "mitchell", "init_std": 0.02,
        "input_emb_norm": False, "layer_norm_type": "rms", "layer_norm_with_affine": True,
        "mask_token_id": tok_id(tj, "<|mdm_mask|>"), "max_sequence_length": cfg.get("max_sequence_length", 4096),
        "mlp_hidden_size": cfg["mlp_hidden_size"], "mlp_ratio": 4, "model_type": "llada",
        "multi_query_attention": None, "n_heads": cfg["n_heads"], "n_kv_heads": cfg["n_kv_heads"],
        "n_layers": cfg["n_layers"], "pad_token_id": eos, "precision": "amp_bf16", "residual_dropout": 0.0,
        "rms_norm_eps": cfg["rms_norm_eps"], "rope": True, "rope_full_precision": True,
        "rope_theta": cfg["rope_theta"], "scale_logits": False, "transformers_version": "4.46.3",
        "use_cache": False, "vocab_size": cfg["embedding_size"], "weight_tying": False,
    }


def _wj(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_hf_dir(out: Path, state: dict, cfg: dict, tj: dict) -> None:
    from safetensors.torch import save_file
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    _wj(out / "config.json", llada_config(cfg, tj))
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False, indent=1) + "\n")
    added = {str(a["id"]): {k: a[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
             for a in tj["added_tokens"]}
    tc = {
        "add_bos_token": False, "add_eos_token": False, "added_tokens_decoder": added,
        "additional_special_tokens": [], "bos_token": "<|startoftext|>", "chat_template": LLADA_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>",
        "fast_tokenizer": True, "mask_token": "<|mdm_mask|>",
        "model_input_names": ["input_ids", "attention_mask"], "model_max_length": cfg.get("max_sequence_length", 4096),
        "pad_token": "<|endoftext|>", "tokenizer_class": "PreTrainedTokenizerFast",
    }
    _wj(out / "tokenizer_config.json", tc)
    tokd = lambda c: {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}  # noqa: E731
    _wj(out / "special_tokens_map.json", {"bos_token": tokd("<|startoftext|>"), "eos_token": tokd("<|endoftext|>"),
                                          "pad_token": tokd("<|endoftext|>"), "mask_token": tokd("<|mdm_mask|>")})
    _wj(out / "generation_config.json", {"_from_model_config": True, "bos_token_id": tok_id(tj, "<|startoftext|>"),
                                         "eos_token_id": tok_id(tj, "<|endoftext|>"), "transformers_version": "4.38.2"})


def write_gguf(hf_dir: Path, out: Path, qtype: str = "f32") -> bool:
    tools = HERE.parent
    if not (tools / "gguf_export.py").exists():
        print("tools/gguf_export.py not found; GGUF not written", file=sys.stderr)
        return False
    sys.path.insert(0, str(tools))
    import gguf_export  # type: ignore
    gguf_export.export(str(hf_dir), str(out), qtype)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("out")
    ap.add_argument("--gguf")
    ap.add_argument("--type", default="f32")
    a = ap.parse_args()
    ck = torch.load(a.ckpt, map_location="cpu", weights_only=False)
    write_hf_dir(Path(a.out), ck["model"], ck["cfg"], ck["tokenizer"])
    if a.gguf:
        write_gguf(Path(a.out), Path(a.gguf), a.type)


if __name__ == "__main__":
    main()
