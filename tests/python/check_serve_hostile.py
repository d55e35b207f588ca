#!/usr/bin/env python3
"""Hostile and broken requests against `maskkv serve`: each gets a 4xx in
OpenAI's {"error": {"message", "type", "param", "code"}} shape (never a crash,
a hang or a 5xx), and the server keeps answering: malformed JSON, wrong
types, a 10 MB body, negative and huge max_tokens, an unknown cache mode,
missing messages, invalid UTF-8, a prompt longer than the context, deep
nesting, unknown paths; a client that sends its headers slowly then
disconnects; a streaming client that disconnects mid-answer, whose generation
is cancelled (seen in /metrics); a SIGTERM while a request runs lets it finish
and the server exits 0. Standard library only; loopback; bounded waits."""
import json
import socket
import threading
import time

from serve_helpers import QUESTION, Checks, Server

t = Checks("check_serve_hostile")
server = Server("--parallel", "1", "--queue", "2", "--max-tokens", "512", "--max-body", "1M", "--timeout", "60")


def expect_error(path, body, status, param=None, code=None, what=""):
    got, headers, data = server.request("POST", path, body)
    try:
        err = json.loads(data)["error"]
        shape = all(k in err for k in ("message", "type", "param", "code")) and err["message"]
    except Exception:
        err, shape = {}, False
    ok = got == status and shape and (param is None or err.get("param") == param) and (code is None or err.get("code") == code)
    t.check(ok, f"{what or body!r:.80}: {got} {data[:200]!r} (want {status} param={param} code={code})")


def wait_running(seconds=30):
    """Waits (bounded) until a generation runs; false when none started."""
    for _ in range(int(seconds / 0.02)):
        if server.metrics()["maskkv_generations_running"] == 1:
            return True
        time.sleep(0.02)
    return False


C, CH = "/v1/completions", "/v1/chat/completions"
msg = [{"role": "user", "content": "Hi"}]
try:
    expect_error(C, '{"prompt": "Hi", ', 400, what="truncated JSON")
    expect_error(C, "not json at all", 400, what="not JSON")
    expect_error(C, "", 400, what="empty body")
    expect_error(C, "[1, 2]", 400, what="array body")
    expect_error(C, "[" * 100000 + "]" * 100000, 400, what="deeply nested JSON")
    expect_error(C, {"prompt": "Hi", "max_tokens": "8"}, 400, "max_tokens")
    expect_error(C, {"prompt": "Hi", "max_tokens": 8.5}, 400, "max_tokens")
    expect_error(C, {"prompt": "Hi", "max_tokens": -1}, 400, "max_tokens")
    expect_error(C, {"prompt": "Hi", "max_tokens": 0}, 400, "max_tokens")
    expect_error(C, {"prompt": "Hi", "max_tokens": 10**12}, 400, "max_tokens")
    expect_error(C, {"prompt": "Hi", "max_tokens": 1e308 * 10}, 400, what="max_tokens Infinity")  # json.dumps writes Infinity
    expect_error(C, {"prompt": "Hi", "temperature": "hot"}, 400, "temperature")
    expect_error(C, {"prompt": "Hi", "temperature": -1}, 400, "temperature")
    expect_error(C, {"prompt": "Hi", "stream": "yes"}, 400, "stream")
    expect_error(C, {"prompt": "Hi", "seed": -3}, 400, "seed")
    expect_error(C, {"prompt": "Hi", "cache": "bogus"}, 400, "cache")
    expect_error(C, {"prompt": "Hi", "cache": 5}, 400, "cache")
    expect_error(C, {"prompt": "Hi", "alg": "nope"}, 400, "alg")
    # a quoted value with newlines, and one cut inside a character: one line of valid UTF-8
    for value in ["a\nb\r\nc\x00", "x" + "\u00e9" * 40]:
        got, _, data = server.request("POST", C, {"prompt": "Hi", "alg": value})
        message = json.loads(data.decode("utf-8"))["error"]["message"]  # strict: raises on invalid UTF-8
        t.check(got == 400 and "\n" not in message and "\x00" not in message, f"quoted value: {message!r}")
    expect_error(C, {"prompt": "Hi", "budget": 0}, 400, "budget")
    expect_error(C, {"prompt": "Hi", "n": 2}, 400, "n")
    expect_error(C, {"prompt": "Hi", "stop": ["\n"]}, 400, "stop", "unsupported_parameter")
    expect_error(C, {"prompt": "Hi", "max_tokens": 10, "block_length": 4}, 400, what="gen-len not a multiple of block")
    expect_error(C, {"prompt": {"text": "Hi"}}, 400, "prompt")
    expect_error(C, {"prompt": ["a", "b"]}, 400, "prompt", what="batch of prompts")
    expect_error(C, {"prompt": [3, 99999]}, 400, "prompt", what="id out of vocabulary")
    expect_error(C, {"prompt": ""}, 400, "prompt", what="empty prompt")
    expect_error(C, {"max_tokens": 8}, 400, "prompt", "missing_required_parameter")
    expect_error(CH, {"max_tokens": 8}, 400, "messages", "missing_required_parameter")
    expect_error(CH, {"messages": "Hi"}, 400, "messages")
    expect_error(CH, {"messages": []}, 400, "messages")
    expect_error(CH, {"messages": [{"role": "user"}]}, 400, "messages")
    expect_error(CH, {"messages": [{"role": "wizard", "content": "Hi"}]}, 400, "messages")
    expect_error(CH, {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400, "messages")
    # a multi-turn conversation is rendered by the model's chat template and answered
    got, _, data = server.request("POST", CH, {"messages": msg + [{"role": "assistant", "content": "a"},
                                                                   {"role": "user", "content": "b"}],
                                               "max_tokens": 8, "steps": 8, "block_length": 8})
    try:
        turn = json.loads(data)["choices"][0]["message"]
    except Exception:
        turn = {}
    t.check(got == 200 and turn.get("role") == "assistant" and isinstance(turn.get("content"), str),
            f"multi-turn: {got} {data[:200]!r} (want 200 with an assistant message)")
    # invalid UTF-8 inside a JSON string (raw bytes: json.dumps cannot write them)
    expect_error(CH, b'{"messages": [{"role": "user", "content": "caf\xc3\x28 \xff"}]}', 400, "messages",
                 what="invalid UTF-8 content")
    expect_error(C, b'{"prompt": "\xed\xa0\x80 surrogate"}', 400, "prompt", what="UTF-8 surrogate")
    # 4096 tokens of context: a prompt of ~5000 tokens + max_tokens
    expect_error(C, {"prompt": "4417 " * 5000, "max_tokens": 8, "block_length": 8}, 400, "prompt",
                 "context_length_exceeded")
    expect_error(C, {"prompt": "x" * (10 << 20)}, 413, code="request_too_large", what="10 MB body")
    got, _, data = server.request("GET", "/v1/nothing-here")
    t.check(got == 404 and json.loads(data)["error"]["code"] == "not_found", f"404: {got}")
    got, _, _ = server.request("GET", C)
    t.check(got == 405, f"GET on a POST endpoint: {got}")
    got, _, _ = server.request("POST", "/v1/models", "{}")
    t.check(got == 405, f"POST on a GET endpoint: {got}")

    # a client sending its headers a byte at a time, then vanishing; others are served meanwhile
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    for b in b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le":
        slow.send(bytes([b]))
        time.sleep(0.01)
    got, _, _ = server.request("GET", "/health", timeout=10)
    t.check(got == 200, f"/health while a client is slow: {got}")
    slow.close()
    # a client announcing a body it never sends, then disconnecting
    s2 = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s2.send(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"prompt\": ")
    time.sleep(0.2)
    s2.close()

    # a streaming client that disconnects after two events: its generation is cancelled
    before = server.metrics()
    body = json.dumps({"prompt": QUESTION, "max_tokens": 256, "steps": 256, "block_length": 32, "stream": True})
    s3 = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    s3.send(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
    seen = b""
    while seen.count(b"data: ") < 3:
        chunk = s3.recv(4096)
        if not chunk:
            break
        seen += chunk
    t.check(b"200 OK" in seen and seen.count(b"data: ") >= 3, f"stream start: {seen[:120]!r}")
    s3.close()
    cancelled = False
    for _ in range(200):
        m = server.metrics()
        if m["maskkv_generations_cancelled_total"] == before["maskkv_generations_cancelled_total"] + 1 and \
                m["maskkv_generations_running"] == 0:
            cancelled = True
            break
        time.sleep(0.05)
    t.check(cancelled, "the disconnected stream's generation was not cancelled")
    t.check(m["maskkv_generations_completed_total"] == before["maskkv_generations_completed_total"],
            "the cancelled generation ran to its end")
    # the same for a non-streamed request
    s4 = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    body = json.dumps({"prompt": QUESTION, "max_tokens": 256, "steps": 256, "block_length": 32})
    s4.send(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())
    t.check(wait_running(), "the request did not start running")
    s4.close()
    for _ in range(200):
        m = server.metrics()
        if m["maskkv_generations_cancelled_total"] == before["maskkv_generations_cancelled_total"] + 2:
            break
        time.sleep(0.05)
    t.check(m["maskkv_generations_cancelled_total"] == before["maskkv_generations_cancelled_total"] + 2,
            "the disconnected non-streamed request was not cancelled")

    got, _, data = server.request("POST", C, {"prompt": QUESTION, "max_tokens": 8})
    t.check(got == 200 and json.loads(data)["choices"][0]["finish_reason"] in ("stop", "length"), "served after all that")
    t.check(server.alive(), "the server died")

    # SIGTERM while a request runs: it is answered, then the server exits 0
    result = {}

    def long_request():
        result["r"] = server.request("POST", C, {"prompt": QUESTION, "max_tokens": 128, "steps": 128}, timeout=60)

    th = threading.Thread(target=long_request)
    th.start()
    t.check(wait_running(), "the request did not start running")
finally:
    code = server.stop()
th.join(timeout=60)
t.check(result.get("r", (None,))[0] == 200, f"in-flight request during SIGTERM: {result.get('r', (None,))[0]}")
t.check(code == 0, f"SIGTERM exit code {code}: {server.stderr_tail[-300:]}")
t.finish()
