#!/usr/bin/env python3
"""32 concurrent clients against `maskkv serve --parallel 2 --queue 8`, in 3
rounds: every request gets either a 200 whose text is exactly what
`maskkv generate --temp 0` prints (concurrent generations on one model do not
disturb each other) or a 503 in OpenAI's error shape; the server stays up,
/metrics counts what happened, and its RSS does not grow from round to round.
Standard library only (http.client); loopback; each request bounded by a
timeout."""
import json
import os
import threading
import time

from serve_helpers import QUESTION, Checks, Server, cli_answer

ROUNDS, CLIENTS = int(os.environ.get("MKV_LOAD_ROUNDS", 3)), 32
t = Checks("check_serve_load")
want_completion = cli_answer(["-p", QUESTION, "--gen-len", "32", "--steps", "32", "--block-len", "32"])
want_chat = cli_answer(["--chat", "-p", QUESTION, "--gen-len", "32", "--steps", "16", "--block-len", "16",
                        "--cache", "maskkv", "--budget", "16"])
server = Server("--parallel", "2", "--queue", "8")
try:
    rss = []
    totals = {200: 0, 503: 0}
    for round_ in range(ROUNDS):
        results = [None] * CLIENTS

        def client(i):
            try:
                if i % 2:
                    body = {"prompt": QUESTION, "max_tokens": 32, "stream": i % 4 == 1}
                    path, want = "/v1/completions", want_completion
                else:
                    body = {"messages": [{"role": "user", "content": QUESTION}], "max_tokens": 32, "steps": 16,
                            "block_length": 16, "cache": "maskkv", "budget": 16}
                    path, want = "/v1/chat/completions", want_chat
                status, headers, data = server.request("POST", path, body, timeout=120)
                if status == 200 and body.get("stream"):
                    events = [line[6:] for line in data.decode().split("\n") if line.startswith("data: ")]
                    ok = events[-1] == "[DONE]" and "".join(
                        json.loads(e)["choices"][0]["text"] for e in events[:-1]) == want
                elif status == 200:
                    choice = json.loads(data)["choices"][0]
                    ok = (choice.get("text") if "text" in choice else choice["message"]["content"]) == want
                elif status == 503:
                    err = json.loads(data)["error"]
                    ok = err["code"] == "server_busy" and err["message"] and "type" in err and "param" in err
                else:
                    ok = False
                results[i] = (status, ok)
            except Exception as e:  # a reset or a timeout counts as a failure
                results[i] = (None, f"{type(e).__name__}: {e}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=180)
        bad = [(i, r) for i, r in enumerate(results) if r is None or r[1] is not True]
        t.check(not bad, f"round {round_}: {len(bad)} bad answers: {bad[:4]}")
        for r in results:
            if r and r[0] in totals:
                totals[r[0]] += 1
        t.check(server.alive(), f"round {round_}: the server died")
        status, _, body = server.request("GET", "/health")
        t.check(status == 200, f"round {round_}: /health {status}")
        rss.append(server.rss_kib())
    for _ in range(100):  # a worker counts itself idle just after its client got the answer
        m = server.metrics()
        if m["maskkv_queue_depth"] == 0 and m["maskkv_generations_running"] == 0:
            break
        time.sleep(0.05)
    print(f"answers: {totals[200]} x 200, {totals[503]} x 503 over {ROUNDS} rounds of {CLIENTS}; RSS KiB {rss}")
    t.check(totals[200] >= ROUNDS * 10 // 2, f"too few answers: {totals}")
    t.check(m["maskkv_requests_rejected_total"] == totals[503], f"rejected {m['maskkv_requests_rejected_total']} vs {totals[503]}")
    t.check(m["maskkv_generations_completed_total"] == totals[200], "completed count")
    t.check(m["maskkv_queue_depth"] == 0 and m["maskkv_generations_running"] == 0, "idle after the rounds")
    # the first round warms allocator arenas and thread stacks; later rounds must not add to it
    t.check(rss[-1] - rss[1] < 4096, f"RSS grew across rounds: {rss} KiB")
finally:
    code = server.stop()
t.check(code == 0, f"SIGTERM: exit {code}")
t.finish()
