#!/usr/bin/env python3
"""Writes an HF model folder whose tokenizer is given as the slow-tokenizer files
(vocab.json, merges.txt, added_tokens.json, tokenizer_config.json) instead of
tokenizer.json, as a stock Dream-v0-Instruct-7B folder ships it.

    python3 tools/make_slowtok_folder.py tests/models/dream-tiny tests/models/dream-tiny-slowtok

copies config.json, generation_config.json, special_tokens_map.json and the
safetensors (with their index) and writes the four tokenizer files from
SRC/tokenizer.json (model.vocab, model.merges, added_tokens) and
SRC/tokenizer_config.json (its keys, with Dream's tokenizer_class and
auto_map). Also importable: write_slow_tokenizer(tokenizer_json, out_dir,
base_config, tokenizer_class). Only the standard library is needed.
"""
import json
import shutil
import sys
from pathlib import Path

COPIED = ("config.json", "generation_config.json", "special_tokens_map.json", "model.safetensors.index.json")


def write_slow_tokenizer(tokenizer_json: Path, out_dir: Path, base_config: dict, tokenizer_class: str,
                         auto_map: dict | None = None) -> None:
    tj = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    model = tj["model"]
    assert model["type"] == "BPE", "only BPE tokenizers have vocab.json/merges.txt"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = dict(sorted(model["vocab"].items(), key=lambda kv: kv[1]))
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (out_dir / "merges.txt").write_text("#version: 0.2\n" + "".join(m + "\n" for m in merges), encoding="utf-8")
    added = sorted(tj.get("added_tokens", []), key=lambda a: a["id"])
    (out_dir / "added_tokens.json").write_text(
        json.dumps({a["content"]: a["id"] for a in added}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    config = {k: v for k, v in base_config.items() if k not in ("added_tokens_decoder", "tokenizer_class", "auto_map")}
    config["added_tokens_decoder"] = {
        str(a["id"]): {k: a[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
        for a in added}
    config["tokenizer_class"] = tokenizer_class
    if auto_map:
        config["auto_map"] = auto_map
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n",
                                                   encoding="utf-8")


def main(argv) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: make_slowtok_folder.py SRC_HF_DIR OUT_DIR", file=sys.stderr)
        return 2
    src, out = Path(argv[1]), Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (src / name).exists():
            shutil.copyfile(src / name, out / name)
    for f in sorted(src.glob("*.safetensors")):
        shutil.copyfile(f, out / f.name)
    base = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_slow_tokenizer(src / "tokenizer.json", out, base, "DreamTokenizer",
                         {"AutoTokenizer": ["tokenization_dream.DreamTokenizer", None]})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
