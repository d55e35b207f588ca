#!/usr/bin/env python3
"""Runs llama.cpp's own convert_hf_to_gguf.py on an HF directory, unchanged
except for one thing: the pre-tokenizer name.

llama.cpp's converter names the pre-tokenizer (tokenizer.ggml.pre) from a
sha256 of how the tokenizer encodes a fixed text, and knows only the hashes of
published tokenizers; a tokenizer trained for a tiny test model has none of
them, so the converter stops with "BPE pre-tokenizer was not recognized".
Here that one call (TextModel.get_vocab_base_pre) falls back to the name given
with --pre (default: the family of the model's regex, "llama-bpe" for the tiny
LLaDA, "qwen2" for the tiny Dream) when llama.cpp does not recognise the hash.
Everything else (metadata keys, tensor names, q/k permutation, token types)
is llama.cpp's.

    python3 tools/llamacpp_convert.py --llama-cpp /path/to/llama.cpp HF_DIR \\
        --outtype f32 --outfile OUT.gguf [--pre NAME]

Needs llama.cpp's requirements (torch, transformers, sentencepiece, numpy);
its gguf-py is put on sys.path from the llama.cpp tree.
"""
import argparse
import json
import runpy
import sys
from pathlib import Path

DEFAULT_PRE = {"LLaDAModelLM": "llama-bpe", "DreamModel": "qwen2"}


def main() -> int:
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--llama-cpp", required=True, help="llama.cpp source tree")
    ap.add_argument("--pre", default=None, help="tokenizer.ggml.pre when llama.cpp does not know the tokenizer's hash")
    args, rest = ap.parse_known_args()
    root = Path(args.llama_cpp).resolve()
    script = root / "convert_hf_to_gguf.py"
    if not script.is_file():
        print(f"llamacpp_convert: error: {script} not found", file=sys.stderr)
        return 2
    hf_dirs = [a for a in rest if not a.startswith("-") and Path(a).is_dir()]
    pre = args.pre
    if pre is None and hf_dirs:
        archs = json.loads((Path(hf_dirs[0]) / "config.json").read_text()).get("architectures", [])
        pre = next((DEFAULT_PRE[a] for a in archs if a in DEFAULT_PRE), None)
    sys.path.insert(0, str(root / "gguf-py"))
    sys.path.insert(0, str(root))
    import conversion.base as base  # llama.cpp's converter package

    original = base.TextModel.get_vocab_base_pre

    def get_vocab_base_pre(self, tokenizer):
        try:
            return original(self, tokenizer)
        except NotImplementedError:
            if pre is None:
                raise
            print(f"llamacpp_convert: tokenizer hash unknown to llama.cpp; tokenizer.ggml.pre = {pre!r}", file=sys.stderr)
            return pre

    base.TextModel.get_vocab_base_pre = get_vocab_base_pre
    sys.argv = [str(script)] + rest
    runpy.run_path(str(script), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
