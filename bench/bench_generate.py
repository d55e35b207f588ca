#!/usr/bin/env python3
"""Generation benchmark: tokens/s, prefill seconds, per-step seconds, peak RSS
and KV bytes versus prompt length for each cache mode, driving `maskkv generate
--json` (one process per row, so peak RSS is per configuration).

    python3 bench/bench_generate.py MODEL --lengths 1024,2048,4096 --modes none,prefix,dllm,maskkv \
        --threads 1,2 --gen-len 32 [--budget 256] [--none-max-steps 2] [--out results.jsonl]

Prompts are fixed pseudo-random token ids. For `none`, lengths above
--none-full-until run only --none-max-steps steps and the per-step time is
extrapolated to the full step count (marked "extrapolated")."""
import argparse
import json
import subprocess
import sys


def run(model, mode, n, threads, gen_len, budget, steps, extra):
    vocab = int(json.loads(subprocess.run([args.maskkv, "info", "-m", model, "--json"], capture_output=True,
                                          text=True, check=True).stdout)["n_vocab"])
    ids = " ".join(str((i * 2654435761) % (vocab - 8) + 3) for i in range(n))
    with open("/tmp/maskkv_bench_ids.txt", "w") as fp:
        fp.write(ids)
    cmd = [args.maskkv, "generate", "-m", model, "--ids-file", "/tmp/maskkv_bench_ids.txt", "--gen-len", str(gen_len), "--block-len",
           str(gen_len), "--steps", str(steps), "--cache", mode, "--threads",
           str(threads), "--json", "--no-eos"] + extra
    if mode not in ("none", "prefix", "dllm"):
        cmd += ["--budget", str(budget)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {mode} n={n}: {r.stderr.strip()}")
    return json.loads(r.stdout)


ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("--maskkv", default="build/maskkv")
ap.add_argument("--lengths", default="1024,2048,4096")
ap.add_argument("--modes", default="none,prefix,dllm,maskkv")
ap.add_argument("--threads", default="1")
ap.add_argument("--gen-len", type=int, default=32)
ap.add_argument("--budget", type=int, default=256)
ap.add_argument("--none-full-until", type=int, default=4096)
ap.add_argument("--none-max-steps", type=int, default=2)
ap.add_argument("--extra", default="")
ap.add_argument("--out")
args = ap.parse_args()
out = open(args.out, "a") if args.out else None
print("| prompt | mode | threads | tokens/s | prefill s | step s | total s | peak RSS MiB | KV MiB | note |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n in [int(x) for x in args.lengths.split(",")]:
    for mode in args.modes.split(","):
        for t in [int(x) for x in args.threads.split(",")]:
            steps, note = args.gen_len, ""
            if mode == "none" and n > args.none_full_until:
                steps, note = args.none_max_steps, f"{args.none_max_steps} steps timed, extrapolated"
            extra = args.extra.split() if args.extra else []
            if mode == "maskkv":
                extra += []  # MaskKV uses the profile beside the model, else boundary-online
            r = run(args.model, mode, n, t, args.gen_len, args.budget, steps, extra)
            step_s = r["decode_seconds_per_step"] if r["steps"] > 1 else r["seconds"]
            if mode == "none":
                step_s = r["seconds"] / r["steps"]
            total = r["prefill_seconds"] + step_s * (args.gen_len - 1) if note else r["seconds"]
            tps = args.gen_len / total
            row = dict(prompt=n, mode=mode, threads=t, tokens_per_second=tps, prefill_seconds=r["prefill_seconds"],
                       step_seconds=step_s, total_seconds=total, peak_rss_bytes=r["peak_rss_bytes"],
                       kv_bytes=r["kv_bytes"], kv_bytes_decode=r.get("kv_bytes_decode"), model_bytes=r["model_bytes"], note=note)
            print(f"| {n} | {mode} | {t} | {tps:.2f} | {r['prefill_seconds']:.2f} | {step_s:.3f} | {total:.1f} | "
                  f"{r['peak_rss_bytes'] / 2**20:.0f} | {r['kv_bytes'] / 2**20:.1f} | {note} |", flush=True)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()
