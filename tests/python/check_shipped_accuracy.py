#!/usr/bin/env python3
"""The shipped model still retrieves: `maskkv eval` on its held-out sets at 256 and 2,048
tokens (10 samples per task and length, the first of each file) must answer at least
90% of every task with the full cache (issue 6's goal), and MaskKV at B = 64 must keep
at least 90% on the needle task. Checked twice: on the prefixed sets
(models/llada-tiny-retrieval-eval: the prompt ends with an answer prefix, 8 answer
positions) and on the bare sets (models/llada-tiny-retrieval-eval-bare: the question
only, answered with the restated question and the code in 16 positions; issue 18).
Guards the shipped weights, the eval sets and the engine's generation path together.
Only the Python standard library is needed."""
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
maskkv = os.environ.get("MASKKV", os.path.join(root, "build", "maskkv"))
model = os.path.join(root, "models", "llada-tiny-retrieval.gguf")
fails = []
for style, extra in (("prefixed", []),
                     ("bare", ["--data", os.path.join(root, "models", "llada-tiny-retrieval-eval-bare"),
                               "--gen-len", "16"])):
    cmd = [maskkv, "eval", "-m", model, "--task", "niah,recall,two", "--lengths", "256,2048", "--samples", "10",
           "--methods", "full,maskkv", "--budgets", "64", "--json", "--threads", "2"] + extra
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {style}: exit {r.returncode}: {r.stderr.strip()}")
        sys.exit(1)
    acc = {}
    for row in json.loads(r.stdout)["results"]:
        key = (row["task"], row["method"], row["length"])
        ok, n = acc.get(key, (0, 0))
        acc[key] = (ok + row["correct"], n + row["total"])
    for (task, method, length), (ok, n) in sorted(acc.items()):
        print(f"{style:8s} {task:7s} {method:7s} {length:5d}: {ok}/{n}")
        if n != 10:
            fails.append(f"{style} {task}/{method}/{length}: {n} samples, expected 10")
        elif (method == "full" or task == "niah") and ok < 9:
            fails.append(f"{style} {task}/{method}/{length}: {ok}/{n} correct, below 90%")
for f in fails:
    print("FAIL", f)
sys.exit(1 if fails else 0)
