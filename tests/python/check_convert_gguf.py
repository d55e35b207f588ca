#!/usr/bin/env python3
"""`maskkv convert` against the llama.cpp-faithful reference exporter.

For every HF test model (tests/models/*/config.json) and every type
(f32, f16, bf16, q8_0, q4_0): converts with `$MASKKV convert`, writes the
reference with tools/gguf_export.py (which mirrors llama.cpp's
convert_hf_to_gguf.py using the PyPI `gguf` package), reads both back with
gguf.GGUFReader and compares
  - metadata: the same keys in the same order, the same value types and values
    (token lists, types and merges included);
  - tensors: the same names, types and shapes, and the same bytes (q4_0 may
    differ by one quantization step where gguf-py rounds in float64);
  - and then the two files byte for byte (tensor order and layout included);
and checks that `maskkv info --json` reports the same hyper-parameters and
special ids for the HF directory and for the converted file (RoPE style
aside: NeoX for HF, llama.cpp's NORM for the permuted LLaDA GGUF). The shipped
tests/models/*.gguf files are also compared with their HF directories.

Exit 77 (skipped) when `gguf` or `numpy` is not importable."""
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import numpy as np
    import gguf
    from gguf import GGUFReader
except ImportError as e:  # pragma: no cover
    print(f"skipped: PyPI package missing ({e.name}); pip install gguf numpy")
    sys.exit(77)

logging.disable(logging.WARNING)  # gguf-py's notes about overwritten keys and skipped cls ids
ROOT = Path(__file__).resolve().parents[2]
MASKKV = os.environ.get("MASKKV", str(ROOT / "build" / "maskkv"))
if not os.path.isabs(MASKKV):
    MASKKV = str((Path.cwd() / MASKKV).resolve())
MODELS = ROOT / "tests" / "models"
TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0"]
sys.path.insert(0, str(ROOT / "tools"))

failures: list[str] = []


def fail(msg: str) -> None:
    failures.append(msg)
    print("FAIL:", msg)


def field_value(field):
    """A comparable Python value for a GGUFReader field."""
    types = [t.name for t in field.types]
    if types[0] == "ARRAY":
        if types[-1] == "STRING":
            return [bytes(field.parts[i]) for i in field.data]
        return [field.parts[i].tolist() for i in field.data]
    if types[0] == "STRING":
        return bytes(field.parts[field.data[0]])
    return field.parts[field.data[0]].tolist()


def read(path: Path):
    r = GGUFReader(str(path))
    fields = {k: v for k, v in r.fields.items() if not k.startswith("GGUF.")}
    tensors = {t.name: t for t in r.tensors}
    return fields, tensors


def compare_files(ours: Path, ref: Path, label: str) -> None:
    of, ot = read(ours)
    rf, rt = read(ref)
    if list(of) != list(rf):
        missing = [k for k in rf if k not in of]
        extra = [k for k in of if k not in rf]
        if missing or extra:
            fail(f"{label}: keys differ: missing {missing}, extra {extra}")
        else:
            fail(f"{label}: key order differs:\n  ours {list(of)}\n  ref  {list(rf)}")
    for k in rf:
        if k not in of:
            continue
        ot_types = [t.name for t in of[k].types]
        rt_types = [t.name for t in rf[k].types]
        if ot_types != rt_types:
            fail(f"{label}: key {k}: type {ot_types} != reference {rt_types}")
            continue
        a, b = field_value(of[k]), field_value(rf[k])
        if a != b:
            if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
                i = next(i for i in range(len(a)) if a[i] != b[i])
                fail(f"{label}: key {k}: element {i}: {a[i]!r} != reference {b[i]!r}")
            else:
                fail(f"{label}: key {k}: {str(a)[:200]} != reference {str(b)[:200]}")
    if set(ot) != set(rt):
        fail(f"{label}: tensor names differ: missing {sorted(set(rt) - set(ot))}, extra {sorted(set(ot) - set(rt))}")
    for name in sorted(set(ot) & set(rt)):
        a, b = ot[name], rt[name]
        if a.tensor_type != b.tensor_type:
            fail(f"{label}: tensor {name}: type {a.tensor_type.name} != reference {b.tensor_type.name}")
            continue
        if list(a.shape) != list(b.shape):
            fail(f"{label}: tensor {name}: shape {list(a.shape)} != reference {list(b.shape)}")
            continue
        da, db = np.asarray(a.data).tobytes(), np.asarray(b.data).tobytes()
        if da == db:
            continue
        if a.tensor_type == gguf.GGMLQuantizationType.Q4_0:
            fa = gguf.quants.dequantize(np.asarray(a.data), a.tensor_type)
            fb = gguf.quants.dequantize(np.asarray(b.data), b.tensor_type)
            blocks = np.asarray(a.data).reshape(-1, 18)
            scale = np.abs(blocks[:, :2].copy().view(np.float16).astype(np.float32)).max()
            if np.max(np.abs(fa - fb)) <= scale + 1e-6:
                continue
        fail(f"{label}: tensor {name} ({a.tensor_type.name}): data differs from the reference")


def info(path) -> dict:
    r = subprocess.run([MASKKV, "info", "-m", str(path), "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"maskkv info -m {path}: rc={r.returncode}: {r.stderr.strip()}")
        return {}
    return json.loads(r.stdout)


SAME = ["arch", "n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff", "n_vocab", "n_ctx", "rope_theta",
        "norm_eps", "has_qkv_bias", "shift_logits", "mask_id", "bos_id", "eos_id", "eot_id", "pad_id", "tied_embeddings",
        "n_tensors", "n_params", "chat_template"]


def compare_info(hf_dir: Path, gguf_path: Path, label: str) -> None:
    a, b = info(hf_dir), info(gguf_path)
    if not a or not b:
        return
    for k in SAME:
        if a.get(k) != b.get(k):
            fail(f"{label}: info {k}: HF dir {a.get(k)!r} != GGUF {b.get(k)!r}")
    want_style = "norm" if a.get("arch") == "llada" else "neox"
    if a.get("rope_style") != "neox" or b.get("rope_style") != want_style:
        fail(f"{label}: rope styles HF {a.get('rope_style')} / GGUF {b.get('rope_style')}, want neox / {want_style}")


def main() -> int:
    if not os.path.exists(MASKKV):
        print(f"FAIL: {MASKKV} not built")
        return 1
    try:
        import gguf_export
    except ImportError as e:
        print(f"skipped: tools/gguf_export.py cannot be imported ({e})")
        return 77
    # folders with tokenizer.json (the reference exporter reads it; dream-tiny-slowtok's
    # convert is checked by check_slow_tokenizer.py)
    dirs = sorted(p for p in MODELS.glob("*") if (p / "config.json").is_file() and (p / "tokenizer.json").is_file()) \
        if MODELS.is_dir() else []
    if not dirs:
        print("skipped: no HF test models in tests/models")
        return 77
    n_checked = 0
    with tempfile.TemporaryDirectory(prefix="mkv_convert_") as tmp:
        for d in dirs:
            for t in TYPES:
                label = f"{d.name} --type {t}"
                ours, ref = Path(tmp) / f"{d.name}-{t}.gguf", Path(tmp) / f"{d.name}-{t}-ref.gguf"
                r = subprocess.run([MASKKV, "convert", "-i", str(d), "-o", str(ours), "--type", t],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    fail(f"{label}: maskkv convert rc={r.returncode}: {r.stderr.strip()}")
                    continue
                gguf_export.export(d, ref, t)
                compare_files(ours, ref, label)
                if ours.read_bytes() != ref.read_bytes():
                    fail(f"{label}: the files differ (same keys and tensors, other layout or order)")
                compare_info(d, ours, label)
                n_checked += 1
    # The shipped GGUF files (made by tools/gguf_export.py) against their HF directories.
    for g in sorted(MODELS.glob("*.gguf")):
        stem = g.stem.rsplit("-", 1)[0]
        if (MODELS / stem / "config.json").is_file():
            compare_info(MODELS / stem, g, g.name)
            n_checked += 1
    print(f"checked {n_checked} conversions and files, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
