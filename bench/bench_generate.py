#!/usr/bin/env python3
"""Generation benchmark: tokens/s, prefill seconds, per-step seconds, peak RSS
and KV bytes versus prompt length for each cache mode, driving `maskkv generate
--json` (one process per row, so peak RSS is per configuration).

    python3 bench/bench_generate.py MODEL --lengths 1024,2048,4096 --modes none,prefix,dllm,maskkv \
        --threads 1,2 --gen-len 32 [--budget 256] [--none-max-steps 2] [--out results.jsonl]

Prompts are fixed pseudo-random token ids. For `none`, lengths above
--none-full-until run only --none-max-steps steps and the per-step time is
extrapolated to the full step count (marked "extrapolated"). MaskKV uses the
profile beside the model (MODEL.profile.json) when there is one."""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile


def prompt_ids(n, vocab):
    return [(i * 2654435761) % (vocab - 8) + 3 for i in range(n)]


def model_vocab(maskkv, model):
    r = subprocess.run([maskkv, "info", "-m", model, "--json"], capture_output=True, text=True, check=True)
    return int(json.loads(r.stdout)["n_vocab"])


def run_row(maskkv, model, mode, n, threads, gen_len=32, budget=256, none_full_until=4096, none_max_steps=2,
            extra=()):
    """One configuration -> a result row (dict), or raises RuntimeError."""
    steps, note = gen_len, ""
    if mode == "none" and n > none_full_until:
        steps, note = none_max_steps, f"{none_max_steps} steps timed, extrapolated"
    with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as fp:
        fp.write(" ".join(map(str, prompt_ids(n, model_vocab(maskkv, model)))))
        ids_file = fp.name
    cmd = [maskkv, "generate", "-m", model, "--ids-file", ids_file, "--gen-len", str(gen_len), "--block-len",
           str(gen_len), "--steps", str(steps), "--cache", mode, "--threads", str(threads), "--json", "--no-eos"]
    cmd += list(extra)
    if mode == "maskkv":
        cmd += ["--budget", str(budget)]
    load = os.getloadavg()[0]
    r = subprocess.run(cmd, capture_output=True, text=True)
    os.unlink(ids_file)
    if r.returncode != 0:
        raise RuntimeError(f"{mode} n={n} threads={threads}: {r.stderr.strip()}")
    j = json.loads(r.stdout)
    if mode == "none":
        step_s = j["seconds"] / j["steps"]  # every no-cache step is one full forward
    else:
        step_s = j["decode_seconds_per_step"] if j["steps"] > 1 else j["seconds"]
    total = j["prefill_seconds"] + step_s * (gen_len - 1) if note else j["seconds"]
    return dict(prompt=n, mode=mode, threads=threads, gen_len=gen_len, budget=budget if mode == "maskkv" else None,
                tokens_per_second=gen_len / total, prefill_seconds=j["prefill_seconds"], step_seconds=step_s,
                total_seconds=total, peak_rss_bytes=j["peak_rss_bytes"], kv_bytes=j["kv_bytes"],
                kv_bytes_decode=j.get("kv_bytes_decode"), model_bytes=j["model_bytes"], weights_resident_bytes=j.get("weights_resident_bytes"),
                time_prefill=j.get("time_prefill"), time_decode=j.get("time_decode"),
                time_sampling=j.get("time_sampling"), decode_steps=max(j["steps"] - 1, 0), note=note,
                load_before=round(load, 2), date=datetime.date.today().isoformat(), engine="maskkv")


def markdown_row(row):
    return (f"| {row['prompt']} | {row['mode']} | {row['threads']} | {row['tokens_per_second']:.3g} | "
            f"{row['prefill_seconds']:.2f} | {row['step_seconds']:.3f} | {row['total_seconds']:.1f} | "
            f"{row['peak_rss_bytes'] / 2**20:.0f} | "
            f"{(row['kv_bytes'] or 0) / 2**20:.1f} | {row['note']} |")


HEADER = ("| prompt | mode | threads | tokens/s | prefill s | step s | total s | peak RSS MiB | KV MiB | note |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def main():
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
    a = ap.parse_args()
    out = open(a.out, "a") if a.out else None
    print(HEADER)
    for n in [int(x) for x in a.lengths.split(",")]:
        for mode in a.modes.split(","):
            for t in [int(x) for x in a.threads.split(",")]:
                try:
                    row = run_row(a.maskkv, a.model, mode, n, t, a.gen_len, a.budget, a.none_full_until,
                                  a.none_max_steps, a.extra.split())
                except RuntimeError as e:
                    sys.exit(f"bench_generate: {e}")
                print(markdown_row(row), flush=True)
                if out:
                    out.write(json.dumps(row) + "\n")
                    out.flush()


if __name__ == "__main__":
    main()
