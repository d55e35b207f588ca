#!/usr/bin/env python3
"""`maskkv serve` against the official `openai` Python client (PyPI): chat
and completions, non-streamed and streamed, give exactly what
`maskkv generate --temp 0` prints for the same prompt and options; the
streamed chunks concatenate to the same text and end with usage and maskkv's
statistics; /v1/models lists the model; --api-key turns a missing or wrong
key into the client's AuthenticationError (401); curl gets the same answers
(curl is a test dependency: tools/ensure_deps.sh python)."""
import json
import shutil
import subprocess
import sys

from serve_helpers import PREFIX, QUESTION, Checks, Server, cli_answer

try:
    import openai
except ImportError:
    print("SKIP: the openai package is not installed (tests/requirements.txt)")
    sys.exit(77)

t = Checks("check_serve_openai")
server = Server("--parallel", "1", "--queue", "4")
try:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=60)
    t.check([m.id for m in client.models.list().data] == ["llada-tiny-retrieval"], "models.list")

    # the options of each case, as request fields and as the CLI's flags
    cases = [
        ({"max_tokens": 8, "steps": 8, "block_length": 8}, ["--gen-len", "8", "--steps", "8", "--block-len", "8"]),
        ({"max_tokens": 16, "steps": 8, "block_length": 8, "cache": "maskkv", "budget": 16},
         ["--gen-len", "16", "--steps", "8", "--block-len", "8", "--cache", "maskkv", "--budget", "16"]),
        ({"max_tokens": 32, "cache": "dllm", "seed": 7}, ["--gen-len", "32", "--steps", "32", "--block-len", "32",
                                                           "--cache", "dllm", "--seed", "7"]),
    ]
    for fields, flags in cases:
        extra = {k: v for k, v in fields.items() if k not in ("max_tokens", "seed")}
        common = dict(model="llada-tiny-retrieval", max_tokens=fields["max_tokens"], temperature=0,
                      seed=fields.get("seed"), extra_body=extra)
        # chat, with the answer prefix the shipped model expects
        want = cli_answer(["--chat", "-p", QUESTION, "--answer-prefix", PREFIX, *flags])
        chat_extra = dict(common, extra_body=dict(extra, answer_prefix=PREFIX))
        r = client.chat.completions.create(messages=[{"role": "user", "content": QUESTION}], **chat_extra)
        got = r.choices[0].message.content
        t.check(got == want, f"chat {fields}: {got!r} != CLI {want!r}")
        t.check(r.object == "chat.completion" and r.choices[0].message.role == "assistant", "chat object/role")
        t.check(r.choices[0].finish_reason in ("stop", "length"), f"finish_reason {r.choices[0].finish_reason}")
        t.check(r.usage.prompt_tokens > 0 and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens,
                f"usage {r.usage}")
        stats = r.model_extra.get("maskkv", {})
        t.check(stats.get("cache") == fields.get("cache", "none") and stats.get("kv_bytes", 0) > 0,
                f"maskkv stats {stats}")
        pieces, finish, usage, n_chunks = [], None, None, 0
        for chunk in client.chat.completions.create(messages=[{"role": "user", "content": QUESTION}], stream=True,
                                                    **chat_extra):
            n_chunks += 1
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
            usage = chunk.usage or usage
        t.check("".join(pieces) == want, f"chat stream {fields}: {''.join(pieces)!r} != CLI {want!r}")
        t.check(finish == r.choices[0].finish_reason and usage is not None and
                usage.completion_tokens == r.usage.completion_tokens, f"stream end: {finish} {usage}")
        t.check(n_chunks >= 2, f"chat stream: {n_chunks} chunks")
        # completions: the raw prompt
        want = cli_answer(["-p", QUESTION, *flags])
        r = client.completions.create(prompt=QUESTION, **common)
        t.check(r.choices[0].text == want, f"completion {fields}: {r.choices[0].text!r} != CLI {want!r}")
        t.check(r.object == "text_completion", "completion object")
        pieces = [c.choices[0].text for c in client.completions.create(prompt=QUESTION, stream=True, **common)
                  if c.choices]
        t.check("".join(pieces) == want, f"completion stream {fields}: {''.join(pieces)!r} != CLI {want!r}")

    # the client's exception for a 400, with OpenAI's error shape
    try:
        client.completions.create(model="x", prompt=QUESTION, max_tokens=8, extra_body={"cache": "bogus"})
        t.check(False, "unknown cache mode accepted")
    except openai.BadRequestError as e:
        t.check(e.status_code == 400 and "bogus" in e.message and e.body.get("param") == "cache", f"400: {e.body}")

    # curl: the same request as JSON, and a stream ending in [DONE]
    t.check(shutil.which("curl"), "curl is not installed (sh tools/ensure_deps.sh python)")
    if shutil.which("curl"):
        body = json.dumps({"prompt": QUESTION, "max_tokens": 8, "steps": 8, "block_length": 8})
        out = subprocess.run(["curl", "-sS", "--max-time", "60", "-H", "Content-Type: application/json", "-d", body,
                              server.url + "/v1/completions"], capture_output=True, text=True).stdout
        want = cli_answer(["-p", QUESTION, "--gen-len", "8", "--steps", "8", "--block-len", "8"])
        t.check(json.loads(out)["choices"][0]["text"] == want, f"curl completion: {out[:200]}")
        out = subprocess.run(["curl", "-sSN", "--max-time", "60", "-d", body[:-1] + ', "stream": true}',
                              server.url + "/v1/completions"], capture_output=True, text=True).stdout
        events = [line[6:] for line in out.split("\n") if line.startswith("data: ")]
        t.check(events and events[-1] == "[DONE]" and
                "".join(json.loads(e)["choices"][0]["text"] for e in events[:-1]) == want, f"curl stream: {out[-300:]}")
finally:
    code = server.stop()
t.check(code == 0, f"SIGTERM: exit {code}")

# --api-key: 401 without the key or with a wrong one, answers with it
server = Server("--api-key", "sesame")
try:
    for key in ["wrong", "sesame-"]:
        c = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=30)
        try:
            c.models.list()
            t.check(False, f"api key {key!r} accepted")
        except openai.AuthenticationError as e:
            t.check(e.status_code == 401, f"401 for key {key!r}")
    status, _, _ = server.request("POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 4})
    t.check(status == 401, f"no Authorization header: {status}")
    status, _, _ = server.request("GET", "/health")
    t.check(status == 200, "/health needs no key")
    c = openai.OpenAI(base_url=server.url + "/v1", api_key="sesame", max_retries=0, timeout=30)
    r = c.completions.create(model="m", prompt=QUESTION, max_tokens=8)
    t.check(r.choices[0].text == cli_answer(["-p", QUESTION, "--gen-len", "8", "--steps", "8", "--block-len", "8"]),
            "answer with the right key")
finally:
    server.stop()
t.finish()
