#!/usr/bin/env python3
"""`maskkv generate --json` reports where the time and memory went, and the
numbers add up: for every cache mode on the shipped model, the per-part
seconds of the prefill (first step) sum to at most the prefill time, the
decode parts plus sampling to at most the whole run, peak RSS covers the
allocations, and MaskKV holds fewer K/V bytes while decoding than dLLM-Cache.
Only the Python standard library is needed."""
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
maskkv = os.environ.get("MASKKV", os.path.join(root, "build", "maskkv"))
model = os.path.join(root, "models", "llada-tiny-retrieval.gguf")
with open(os.path.join(root, "models", "example-niah.txt")) as f:
    prompt = f.read()
PARTS = ["qkv", "attention", "out_proj", "ffn", "lm_head", "cache_policy"]
fails = []
reports = {}
for mode in ["none", "prefix", "dllm", "maskkv"]:
    cmd = [maskkv, "generate", "-m", model, "--chat", "-p", prompt, "--cache", mode, "--json", "--threads", "1"]
    if mode == "maskkv":
        cmd += ["--budget", "32"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fails.append(f"{mode}: exit {r.returncode}: {r.stderr.strip()}")
        continue
    d = json.loads(r.stdout)
    reports[mode] = d
    pre = sum(d["time_prefill"][k] for k in PARTS)
    dec = sum(d["time_decode"][k] for k in PARTS)
    if any(d[t][k] < 0 for t in ["time_prefill", "time_decode"] for k in PARTS):
        fails.append(f"{mode}: negative part time")
    if not (0 < pre <= d["prefill_seconds"] * 1.02 + 1e-3):
        fails.append(f"{mode}: prefill parts {pre} vs prefill_seconds {d['prefill_seconds']}")
    if not (pre + dec + d["time_sampling"] <= d["seconds"] * 1.02 + 1e-3):
        fails.append(f"{mode}: parts {pre + dec} + sampling {d['time_sampling']} > seconds {d['seconds']}")
    if d["time_prefill"]["ffn"] <= 0 or d["time_prefill"]["attention"] <= 0:
        fails.append(f"{mode}: prefill has no FFN/attention time")
    if d["steps"] > 1 and dec <= 0:
        fails.append(f"{mode}: {d['steps']} steps but no decode time")
    if not (0 < d["weights_resident_bytes"] <= d["peak_rss_bytes"]):
        fails.append(f"{mode}: weights_resident_bytes {d['weights_resident_bytes']} vs peak RSS {d['peak_rss_bytes']}")
    if not (d["peak_rss_bytes"] >= d["peak_alloc_bytes"] > d["kv_bytes"] > 0):
        fails.append(f"{mode}: peak_rss {d['peak_rss_bytes']} peak_alloc {d['peak_alloc_bytes']} kv {d['kv_bytes']}")
if "maskkv" in reports and "dllm" in reports:
    if not reports["maskkv"]["kv_bytes_decode"] < reports["dllm"]["kv_bytes_decode"]:
        fails.append("maskkv keeps as many K/V bytes as dllm while decoding")
    if reports["maskkv"]["time_prefill"]["cache_policy"] <= 0:
        fails.append("maskkv prefill spent no time in the eviction policy")
for f in fails:
    print("FAIL", f)
sys.exit(1 if fails else 0)
