#!/usr/bin/env python3
"""maskkv's dequantization against the PyPI `gguf` package, bit for bit.

Reads our values with the test helper $MKV_DEQUANT (build/dequant_gguf, from
tests/tools/dequant_gguf.c) three ways - the dtype's scalar to_float, and the
AVX2 and AVX-512 matmul panel packing (what the fast matmul multiplies; an
ISA the CPU lacks is skipped) - and compares them with
gguf.quants.dequantize, the bits of every f32 value equal:
  - random blocks of every type maskkv reads (f32, f16, bf16, q4_0, q4_1,
    q5_0, q5_1, q8_0, q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl): random bytes,
    with the f16 scales drawn from all finite f16 bit patterns (subnormals,
    -0 and the largest values included), in row counts that are not
    multiples of the panel widths;
  - every tensor of every tests/models/*.gguf (the llama-quantize outputs
    llada-q256-*.gguf and llada-q160-*.gguf among them).

Exit 77 (skipped) when `gguf` or `numpy` is not importable."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as T
    from gguf import GGUFReader, GGUFWriter
except ImportError as e:  # pragma: no cover
    print(f"skipped: PyPI package missing ({e.name}); pip install gguf numpy")
    sys.exit(77)

ROOT = Path(__file__).resolve().parents[2]
TOOL = os.environ.get("MKV_DEQUANT", str(ROOT / "build" / "dequant_gguf"))
if not os.path.isabs(TOOL):
    TOOL = str((Path.cwd() / TOOL).resolve())
ISAS = ["ref", "avx2", "avx512"]

# Byte offsets of the f16 fields of each block (ggml-common.h).
F16_FIELDS = {
    T.F16: None, T.BF16: None, T.F32: None,
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0], T.IQ4_NL: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}

failures: list[str] = []


def fail(msg: str) -> None:
    failures.append(msg)
    print("FAIL:", msg)


def finite_f16_bits(rng, n):
    h = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
    inf_nan = (h & 0x7C00) == 0x7C00
    h[inf_nan] &= np.uint16(0xBFFF)  # clear the top exponent bit: finite
    return h


def random_tensor(qtype, rows: int, blocks_per_row: int, rng) -> np.ndarray:
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        return rng.standard_normal((rows, blocks_per_row)).astype(np.float32)
    if qtype in (T.F16, T.BF16):
        bits = finite_f16_bits(rng, rows * blocks_per_row) if qtype == T.F16 else \
            rng.integers(0, 1 << 16, size=rows * blocks_per_row, dtype=np.uint32).astype(np.uint16)
        if qtype == T.BF16:
            bits[(bits & 0x7F80) == 0x7F80] &= np.uint16(0xBFFF)
        return bits.reshape(rows, blocks_per_row).view(np.uint8)
    data = rng.integers(0, 256, size=(rows * blocks_per_row, type_size), dtype=np.uint32).astype(np.uint8)
    for off in F16_FIELDS[qtype]:
        data[:, off:off + 2] = finite_f16_bits(rng, rows * blocks_per_row).view(np.uint8).reshape(-1, 2)
    return data.reshape(rows, blocks_per_row * type_size)


def ours(path: Path, isa: str, tmp: Path):
    out = tmp / "values.f32"
    r = subprocess.run([TOOL, str(path), str(out), isa], capture_output=True, text=True)
    if r.returncode == 77:
        return None
    if r.returncode != 0:
        fail(f"{TOOL} {path} {isa}: rc {r.returncode}: {r.stderr.strip()}")
        return None
    return np.fromfile(out, dtype=np.float32)


def compare(path: Path, tmp: Path, label: str) -> int:
    reader = GGUFReader(str(path))
    refs = [(t.name, t.tensor_type, gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).ravel())
            for t in reader.tensors]
    total = sum(r[2].size for r in refs)
    checked = 0
    for isa in ISAS:
        values = ours(path, isa, tmp)
        if values is None:
            continue
        if values.size != total:
            fail(f"{label} [{isa}]: {values.size} values, gguf-py has {total}")
            continue
        pos = 0
        for name, qtype, ref in refs:
            mine = values[pos:pos + ref.size]
            pos += ref.size
            bad = np.flatnonzero(mine.view(np.uint32) != ref.view(np.uint32))
            if bad.size:
                i = bad[0]
                fail(f"{label} [{isa}] {name} ({qtype.name}): {bad.size} of {ref.size} values differ; "
                     f"first at {i}: ours {mine[i]!r} gguf-py {ref[i]!r}")
            checked += ref.size
    return checked


def main() -> int:
    if not os.path.exists(TOOL):
        fail(f"{TOOL} is missing (make {os.path.relpath(TOOL, ROOT)})")
        return 1
    rng = np.random.default_rng(15)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "random.gguf"
        w = GGUFWriter(str(path), "maskkv-test")
        for qtype in F16_FIELDS:
            block_size, _ = gguf.GGML_QUANT_SIZES[qtype]
            for rows, blocks in ((37, 3), (5, 1), (64, 2)):
                # K-quants: 1-3 super-blocks; 32-element types: rows of 288, 544, 800 (not multiples of 256);
                # plain floats: odd row lengths
                per_row = blocks if block_size == 256 else blocks * 8 + 1 if block_size == 32 else blocks * 32 + 3
                data = random_tensor(qtype, rows, per_row, rng)
                w.add_tensor(f"{qtype.name.lower()}.{rows}x{blocks}", data, raw_dtype=qtype)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        n = compare(path, tmp, "random blocks")
        print(f"random blocks: {len(F16_FIELDS)} types, {n} values compared")
        for model in sorted((ROOT / "tests" / "models").glob("*.gguf")):
            n = compare(model, tmp, model.name)
            types = sorted({t.tensor_type.name for t in GGUFReader(str(model)).tensors})
            print(f"{model.name}: {n} values compared ({', '.join(types)})")
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print("all values bit-identical to gguf.quants.dequantize")
    return 0


if __name__ == "__main__":
    sys.exit(main())
