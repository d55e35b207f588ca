#!/usr/bin/env python3
"""`make bench`: measures and writes BENCHMARKS.md.

    python3 bench/run_bench.py [--model DIR] [--lengths 1024,...,32768] [--threads 1,2]
        [--modes none,prefix,dllm,maskkv] [--gen-len 32] [--stages kernels,generation,peers,render]
        [--pytorch-python PY --llada-code DIR [--dllm-cache-code DIR] [--peer-lengths 1024,2048,4096]]

Stages:
  kernels     build/bench/bench_gemm + bench_kernel_attention -> bench/results/kernels.txt
  generation  `maskkv generate --json` per (length, mode, threads), one process each
              -> bench/results/generation.jsonl (a re-measured row replaces the old one)
  peers       the official PyTorch code (generate.py, dLLM-Cache's hook) through
              bench/pytorch_generate.py, when --llada-code is given (not committed code)
  render      bench/render_benchmarks.py: the generated blocks of BENCHMARKS.md and
              bench/plots/fig4_speed_memory.png

The model defaults to build/bench-model, made on first use by
tools/make_bench_model.py (LLaDA-shaped, 230.7M parameters of fixed random
weights, f32), with a MaskKV layer profile calibrated beside it. The full grid
(1k-32k, 4 modes, 1 and 2 threads) takes about 1.5 hours on 2 cores; `none` at
more than 4k tokens times 2 steps (1 above 8k) and extrapolates. Run it on a
quiet machine: the rows record the load average at their start."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_generate  # noqa: E402


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def ensure_model(a):
    if not os.path.exists(os.path.join(a.model, "config.json")) and not a.model.endswith(".gguf"):
        sh([sys.executable, os.path.join(ROOT, "tools", "make_bench_model.py"), a.model])
    profile = a.model.rstrip("/") + ".profile.json"
    if not os.path.exists(profile):
        vocab = bench_generate.model_vocab(a.maskkv, a.model)
        ids = os.path.join(a.results, "calibration_ids.txt")
        with open(ids, "w") as fp:
            for s in range(4):  # 4 pseudo-random 512-token samples
                fp.write(" ".join(str((i * 2654435761 + s * 97531) % (vocab - 8) + 3) for i in range(512)) + "\n")
        sh([a.maskkv, "calibrate", "-m", a.model, "--ids-file", ids, "-o", profile, "--threads", "2"])


def append_row(path, row):
    """Appends a row; for the same configuration the renderer keeps the last."""
    with open(path, "a") as fp:
        fp.write(json.dumps(row) + "\n")


def stage_kernels(a):
    out = []
    for b in ["bench_gemm", "bench_kernel_attention"]:
        exe = os.path.join(ROOT, a.build, "bench", b)
        r = sh([exe], capture_output=True, text=True)
        out.append(f"$ {a.build}/bench/{b}\n{r.stdout.rstrip()}")
    with open(os.path.join(a.results, "kernels.txt"), "w") as fp:
        fp.write("\n\n".join(out) + "\n")


def stage_generation(a):
    path = os.path.join(a.results, "generation.jsonl")
    print(bench_generate.HEADER)
    for n in a.lengths:
        for mode in a.modes:
            for t in a.threads:
                max_steps = 2 if n <= 8192 else 1
                row = bench_generate.run_row(a.maskkv, a.model, mode, n, t, a.gen_len, a.budget,
                                             none_full_until=4096, none_max_steps=max_steps)
                print(bench_generate.markdown_row(row), flush=True)
                append_row(path, row)


def stage_peers(a):
    if not a.llada_code:
        print("run_bench: no --llada-code: PyTorch peer rows skipped", file=sys.stderr)
        return
    cmd = [a.pytorch_python, os.path.join(HERE, "pytorch_generate.py"), "--code", a.llada_code, a.model,
           "--lengths", ",".join(map(str, a.peer_lengths)), "--threads", ",".join(map(str, a.threads)),
           "--gen-len", str(a.gen_len), "--out", os.path.join(a.results, "generation.jsonl")]
    modes = ["none"]
    if a.dllm_cache_code:
        cmd += ["--dllm-cache", a.dllm_cache_code]
        modes.append("dllm")
    cmd += ["--modes", ",".join(modes)]
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)  # these halve OpenBLAS/PyTorch speed on the dev VMs
    env.pop("OPENBLAS_L2_SIZE", None)
    sh(cmd, env=env)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "build", "bench-model"))
    ap.add_argument("--maskkv", default=os.path.join(ROOT, "build", "maskkv"))
    ap.add_argument("--build", default="build")
    ap.add_argument("--lengths", default="1024,2048,4096,8192,16384,32768")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--modes", default="none,prefix,dllm,maskkv")
    ap.add_argument("--gen-len", type=int, default=32)
    ap.add_argument("--budget", type=int, default=256)
    ap.add_argument("--stages", default="kernels,generation,peers,render")
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--pytorch-python", default=sys.executable)
    ap.add_argument("--llada-code")
    ap.add_argument("--dllm-cache-code")
    ap.add_argument("--peer-lengths", default="1024,2048,4096")
    a = ap.parse_args()
    a.lengths = [int(x) for x in a.lengths.split(",")]
    a.peer_lengths = [int(x) for x in a.peer_lengths.split(",")]
    a.threads = [int(x) for x in a.threads.split(",")]
    a.modes = a.modes.split(",")
    stages = a.stages.split(",")
    os.makedirs(a.results, exist_ok=True)
    if "generation" in stages or "peers" in stages:
        ensure_model(a)
    if "kernels" in stages:
        stage_kernels(a)
    if "generation" in stages:
        stage_generation(a)
    if "peers" in stages:
        stage_peers(a)
    if "render" in stages:
        sh([sys.executable, os.path.join(HERE, "render_benchmarks.py"), "--results", a.results,
            "--doc", os.path.join(ROOT, "BENCHMARKS.md"), "--plots", os.path.join(HERE, "plots")])


if __name__ == "__main__":
    main()
