#!/usr/bin/env python3
"""`maskkv chat` on a terminal (a pseudo-terminal from Python's pty module),
typed at as a person would, every wait bounded (no test waits more than
READ_TIMEOUT seconds for any output, and a session is killed past that).

Session 1 (the shipped model, its example document, an answer prefix):
- the greeting and the "> " prompt of libedit;
- two turns: each answer is shown as it unmasks (draws with "_" masks before
  the final text) and the final text equals `maskkv generate --messages` on
  the same conversation (the first answer in the second turn's history);
- the prompts rendered for the turns (--verbose-prompt, on stderr) equal
  transformers' apply_chat_template of the conversation so far (history
  with the first answer included) followed by the answer prefix;
- /reset: the next turn's prompt is the first turn's again (document back);
- Ctrl-D on an empty line ends the chat with exit status 0.
Session 2: Ctrl-C while an answer (512 steps) is being generated cancels it
("(answer cancelled)") and the prompt comes back; Ctrl-C at the prompt
clears the typed line; /exit ends with status 0.
Session 3 (stdin a pipe): one answer line per turn, and SIGINT ends the chat.
Needs transformers."""
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time

try:
    from transformers import PreTrainedTokenizerFast
except ImportError as e:
    print(f"needs transformers ({e})")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASKKV = os.environ.get("MASKKV", os.path.join(ROOT, "build", "maskkv"))
MODEL = os.path.join(ROOT, "models", "llada-tiny-retrieval.gguf")
HF_DIR = os.path.join(ROOT, "models", "llada-tiny-retrieval")
DOC = os.path.join(ROOT, "models", "example-niah.txt")
PREFIX = "The secret code of Edith is "
Q1 = "What is the secret code of Edith?"
Q2 = "Say it again: what is the secret code of Edith?"
GEN = ["--gen-len", "8", "--block-len", "8", "--steps", "8"]
READ_TIMEOUT = 60
ENV = dict(os.environ, TERM="xterm", OMP_WAIT_POLICY="PASSIVE")
TMP = tempfile.mkdtemp(prefix="mkv-chat-pty-")
fails = []
n_checks = 0


def check(what, ok, detail=""):
    global n_checks
    n_checks += 1
    if not ok:
        fails.append(f"{what}: {detail}")


def controlling_terminal():
    """In the child: a new session whose controlling terminal is the pty (stdin),
    as a terminal emulator sets it up, so that Ctrl-C sends SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Session:
    """maskkv chat on the slave side of a pty; stderr to a file."""

    def __init__(self, args, name):
        master, slave = pty.openpty()
        self.err_path = os.path.join(TMP, name + ".stderr")
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([MASKKV, "chat"] + args, stdin=slave, stdout=slave, stderr=err,
                                         env=ENV, cwd=ROOT, preexec_fn=controlling_terminal)
        os.close(slave)
        self.master = master
        self.out = b""

    def read_until(self, marker, start=0):
        """Output until `marker` appears after offset `start`; False past READ_TIMEOUT or at EOF."""
        end = time.monotonic() + READ_TIMEOUT
        while self.out.find(marker, start) < 0:
            left = end - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return False
                if not data:
                    return False
                self.out += data
        return True

    def editing(self):
        """Waits until libedit reads a line: the terminal out of canonical mode
        (a key typed before that would meet the cooked tty, as no person's
        can). False past READ_TIMEOUT."""
        end = time.monotonic() + READ_TIMEOUT
        while termios.tcgetattr(self.master)[3] & termios.ICANON:
            if time.monotonic() > end or self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return True

    def type(self, data, at_prompt=True):
        if at_prompt:
            check("libedit is reading the line", self.editing())
        os.write(self.master, data)

    def turn(self, line):
        """Types a line; returns the output from its echo to the next prompt."""
        start = len(self.out)
        self.type(line.encode() + b"\r")
        if not self.read_until(b"\r\n> ", start):
            return None
        return self.out[start:self.out.find(b"\r\n> ", start)]

    def finish(self):
        try:
            rc = self.proc.wait(READ_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait()
            fails.append("session did not end: killed")
        os.close(self.master)
        with open(self.err_path, "rb") as f:
            return rc, f.read().decode("utf-8", errors="replace")


def draws(chunk):
    """The texts drawn for an answer: each redraw starts with ESC[J."""
    return [d.replace(b"\r\n", b"\n").decode("utf-8", errors="replace").rstrip("\r")
            for d in chunk.split(b"\x1b[J")[1:]]


def generate_answer(messages):
    path = os.path.join(TMP, "messages.json")
    with open(path, "w") as f:
        json.dump(messages, f)
    r = subprocess.run([MASKKV, "generate", "-m", MODEL, "--messages", path, "--answer-prefix", PREFIX] + GEN,
                       capture_output=True, stdin=subprocess.DEVNULL, env=ENV, timeout=READ_TIMEOUT)
    check("generate --messages", r.returncode == 0, r.stderr.decode(errors="replace"))
    return PREFIX + r.stdout.decode().rstrip("\n")


def prompts_of(stderr):
    out, rest = [], stderr
    while "--- prompt ---\n" in rest:
        rest = rest.split("--- prompt ---\n", 1)[1]
        text, rest = rest.split("\n--- end of prompt ---\n", 1)
        out.append(text)
    return out


def session_two_turns():
    tok = PreTrainedTokenizerFast.from_pretrained(HF_DIR)
    with open(DOC, encoding="utf-8") as f:
        first_user = f.read() + "\n\n" + Q1
    s = Session(["-m", MODEL, "-f", DOC, "--answer-prefix", PREFIX, "--verbose-prompt"] + GEN, "two-turns")
    check("greeting and prompt", s.read_until(b"\r\n> ") and b"maskkv chat:" in s.out, repr(s.out[:300]))
    answers = []
    for q in (Q1, Q2, "/reset", Q1):
        chunk = s.turn(q)
        if chunk is None:
            check(f"turn {q!r}", False, f"no prompt after it: {s.out[-300:]!r}")
            break
        if q.startswith("/"):
            check("/reset says so", b"new conversation" in chunk, repr(chunk))
            continue
        shown = draws(chunk)
        final = shown[-1] if shown else ""
        check(f"turn {q!r} shown as it unmasks", any("_" in d for d in shown[:-1]), repr(shown))
        answers.append(final)
    s.type(b"\x04")
    s.read_until(b"\x00")  # to EOF
    rc, stderr = s.finish()
    check("Ctrl-D ends the chat with status 0", rc == 0, f"rc {rc}, stderr {stderr[-300:]!r}")
    if len(answers) != 3:
        return
    conv1 = [{"role": "user", "content": first_user}]
    conv2 = conv1 + [{"role": "assistant", "content": answers[0]}, {"role": "user", "content": Q2}]
    check("answer 1 = generate --messages", answers[0] == generate_answer(conv1), f"{answers[0]!r}")
    check("answer 2 = generate --messages with the history", answers[1] == generate_answer(conv2), f"{answers[1]!r}")
    check("answer after /reset = answer 1", answers[2] == answers[0], f"{answers[2]!r} vs {answers[0]!r}")
    check("the shipped model finds the code", answers[0] == PREFIX + "545", repr(answers[0]))
    prompts = prompts_of(stderr)
    want = [tok.apply_chat_template(c, add_generation_prompt=True, tokenize=False) + PREFIX for c in (conv1, conv2)]
    check("three prompts on stderr", len(prompts) == 3, f"{len(prompts)}")
    if len(prompts) == 3:
        check("prompt 1 = apply_chat_template", prompts[0] == want[0], f"{prompts[0][-200:]!r} vs {want[0][-200:]!r}")
        check("prompt 2 (history) = apply_chat_template", prompts[1] == want[1],
              f"{prompts[1][-300:]!r} vs {want[1][-300:]!r}")
        check("prompt after /reset = prompt 1", prompts[2] == prompts[0], f"{prompts[2][-200:]!r}")


def session_cancel():
    s = Session(["-m", MODEL, "--gen-len", "512", "--block-len", "512", "--steps", "512"], "cancel")
    check("prompt", s.read_until(b"\r\n> "), repr(s.out[-300:]))
    start = len(s.out)
    s.type(b"Tell me a long story\r")
    check("the answer starts", s.read_until(b"(reading: layer", start), repr(s.out[start:start + 300]))
    s.type(b"\x03", at_prompt=False)  # while it generates: the cooked terminal sends SIGINT
    check("Ctrl-C cancels the answer", s.read_until(b"(answer cancelled)", start), repr(s.out[-300:]))
    check("the prompt comes back", s.read_until(b"\r\n> ", start), repr(s.out[-300:]))
    after = len(s.out)
    s.type(b"abc")
    check("typed text echoed", s.read_until(b"abc", after), repr(s.out[after:]))
    s.type(b"\x03/exit\r")  # at once: the Ctrl-C still comes before the "/exit" typed after it
    s.read_until(b"\x00")  # to EOF
    rc, stderr = s.finish()
    check("Ctrl-C at the prompt clears the line; /exit ends with status 0", rc == 0, f"rc {rc}, {stderr[-300:]!r}")
    check("no answer after the cleared line", b"(reading" not in s.out[after:], repr(s.out[after:]))


def session_piped_sigint():
    """Not a terminal: a script's SIGINT ends the chat (it does not cancel and wait)."""
    p = subprocess.Popen([MASKKV, "chat", "-m", MODEL, "-f", DOC, "--answer-prefix", PREFIX] + GEN, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV, cwd=ROOT)
    p.stdin.write((Q1 + "\n").encode())
    p.stdin.flush()
    ready, _, _ = select.select([p.stdout], [], [], READ_TIMEOUT)
    line = p.stdout.readline().decode() if ready else ""
    check("piped: the answer line", line == PREFIX + "545\n", repr(line))
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(READ_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    check("piped: SIGINT ends the chat", rc == -signal.SIGINT, f"rc {rc}")
    p.stdin.close()
    p.stdout.close()


try:
    session_two_turns()
    session_cancel()
    session_piped_sigint()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
for f in fails:
    print("FAIL", f)
print(f"check_chat_pty: {n_checks - len(fails)} of {n_checks} checks passed")
sys.exit(1 if fails else 0)
