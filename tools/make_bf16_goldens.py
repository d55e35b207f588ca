"""Golden logits and generations of the OFFICIAL LLaDA/Dream code run in
torch.bfloat16 on CPU, for maskkv's bf16 compute mode (--compute bf16).

    python3 tools/make_bf16_goldens.py --llada-code LLADA_CODE --dream-code DREAM_CODE \
        [--models tests/models] [--golden tests/golden]

Same official code and environment as tools/make_tiny_models.py (see
tools/README.md: transformers 4.46.2, the sha256 of the code files are in
tests/golden/README.md). For every committed f32 golden input of llada-tiny,
llada-odd and dream-tiny (`<set>/logits_<k>.ids`), the official model is
loaded from the committed HF folder with `torch_dtype=torch.bfloat16` (the
f32 weights rounded to bf16, round-to-nearest-even, all compute in bf16 as a
GPU run of the official code does) and its logits are written widened to
float32 as `<set>/logits_<k>.torch-bf16.f32` ([n_tokens, vocab], raw
little-endian). For every `<set>/gen_<k>.json` the official generation is
rerun in bf16 with the same prompt and parameters and its answer written to
`<set>/gen_<k>.torch-bf16.json` (`output_ids`, plus `same_as_f32`).
It prints, per input, max|a-b|/max|b| of the bf16 logits against the
committed official f32 logits. Deterministic (1 thread, no sampling).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_common as gc  # noqa: E402
from safe_write import write_bytes  # noqa: E402

SETS = {"llada-tiny": "llada", "llada-odd": "llada", "dream-tiny": "dream"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llada-code", type=Path, required=True)
    ap.add_argument("--dream-code", type=Path, required=True)
    ap.add_argument("--models", type=Path, default=Path("tests/models"))
    ap.add_argument("--golden", type=Path, default=Path("tests/golden"))
    args = ap.parse_args()

    import torch
    torch.set_num_threads(1)
    llada_mod = gc.import_official(args.llada_code, "llada_official", "modeling_llada")
    llada_gen = gc.import_official(args.llada_code, "llada_official", "generate")
    dream_mod = gc.import_official(args.dream_code, "dream_official", "modeling_dream")

    for name, arch in SETS.items():
        cls = llada_mod.LLaDAModelLM if arch == "llada" else dream_mod.DreamModel
        model = cls.from_pretrained(str(args.models / name), torch_dtype=torch.bfloat16).eval()
        gdir = args.golden / name
        for ids_path in sorted(gdir.glob("logits_*.ids")):
            ids = [int(t) for t in ids_path.read_text().split()]
            with torch.no_grad():
                logits = model(torch.tensor([ids], dtype=torch.long)).logits[0].float().numpy()
            f32 = np.fromfile(ids_path.with_suffix(".f32"), dtype="<f4").reshape(logits.shape)
            out = ids_path.with_name(ids_path.stem + ".torch-bf16.f32")
            write_bytes(out, np.ascontiguousarray(logits, dtype="<f4").tobytes())
            print(f"{name} {ids_path.stem}: n={len(ids)} torch-bf16 vs torch-f32 max rel err "
                  f"{gc.max_rel_err(logits, f32):.3e}")
        for gen_path in sorted(gdir.glob("gen_*.json")):
            if gen_path.name.endswith(".torch-bf16.json"):
                continue
            doc = json.loads(gen_path.read_text())
            prompt = torch.tensor([doc["prompt_ids"]], dtype=torch.long)
            params = dict(doc["params"])
            with torch.no_grad():
                if arch == "llada":
                    am = params.pop("attention_mask")
                    out_ids = llada_gen.generate(model, prompt, attention_mask=torch.ones_like(prompt) if am == "ones"
                                                 else None, **params)[0].tolist()
                else:
                    params.pop("mask_token_id")
                    params.pop("max_length")
                    out_ids = model.diffusion_generate(prompt, output_history=False, return_dict_in_generate=False,
                                                       **params)[0].tolist()
            answer = out_ids[len(doc["prompt_ids"]):]
            result = {"model": name, "source": gen_path.name, "dtype": "torch.bfloat16",
                      "prompt_ids": doc["prompt_ids"], "output_ids": answer,
                      "same_as_f32": answer == doc["output_ids"]}
            out = gen_path.with_name(gen_path.stem + ".torch-bf16.json")
            write_bytes(out, (json.dumps(result, indent=1) + "\n").encode())
            print(f"{name} {gen_path.stem}: torch-bf16 answer {'==' if result['same_as_f32'] else '!='} torch-f32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
