#!/usr/bin/env python3
"""Quantized LLaDA test models made by llama.cpp's own `llama-quantize`.

    python3 tools/make_quant_models.py --llama-quantize /path/to/llama-quantize \
        [--out tests/models] [--survey]

Builds two random-weight LLaDA checkpoints with make_tiny_models.py's
recipe (tokenizer of llada-tiny), writes their f32 GGUFs with
tools/gguf_export.py (llama.cpp's tensor names and metadata) in a temporary
directory, and runs `llama-quantize F32.gguf OUT.gguf PRESET` for:

  llada-q256 (d_model 256, 4 heads, 3 layers, FFN 256, vocab 384): every row
    a multiple of 256, so the K-quant presets write K-quants:
    Q2_K (q2_K, q3_K, q6_K), Q3_K_M (q3_K, q4_K, q5_K, q6_K), Q4_K_M, Q6_K
  llada-q160 (d_model 160, 2 heads, 2 layers, FFN 288, vocab 384): rows not
    multiples of 256, so llama-quantize falls back to 32-element types
    (q4_K -> q5_0, q5_K -> q5_1, q6_K -> q8_0, iq4_xs -> iq4_nl):
    Q4_K_M, Q5_K_M, IQ4_XS, Q4_1

Outputs go to OUT/llada-q256-<preset>.gguf and OUT/llada-q160-<preset>.gguf
(only those; the f32 files and HF directories are not kept). Prints the
tensor types of each file (read with gguf.GGUFReader). --survey also runs
every preset Q2_K..Q8_0 on both shapes and prints the types each writes
(nothing is kept). Deterministic: llama-quantize is run with 1 thread.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np  # noqa: F401  (make_tiny_models needs it)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gguf_export  # noqa: E402
import make_tiny_models as mtm  # noqa: E402

SHAPES = {
    "llada-q256": dict(name="llada-q256", d_model=256, n_heads=4, n_kv_heads=4, n_layers=3, mlp_hidden_size=256,
                       vocab_size=384, n_regular=336, specials=mtm.LLADA_SPECIALS, seed=1301),
    "llada-q160": dict(name="llada-q160", d_model=160, n_heads=2, n_kv_heads=2, n_layers=2, mlp_hidden_size=288,
                       vocab_size=384, n_regular=336, specials=mtm.LLADA_SPECIALS, seed=1302),
}
KEEP = {"llada-q256": ["Q2_K", "Q3_K_M", "Q4_K_M", "Q6_K"],
        "llada-q160": ["Q4_K_M", "Q5_K_M", "IQ4_XS", "Q4_1"]}
SURVEY = ["Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_0", "Q4_1", "Q4_K_S", "Q4_K_M", "Q5_0", "Q5_1", "Q5_K_S",
          "Q5_K_M", "Q6_K", "Q8_0", "IQ4_NL", "IQ4_XS"]


def tensor_types(path: Path) -> dict[str, int]:
    from gguf import GGUFReader
    return dict(sorted(collections.Counter(t.tensor_type.name for t in GGUFReader(str(path)).tensors).items()))


def quantize(tool: str, src: Path, dst: Path, preset: str) -> None:
    r = subprocess.run([tool, str(src), str(dst), preset, "1"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"llama-quantize {preset} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llama-quantize", required=True)
    ap.add_argument("--out", type=Path, default=Path("tests/models"))
    ap.add_argument("--survey", action="store_true")
    args = ap.parse_args(argv)
    tj = mtm.train_bpe("llada", mtm.LLADA_TINY["n_regular"], mtm.LLADA_SPECIALS, mtm.training_texts())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, spec in SHAPES.items():
            hf = tmp / name
            mtm.write_llada_dir(hf, spec, tj, mtm.llada_weights(spec))
            f32 = tmp / f"{name}-f32.gguf"
            gguf_export.export(hf, f32, "f32")
            for preset in KEEP[name]:
                out = args.out / f"{name}-{preset.lower()}.gguf"
                quantize(args.llama_quantize, f32, out, preset)
                print(f"{out}: {out.stat().st_size} bytes, {tensor_types(out)}")
            if args.survey:
                for preset in SURVEY:
                    out = tmp / "survey.gguf"
                    quantize(args.llama_quantize, f32, out, preset)
                    print(f"survey {name} {preset}: {tensor_types(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
