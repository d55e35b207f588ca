#!/usr/bin/env python3
"""f32 vs bf16 compute (issue 19): prefill and end-to-end seconds of `maskkv
generate --compute f32|bf16` on the same model, prompt, cache mode and threads,
the two precisions run back to back for each (length, threads) so that both
see the same machine load.

    python3 bench/bench_compute.py MODEL --lengths 2048,8192,32768 --threads 2,1 \
        [--mode maskkv] [--budget 256] [--gen-len 32] [--out results.jsonl]

Rows come from bench_generate.run_row (pseudo-random prompt ids, --no-eos);
the table gives the bf16 speed-up of the prefill and of the whole generation,
the attention and matmul seconds of the prefill, and the K/V bytes held."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_generate import run_row  # noqa: E402

HEADER = ("| prompt | threads | compute | prefill s | attention s | matmuls s | total s | KV MiB (peak) | "
          "prefill speed-up | total speed-up | load at start |\n|---|---|---|---|---|---|---|---|---|---|---|")


def matmul_seconds(t):
    return sum(t.get(k, 0) for k in ("qkv", "out_proj", "ffn", "lm_head"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--maskkv", default="build/maskkv")
    ap.add_argument("--lengths", default="2048,8192")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--mode", default="maskkv")
    ap.add_argument("--budget", type=int, default=256)
    ap.add_argument("--gen-len", type=int, default=32)
    ap.add_argument("--out")
    a = ap.parse_args()
    out = open(a.out, "a") if a.out else None
    print(HEADER, flush=True)
    for n in [int(x) for x in a.lengths.split(",")]:
        for t in [int(x) for x in a.threads.split(",")]:
            rows = {}
            for compute in ("f32", "bf16"):
                try:
                    row = run_row(a.maskkv, a.model, a.mode, n, t, a.gen_len, a.budget, extra=["--compute", compute])
                except RuntimeError as e:
                    sys.exit(f"bench_compute: {e}")
                row["compute"] = compute
                rows[compute] = row
                if out:
                    out.write(json.dumps(row) + "\n")
                    out.flush()
            for compute, row in rows.items():
                base = rows["f32"]
                tp = row["time_prefill"] or {}
                print(f"| {n} | {t} | {compute} | {row['prefill_seconds']:.2f} | {tp.get('attention', 0):.2f} | "
                      f"{matmul_seconds(tp):.2f} | {row['total_seconds']:.2f} | {row['kv_bytes'] / 2**20:.1f} | "
                      f"{base['prefill_seconds'] / row['prefill_seconds']:.2f}x | "
                      f"{base['total_seconds'] / row['total_seconds']:.2f}x | {row['load_before']} |", flush=True)


if __name__ == "__main__":
    main()
