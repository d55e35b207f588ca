"""Starting and stopping `maskkv serve` for the check_serve_*.py checks:
loopback only, a free port chosen by the server itself (--port 0, read from
its first stderr line), every wait bounded."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASKKV = os.environ.get("MASKKV", os.path.join(ROOT, "build", "maskkv"))
MODEL = os.path.join(ROOT, "models", "llada-tiny-retrieval.gguf")
QUESTION = "The secret code of Edith is 4417. What is the secret code of Edith?"
PREFIX = "The secret code of Edith is "


class Server:
    def __init__(self, *args, model=MODEL, env_threads="1"):
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=env_threads)
        self.proc = subprocess.Popen([MASKKV, "serve", "-m", model, "--port", "0", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stderr.readline()  # the server prints its URL once it listens
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"maskkv serve did not start: {line!r} {self.proc.stderr.read()[:500]!r}")
        self.port = int(m.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers dict, body bytes) over a fresh connection."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def metrics(self):
        status, _, body = self.request("GET", "/metrics")
        assert status == 200, status
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends sig and returns the exit code (killing it past the timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.stderr_tail = self.proc.stderr.read()
        return code


def cli_answer(args):
    """The answer `maskkv generate --temp 0 ARGS` prints (without the newline)."""
    r = subprocess.run([MASKKV, "generate", "-m", MODEL, "--temp", "0", "--threads", "1", *args],
                       capture_output=True, text=True, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"), timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"maskkv generate failed: {r.stderr.strip()}")
    return r.stdout[:-1] if r.stdout.endswith("\n") else r.stdout


class Checks:
    def __init__(self, name):
        self.name, self.passed, self.fails = name, 0, []

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.fails.append(what)
            print(f"FAIL: {what}")

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {len(self.fails)} failed")
        sys.exit(1 if self.fails else 0)
