#!/usr/bin/env python3
"""Crash consistency of `maskkv convert` over an existing good output (issue 16).

* SIGKILL at 20 random moments of a conversion: afterwards the target is
  byte-identical to the old file or to the complete new file, never anything
  else (a temporary file may remain after SIGKILL; it is removed here).
* `ulimit -f` at several sizes below the new file: exit 3, the target is the
  old file, and no temporary file remains (a clean failure).
* SIGINT and SIGTERM in the middle: the target is the old or new file and no
  temporary file remains.
* An LM head of NaNs: `generate` fails with exit 4 naming output.weight
  (non-finite logits are an error, not "!!!!!!!!").

Needs numpy, safetensors (tools/make_bench_model.py) and gguf (the NaN model is written by byte surgery located with
the gguf reader); SKIP (77) without them.
"""
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MASKKV = os.environ.get("MASKKV", "build/maskkv")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL", what)


def read(path):
    with open(path, "rb") as fp:
        return fp.read()


def temps(directory):
    return [n for n in os.listdir(directory) if ".tmp-" in n]


def convert_cmd(hf, out, qtype):
    return [MASKKV, "convert", "-i", hf, "-o", out, "--type", qtype]


def main():
    try:
        import numpy as np
        import gguf
        import safetensors  # noqa: F401 (tools/make_bench_model.py)
    except ImportError as e:
        print(f"needs numpy, gguf and safetensors: {e}")
        return 77
    work = tempfile.mkdtemp(prefix="mkv-crash-")
    try:
        # a checkpoint big enough (15M parameters, ~60 ms to convert) for
        # the kills to land in the middle of writing, with the tiny tokenizer
        hf = os.path.join(work, "hf")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools/make_bench_model.py"), hf, "--d-model", "512", "--layers",
                        "4", "--heads", "8", "--ffn", "1024", "--vocab", "4096", "--ctx", "1024"], check=True,
                       capture_output=True)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(ROOT, "tests/models/llada-tiny", name), hf)
        out = os.path.join(work, "out.gguf")
        new_ref = os.path.join(work, "new.gguf")
        subprocess.run(convert_cmd(hf, out, "f32"), check=True, capture_output=True)
        subprocess.run(convert_cmd(hf, new_ref, "f16"), check=True, capture_output=True)
        old, new = read(out), read(new_ref)
        assert old != new

        # a run's duration, to spread the kills over it
        start = time.monotonic()
        subprocess.run(convert_cmd(hf, new_ref, "f16"), check=True, capture_output=True)
        duration = time.monotonic() - start
        rng = random.Random(16)
        outcomes = {"old": 0, "new": 0}
        for i in range(20):
            with open(out, "wb") as fp:
                fp.write(old)
            proc = subprocess.Popen(convert_cmd(hf, out, "f16"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, duration * 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            now = read(out)
            check(now in (old, new), f"SIGKILL #{i}: target is neither the old nor the new file ({len(now)} bytes)")
            kind = "old" if now == old else "new" if now == new else "other"
            outcomes[kind] = outcomes.get(kind, 0) + 1
            for name in temps(work):
                os.remove(os.path.join(work, name))
        print(f"SIGKILL x20 over {duration * 1e3:.0f} ms runs: {outcomes}")

        for limit in (0, 1, 4096, len(new) // 2, len(new) - 1):
            with open(out, "wb") as fp:
                fp.write(old)

            def set_limit(limit=limit):
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

            r = subprocess.run(convert_cmd(hf, out, "f16"), capture_output=True, text=True, preexec_fn=set_limit)
            check(r.returncode == 3, f"ulimit -f {limit} bytes: exit {r.returncode}, want 3 ({r.stderr.strip()})")
            check("File too large" in r.stderr and r.stderr.count("\n") == 1, f"ulimit {limit}: stderr {r.stderr!r}")
            check(read(out) == old, f"ulimit -f {limit} bytes: the old file was changed")
            check(not temps(work), f"ulimit -f {limit} bytes: temporary file left: {temps(work)}")

        for sig in (signal.SIGINT, signal.SIGTERM):
            for i in range(5):
                with open(out, "wb") as fp:
                    fp.write(old)
                proc = subprocess.Popen(convert_cmd(hf, out, "f16"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0, duration))
                proc.send_signal(sig)
                proc.wait()
                now = read(out)
                check(now in (old, new), f"{sig.name} #{i}: target is neither the old nor the new file")
                check(not temps(work), f"{sig.name} #{i}: temporary file left: {temps(work)}")

        # an LM head of NaNs
        nan_model = os.path.join(work, "nan-head.gguf")
        shutil.copy(os.path.join(ROOT, "tests/models/llada-tiny-f32.gguf"), nan_model)
        tensor = [t for t in gguf.GGUFReader(nan_model).tensors if t.name == "output.weight"][0]
        with open(nan_model, "r+b") as fp:
            fp.seek(tensor.data_offset)
            fp.write(np.full(tensor.n_elements, np.nan, np.float32).tobytes())
        for cache in ("none", "maskkv"):
            r = subprocess.run([MASKKV, "generate", "-m", nan_model, "-p", "Hi", "--gen-len", "8", "--steps", "8",
                                "--block-len", "8", "--cache", cache, "--budget", "4"], capture_output=True, text=True)
            check(r.returncode == 4, f"NaN head, cache {cache}: exit {r.returncode}, want 4")
            check("non-finite logits" in r.stderr and "'output.weight'" in r.stderr and r.stderr.count("\n") == 1,
                  f"NaN head, cache {cache}: stderr {r.stderr!r}")
            check("!!!!" not in r.stdout, f"NaN head: printed {r.stdout!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
