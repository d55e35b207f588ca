#!/usr/bin/env python3
"""`maskkv convert` against llama.cpp's own converter (tests/models/*-llamacpp-*.gguf,
tests/models/README.md): the same tensors (names, types, shapes, bytes) and the same
metadata keys and values (tokenizer arrays included), for LLaDA and Dream, f32 and bf16.
Needs the gguf package."""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from gguf import GGUFReader
except ImportError as e:
    print(f"needs gguf and numpy ({e})")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASKKV = os.environ.get("MASKKV", os.path.join(ROOT, "build", "maskkv"))
# metadata that names the file or the tool, not the model
IGNORED_KEYS = {"general.name", "general.size_label", "general.type", "general.file_type", "general.quantization_version",
                "general.sampling.temp"}


def kv(reader):
    out = {}
    for k, f in reader.fields.items():
        if k.startswith("GGUF."):
            continue
        v = f.contents()
        out[k] = v
    return out


def main() -> int:
    failures = []
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for model in ("llada-tiny", "dream-tiny"):
            for qtype in ("f32", "bf16"):
                ref_path = os.path.join(ROOT, "tests", "models", f"{model}-llamacpp-{qtype}.gguf")
                out = os.path.join(tmp, f"{model}-{qtype}.gguf")
                r = subprocess.run([MASKKV, "convert", "-i", os.path.join(ROOT, "tests", "models", model), "-o", out,
                                    "--type", qtype], capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"convert {model} {qtype}: {r.stderr.strip()}")
                    continue
                ref, ours = GGUFReader(ref_path), GGUFReader(out)
                rt = {t.name: t for t in ref.tensors}
                ot = {t.name: t for t in ours.tensors}
                if set(rt) != set(ot):
                    failures.append(f"{model} {qtype}: tensor names differ: only llama.cpp {sorted(set(rt) - set(ot))}, "
                                    f"only ours {sorted(set(ot) - set(rt))}")
                for name in sorted(set(rt) & set(ot)):
                    a, b = rt[name], ot[name]
                    checked += 1
                    if a.tensor_type != b.tensor_type or list(a.shape) != list(b.shape):
                        failures.append(f"{model} {qtype} {name}: {a.tensor_type.name}{list(a.shape)} vs "
                                        f"{b.tensor_type.name}{list(b.shape)}")
                    elif np.asarray(a.data).tobytes() != np.asarray(b.data).tobytes():
                        failures.append(f"{model} {qtype} {name}: the data differ")
                rk, ok = kv(ref), kv(ours)
                for key in sorted((set(rk) | set(ok)) - IGNORED_KEYS):
                    checked += 1
                    if key not in ok:
                        failures.append(f"{model} {qtype}: maskkv convert does not write {key}")
                    elif key not in rk:
                        failures.append(f"{model} {qtype}: maskkv convert writes {key}, llama.cpp does not")
                    elif rk[key] != ok[key] and not (isinstance(rk[key], float) and abs(rk[key] - ok[key]) <= 1e-12):
                        failures.append(f"{model} {qtype}: {key} = {str(ok[key])[:60]!r}, llama.cpp {str(rk[key])[:60]!r}")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} tensors and keys compared, {len(failures)} differences")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
