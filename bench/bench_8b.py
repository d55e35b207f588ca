#!/usr/bin/env python3
"""LLaDA-8B at full size on this machine (issue 15, item 7): load time (cold
and warm page cache), peak RSS, prefill / decode-step / end-to-end seconds per
cache mode, the llama.cpp peer row, the decode step against its roofline, and
the up-front memory refusal at 32k. One process at a time; every row records
the load average (`os.getloadavg`) at its start.

    python3 tools/make_bench_model.py DIR --d-model 4096 --layers 32 --heads 32 --ffn 12288 \\
        --vocab 126464 --ctx 4096 --dtype bf16 --gguf llada8b-bf16.gguf --tokenizer-from tests/models/llada-tiny
    llama-quantize DIR/llada8b-bf16.gguf DIR/llada8b-q4_k_m.gguf Q4_K_M 2
    python3 bench/bench_8b.py --stages STAGE[,STAGE...] --model DIR/llada8b-q4_k_m.gguf [options]

Stages (each appends JSON rows to --out, default bench/results/bench8b.jsonl):
  calibrate  `maskkv calibrate` -> MODEL.profile.json (4 pseudo-random 512-token samples), unless present
  load       cold: the model file's pages evicted first (drop_caches when writable, else
             posix_fadvise(DONTNEED) on the file), then `generate` of an 8-token prompt, 1 step;
             warm: the same again. Wall seconds of the process and its peak RSS.
  gen        `maskkv generate --json` per (--lengths x --modes) through bench_generate.run_row:
             gen-len 64, block 64, 64 steps, --threads; `none` times 2 full forwards
             (prefill + one step) and extrapolates to 64 steps; --ctx-size N+64 past the
             trained context (4096).
  peer       the same text prompt (chat template applied by both) through llama.cpp's
             llama-diffusion-cli (-ub = prompt + 64, one block, --diffusion-steps
             --peer-steps, no cache) and `maskkv generate --chat -f` with the same steps and
             --cache none, then dllm and maskkv with 64 steps.
  refuse     --refuse-len tokens with --cache dllm (expected: exit 7 with the estimate, before
             the weights are mapped: wall seconds and peak RSS of the refused process), then
             --cache maskkv at the same length for --refuse-seconds, its prefill progress
             (layers done, tok/s, ETA) read from `--progress`.
  memcpy     build/bench/bench_gemm's memcpy line (256 MiB, 1 and 2 threads).
  report     prints the BENCHMARKS.md tables from --out's rows (no run).
"""
import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_generate  # noqa: E402

TRAINED_CTX = 4096


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def emit(a, row):
    row.setdefault("load_before", round(os.getloadavg()[0], 2))
    row.setdefault("date", now())
    print(json.dumps(row), flush=True)
    with open(a.out, "a") as fp:
        fp.write(json.dumps(row) + "\n")


def run_measured(cmd, timeout=None, stderr_path=None):
    """(returncode, stdout, stderr, wall seconds) of one child, stopped (SIGTERM) after `timeout` s."""
    err = open(stderr_path, "w+") if stderr_path else subprocess.PIPE
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
    try:
        out, e = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)
        out, e = p.communicate()
    wall = time.perf_counter() - start
    if stderr_path:
        err.seek(0)
        e = err.read()
        err.close()
    return p.returncode, out, e, wall


def time_rss(cmd, timeout=None):
    """Runs cmd under GNU time -f %M when available: (rc, stdout, stderr, wall, peak RSS bytes or None)."""
    gnu_time = "/usr/bin/time"
    if os.path.exists(gnu_time):
        with tempfile.NamedTemporaryFile("r", suffix=".rss", delete=False) as fp:
            rss_file = fp.name
        rc, out, err, wall = run_measured([gnu_time, "-f", "%M", "-o", rss_file] + cmd, timeout)
        try:
            rss = int(open(rss_file).read().strip().splitlines()[-1]) * 1024
        except (ValueError, IndexError):
            rss = None
        os.unlink(rss_file)
        return rc, out, err, wall, rss
    rc, out, err, wall = run_measured(cmd, timeout)
    return rc, out, err, wall, None


def evict(path):
    """Drops the file's pages from the page cache; returns how."""
    try:
        with open("/proc/sys/vm/drop_caches", "w") as fp:
            os.sync()
            fp.write("3\n")
        return "drop_caches"
    except OSError:
        pass
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return "posix_fadvise(DONTNEED)"


def resident_fraction(path):
    """Share of the file's pages in the page cache (mincore through the `fincore` tool), or None."""
    try:
        r = subprocess.run(["fincore", "-b", "-n", "-o", "RES,SIZE", path], capture_output=True, text=True, check=True)
        res, size = r.stdout.split()[:2]
        return int(res) / max(int(size), 1)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None


def stage_calibrate(a):
    profile = a.model + ".profile.json"
    if os.path.exists(profile):
        return
    vocab = bench_generate.model_vocab(a.maskkv, a.model)
    with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as fp:
        for s in range(4):
            fp.write(" ".join(str((i * 2654435761 + s * 97531) % (vocab - 8) + 3) for i in range(512)) + "\n")
        ids = fp.name
    start = time.perf_counter()
    subprocess.run([a.maskkv, "calibrate", "-m", a.model, "--ids-file", ids, "-o", profile, "--threads",
                    str(a.threads)], check=True)
    os.unlink(ids)
    emit(a, dict(stage="calibrate", model=os.path.basename(a.model), seconds=time.perf_counter() - start))


def stage_load(a):
    cmd = [a.maskkv, "generate", "-m", a.model, "--ids", "3 4 5 6 7 8 9 10", "--gen-len", "1", "--block-len", "1",
           "--steps", "1", "--cache", "none", "--threads", str(a.threads), "--json", "--no-eos"]
    for kind in ("cold", "warm"):
        how = evict(a.model) if kind == "cold" else "second run"
        before = resident_fraction(a.model)
        load = round(os.getloadavg()[0], 2)
        rc, out, err, wall = run_measured(cmd)
        if rc != 0:
            sys.exit(f"bench_8b: load {kind}: {err.strip()}")
        j = json.loads(out)
        emit(a, dict(stage="load", model=os.path.basename(a.model), kind=kind, how=how, resident_before=before,
                     wall_seconds=wall, forward_seconds=j["seconds"], peak_rss_bytes=j["peak_rss_bytes"],
                     model_bytes=j["model_bytes"], load_before=load))


def ctx_args(n, gen_len):
    return ["--ctx-size", str(n + gen_len)] if n + gen_len > TRAINED_CTX else []


def stage_gen(a):
    for n in a.lengths:
        for mode in a.modes:
            row = bench_generate.run_row(a.maskkv, a.model, mode, n, a.threads, a.gen_len, a.budget,
                                         none_full_until=0, none_max_steps=2, extra=ctx_args(n, a.gen_len))
            row.update(stage="gen", model=os.path.basename(a.model), date=now())
            emit(a, row)


def prompt_text(a, n_tokens):
    """Text whose chat-formatted tokenization is about n_tokens (GPL-3 text, repeated)."""
    src = open("/usr/share/common-licenses/GPL-3").read()
    text = src
    while len(text) < n_tokens * 8:
        text += src

    def count(t):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fp:
            fp.write(t)
        r = subprocess.run([a.maskkv, "tokenize", "-m", a.model, "-f", fp.name], capture_output=True, text=True,
                           check=True)
        os.unlink(fp.name)
        return len(r.stdout.split())
    lo, hi = 0, len(text)
    while hi - lo > 16:  # characters for n_tokens - 40 (the chat template's tokens and BOS)
        mid = (lo + hi) // 2
        if count(text[:mid]) < n_tokens - 40:
            lo = mid
        else:
            hi = mid
    return text[:lo]


def stage_peer(a):
    n = a.peer_len
    text = prompt_text(a, n)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fp:
        fp.write(text)
        prompt_file = fp.name
    # maskkv with the same chat template: its n_prompt sizes llama.cpp's sequence
    base = [a.maskkv, "generate", "-m", a.model, "-f", prompt_file, "--chat", "--gen-len", str(a.gen_len),
            "--block-len", str(a.gen_len), "--threads", str(a.threads), "--json", "--no-eos"]
    for mode, steps in (("none", a.peer_steps), ("dllm", a.gen_len), ("maskkv", a.gen_len)):
        cmd = base + ["--steps", str(steps), "--cache", mode] + (["--budget", str(a.budget)] if mode == "maskkv" else [])
        load = round(os.getloadavg()[0], 2)
        rc, out, err, wall = run_measured(cmd)
        if rc != 0:
            sys.exit(f"bench_8b: peer maskkv {mode}: {err.strip()}")
        j = json.loads(out)
        n_prompt = j["n_prompt"]
        step_s = j["seconds"] / j["steps"] if mode == "none" else j["decode_seconds_per_step"]
        emit(a, dict(stage="peer", engine="maskkv", model=os.path.basename(a.model), mode=mode, n_prompt=n_prompt,
                     steps=j["steps"], gen_len=a.gen_len, seconds=j["seconds"], prefill_seconds=j["prefill_seconds"],
                     step_seconds=step_s, wall_seconds=wall, peak_rss_bytes=j["peak_rss_bytes"], load_before=load))
    ub = n_prompt + a.gen_len
    cmd = [a.llama_diffusion, "-m", a.model, "-f", prompt_file, "-t", str(a.threads), "-tb", str(a.threads),
           "-c", str(ub), "-b", str(ub), "-ub", str(ub), "--diffusion-steps", str(a.peer_steps),
           "--diffusion-block-length", str(ub), "--temp", "0", "--seed", "0"]
    load = round(os.getloadavg()[0], 2)
    rc, out, err, wall, rss = time_rss(cmd)
    log = out + err
    if rc != 0:
        sys.exit(f"bench_8b: llama-diffusion-cli failed:\n{log[-3000:]}")
    total = re.search(r"total time: ([0-9.]+)ms, time per step: ([0-9.]+)ms", log)
    load_ms = re.search(r"load time\s*=\s*([0-9.]+) ms", log)
    n_in = re.search(r"n_input[^0-9]*([0-9]+)", log)
    emit(a, dict(stage="peer", engine="llama.cpp", model=os.path.basename(a.model), mode="none",
                 n_prompt_maskkv=n_prompt, n_input_llamacpp=int(n_in.group(1)) if n_in else None, steps=a.peer_steps,
                 gen_len=a.gen_len, seconds=float(total.group(1)) / 1000 if total else None,
                 step_seconds=float(total.group(2)) / 1000 if total else None,
                 load_seconds=float(load_ms.group(1)) / 1000 if load_ms else None, wall_seconds=wall,
                 peak_rss_bytes=rss, command=" ".join(cmd[1:]), load_before=load))
    os.unlink(prompt_file)


def stage_refuse(a):
    n = a.refuse_len
    vocab = bench_generate.model_vocab(a.maskkv, a.model)
    with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as fp:
        fp.write(" ".join(map(str, bench_generate.prompt_ids(n, vocab))))
        ids = fp.name
    base = [a.maskkv, "generate", "-m", a.model, "--ids-file", ids, "--gen-len", str(a.gen_len), "--block-len",
            str(a.gen_len), "--steps", str(a.gen_len), "--threads", str(a.threads), "--no-eos"] + ctx_args(n, a.gen_len)
    rc, out, err, wall, rss = time_rss(base + ["--cache", "dllm"])
    emit(a, dict(stage="refuse", model=os.path.basename(a.model), mode="dllm", prompt=n, rc=rc,
                 stderr=err.strip(), wall_seconds=wall, peak_rss_bytes=rss))
    log_path = a.out + ".refuse-maskkv.log"
    rc, out, err, wall = run_measured(base + ["--cache", "maskkv", "--budget", str(a.budget), "--progress", "--json"],
                                      timeout=a.refuse_seconds, stderr_path=log_path)
    lines = [ln for ln in err.splitlines() if ln.startswith("prefill")]
    last = lines[-1] if lines else ""
    m = re.search(r"layer (\d+)/(\d+), (\d+) tok/s(?:, ETA (.*))?", last)
    row = dict(stage="refuse", model=os.path.basename(a.model), mode="maskkv", prompt=n, rc=rc,
               ran_seconds=wall, bounded_at=a.refuse_seconds, last_progress=last)
    if m:
        done, total = int(m.group(1)), int(m.group(2))
        row.update(layers_done=done, layers=total, tok_per_s=int(m.group(3)),
                   projected_prefill_seconds=wall * total / done if done else None)
    if rc == 0:
        j = json.loads(out)
        row.update(seconds=j["seconds"], prefill_seconds=j["prefill_seconds"], peak_rss_bytes=j["peak_rss_bytes"])
    emit(a, row)
    os.unlink(ids)


def stage_memcpy(a):
    exe = os.path.join(ROOT, "build", "bench", "bench_gemm")
    p = subprocess.Popen([exe], stdout=subprocess.PIPE, text=True, start_new_session=True)
    found = []
    for line in p.stdout:
        if line.startswith("memcpy"):
            found.append(line.strip())
        elif found:  # the GEMM table follows: not needed here
            break
    os.killpg(p.pid, signal.SIGTERM)
    p.wait()
    for line in found:
        m = re.search(r"(\d+) thread\(s\):\s+([0-9.]+) GB/s", line)
        emit(a, dict(stage="memcpy", threads=int(m.group(1)), gb_per_s=float(m.group(2)), line=line))


def report(a):
    rows = [json.loads(line) for line in open(a.out) if line.strip()]
    mib = lambda b: f"{b / 2**20:,.0f}" if b else "-"
    load = lambda r: r.get("load_before", "?")
    print("| file | cache | weights page cache | wall s | peak RSS MiB | load avg |\n|---|---|---|---|---|---|")
    for r in rows:
        if r.get("stage") == "load":
            print(f"| {r['model']} | {r['kind']} ({r['how']}) | {r['resident_before']:.0%} | {r['wall_seconds']:.1f} | "
                  f"{mib(r['peak_rss_bytes'])} | {load(r)} |")
    print("\n| file | prompt | cache | prefill s | decode step s | 64 tokens s | peak RSS MiB | KV MiB (decode) | "
          "load avg | note |\n|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("stage") == "gen":
            print(f"| {r['model']} | {r['prompt']} | {r['mode']}{' B=' + str(r['budget']) if r.get('budget') else ''} | "
                  f"{r['prefill_seconds']:.1f} | {r['step_seconds']:.2f} | {r['total_seconds']:,.0f} | "
                  f"{mib(r['peak_rss_bytes'])} | {mib(r['kv_bytes'])} ({mib(r.get('kv_bytes_decode'))}) | "
                  f"{load(r)} | {r.get('note', '')} |")
    print("\n| engine | prompt tokens | cache | steps | seconds | s/step | peak RSS MiB | load avg |\n"
          "|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("stage") == "peer":
            n = r.get("n_prompt") or r.get("n_input_llamacpp") or r.get("n_prompt_maskkv")
            sec = r.get("seconds")
            print(f"| {r['engine']} | {n} | {r['mode']} | {r['steps']} | {sec:.1f} | {r['step_seconds']:.2f} | "
                  f"{mib(r['peak_rss_bytes'])} | {load(r)} |" if sec is not None else f"| {r['engine']} | {n} | ? |")
    for r in rows:
        if r.get("stage") == "refuse":
            print("\nrefuse:", json.dumps({k: v for k, v in r.items() if k not in ("date",)}))
        if r.get("stage") == "memcpy":
            print(f"\nmemcpy {r['threads']} thread(s): {r['gb_per_s']} GB/s (read + write)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--maskkv", default=os.path.join(ROOT, "build", "maskkv"))
    ap.add_argument("--llama-diffusion", default="/work/ext/llama.cpp/build/bin/llama-diffusion-cli")
    ap.add_argument("--stages", default="calibrate,load,gen")
    ap.add_argument("--lengths", default="1024,4096")
    ap.add_argument("--modes", default="none,dllm,maskkv")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gen-len", type=int, default=64)
    ap.add_argument("--budget", type=int, default=256)
    ap.add_argument("--peer-len", type=int, default=1024)
    ap.add_argument("--peer-steps", type=int, default=4)
    ap.add_argument("--refuse-len", type=int, default=32768)
    ap.add_argument("--refuse-seconds", type=float, default=300)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "bench8b.jsonl"))
    a = ap.parse_args()
    a.lengths = [int(x) for x in a.lengths.split(",")]
    a.modes = a.modes.split(",")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    stages = {"calibrate": stage_calibrate, "load": stage_load, "gen": stage_gen, "peer": stage_peer,
              "refuse": stage_refuse, "memcpy": stage_memcpy, "report": report}
    for s in a.stages.split(","):
        stages[s](a)


if __name__ == "__main__":
    main()
