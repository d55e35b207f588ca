#!/usr/bin/env python3
"""Throughput and latency of `maskkv serve` on the shipped model, and the
server's overhead against the CLI for one request (BENCHMARKS.md §5).

    python3 bench/bench_serve.py [--maskkv build/maskkv] [--requests 40] [--clients 1,2,8]

The request is `make run`'s: the chat prompt of models/example-niah.txt (1,028
tokens), 8 answer tokens in 8 steps, --cache maskkv --budget 64, temperature 0.
For each server configuration (--parallel 1 with 2 threads per generation,
--parallel 2 with 1 thread each), C clients send --requests requests in all,
each client one after the other over a fresh connection (http.client, the
standard library): requests/s = requests / wall time of the round, latency
= request sent to answer read, per request. Every answer must be a 200 with
the CLI's text. The overhead part: the same request once at a time through
the server (latency, minus the generation seconds the answer reports) and
through `maskkv generate --json` (the process's wall time, minus its own
generation seconds: process start, model load, tokenizer, output).
Prints Markdown tables and the 1-minute load average before and after."""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "llada-tiny-retrieval.gguf")
DOCUMENT = os.path.join(ROOT, "models", "example-niah.txt")
PREFIX = "The secret code of Edith is "
OPTIONS = {"max_tokens": 8, "steps": 8, "block_length": 8, "cache": "maskkv", "budget": 64, "temperature": 0}
CLI_FLAGS = ["--gen-len", "8", "--steps", "8", "--block-len", "8", "--cache", "maskkv", "--budget", "64", "--temp", "0"]
ENV = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")


def percentile(values, p):
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def start_server(maskkv, parallel, threads, queue):
    proc = subprocess.Popen([maskkv, "serve", "-m", MODEL, "--port", "0", "--parallel", str(parallel), "--threads",
                             str(threads), "--queue", str(queue)], stderr=subprocess.PIPE, text=True, env=ENV)
    m = re.search(r"http://127\.0\.0\.1:(\d+)", proc.stderr.readline())
    if not m:
        proc.kill()
        raise SystemExit("bench_serve: the server did not start")
    return proc, int(m.group(1))


def ask(port, body):
    """(seconds, answer JSON) of one request on a fresh connection."""
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    seconds = time.perf_counter() - t0
    if r.status != 200:
        raise SystemExit(f"bench_serve: HTTP {r.status}: {data[:200]!r}")
    return seconds, json.loads(data)


def round_of(port, body, want, clients, requests):
    latencies, lock = [], threading.Lock()
    left = [requests]

    def client():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            seconds, answer = ask(port, body)
            if answer["choices"][0]["message"]["content"] != want:
                raise SystemExit(f"bench_serve: answer {answer['choices'][0]['message']['content']!r} != CLI {want!r}")
            with lock:
                latencies.append(seconds)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    if len(latencies) != requests:
        raise SystemExit("bench_serve: a client failed")
    return requests / wall, percentile(latencies, 50), percentile(latencies, 95)


def cli_once(maskkv, threads):
    t0 = time.perf_counter()
    r = subprocess.run([maskkv, "generate", "-m", MODEL, "--chat", "-f", DOCUMENT, "--answer-prefix", PREFIX,
                        "--threads", str(threads), "--json", *CLI_FLAGS], capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"bench_serve: maskkv generate failed: {r.stderr.strip()}")
    out = json.loads(r.stdout)
    return wall, out["seconds"], out["text"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--maskkv", default=os.path.join(ROOT, "build", "maskkv"))
    ap.add_argument("--requests", type=int, default=40, help="requests per round (40)")
    ap.add_argument("--clients", default="1,2,8")
    ap.add_argument("--repeats", type=int, default=10, help="single requests of the overhead part (10)")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    body = json.dumps({"messages": [{"role": "user", "content": open(DOCUMENT).read()}], "answer_prefix": PREFIX,
                       **OPTIONS})
    load_before = os.getloadavg()[0]
    print(f"load average (1 min) before: {load_before:.2f}; {os.cpu_count()} cores\n")
    print("| server | clients | requests | requests/s | p50 latency (ms) | p95 latency (ms) |")
    print("|---|---|---|---|---|---|")
    overhead = {}
    for parallel, threads in [(1, 2), (2, 1)]:
        want = cli_once(args.maskkv, threads)[2]
        proc, port = start_server(args.maskkv, parallel, threads, max(clients))
        try:
            ask(port, body)  # warm: pages of the weights, allocator arenas
            for c in clients:
                rps, p50, p95 = round_of(port, body, want, c, args.requests)
                print(f"| --parallel {parallel} --threads {threads} | {c} | {args.requests} | {rps:.1f} | "
                      f"{p50 * 1e3:.1f} | {p95 * 1e3:.1f} |", flush=True)
            single = [ask(port, body) for _ in range(args.repeats)]
            overhead[threads] = {
                "server_latency": statistics.median(s for s, _ in single),
                "server_generation": statistics.median(a["maskkv"]["seconds"] for _, a in single),
            }
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        runs = [cli_once(args.maskkv, threads) for _ in range(args.repeats)]
        overhead[threads]["cli_wall"] = statistics.median(w for w, _, _ in runs)
        overhead[threads]["cli_generation"] = statistics.median(s for _, s, _ in runs)
    print(f"\none request at a time, median of {args.repeats} (ms):\n")
    print("| threads | server: latency | server: generation | server overhead | CLI: process wall | "
          "CLI: generation | CLI overhead |")
    print("|---|---|---|---|---|---|---|")
    for threads, o in overhead.items():
        print(f"| {threads} | {o['server_latency'] * 1e3:.1f} | {o['server_generation'] * 1e3:.1f} | "
              f"{(o['server_latency'] - o['server_generation']) * 1e3:.1f} | {o['cli_wall'] * 1e3:.1f} | "
              f"{o['cli_generation'] * 1e3:.1f} | {(o['cli_wall'] - o['cli_generation']) * 1e3:.1f} |")
    print(f"\nload average (1 min) after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
