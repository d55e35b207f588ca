"""Deterministic long-context retrieval tasks + the byte-level BPE tokenizer.

Tasks (all answers are short; every code is a 3-digit number that is ONE token,
every name / key is one token with its leading space):

* ``niah``  needle in a haystack: "The secret code of <Name> is <ddd>." at a random
  depth inside filler text, then "What is the secret code of <Name>?".
* ``kv``    multi-key associative recall: a block of lines "- <key>: <ddd>" (2..48
  pairs, unique keys) at a random depth inside filler text, then
  "What is the value of <key>?".
* ``two``   two needles with different names at random depths, then
  "What are the secret codes of <A> and <B>?" (answered in the order of the
  question, which is independent of the order in the text).

Answers come in two styles (``TaskGen.prefixed``):

* prefixed (evaluation sets, most of training stage "bind"): the prompt ends with an
  answer prefix in the assistant turn that restates the key, as RULER's and
  LongBench's prompts do: "... The secret code of <Name> is " -> "<ddd>";
  "... The value of <key> is " -> "<ddd>"; "... The secret codes: <A> is " ->
  "<dddA>, <B> is <dddB>". Every code then stands three tokens after its key, in
  the text ("<key>: <ddd>", "<Name> is <ddd>") and in the answer alike.
* bare (training stage 1): the prompt ends with the assistant header; "<ddd>",
  "<dddA> and <dddB>".

Filler: sentences of the texts in /usr/share/common-licenses (Debian base-files)
and of the docstrings of the Python standard library (both present on any
Debian/Ubuntu machine with python3), without digits, in document order
(a random contiguous run of sentences per sample).

Prompt length = number of tokens of the full chat-formatted prompt
(``<|startoftext|>...<|start_header_id|>assistant<|end_header_id|>\\n\\n``),
made <= the requested length and close to it.
"""

from __future__ import annotations

import glob
import json
import os
import random
import re
from pathlib import Path

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

SPECIALS = ["<|startoftext|>", "<|endoftext|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eot_id|>", "<|mdm_mask|>"]

LLADA_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
)

NAMES = """Alice Bob Carol David Emma Frank Grace Henry Irene Jack Karen Leo Maria Nina Oscar Paul
Quinn Rosa Sam Tina Victor Wendy Xavier Yara Zoe Adam Bella Chris Diana Ethan Fiona George Hannah
Ivan Julia Kevin Laura Mark Nora Olivia Peter Rachel Simon Tom Uma Vera Walter Amy Ben Clara Daniel
Eva Felix Helen Isaac Jane Kate Lucy Max Nick Omar Ruth Sara Tony Anna Eric Hugo Ida Jon Liam Mia
Noah Otto Rita Sophie Theo Ada Boris Cleo Dora Elsa Gus Hans Iris Joel Kurt Lena Milo Nadia Pia
Rex Stan Ted Ulla Vince Will Yves Zack Alan Beth Carl Dean Edith""".split()

KEYS = """apple river stone cloud tiger lemon paper glass music table window garden candle silver
forest bridge castle rabbit pepper orange violet planet rocket island mirror pencil ladder
button anchor basket bottle carpet circle dragon engine falcon feather flower hammer helmet
jacket kettle lantern magnet marble meadow needle ocean palace parrot pillow pocket puzzle
ribbon saddle shadow shield spider sponge summer thunder tomato tunnel turtle valley wagon
wallet winter wizard yellow zebra cactus cherry cotton desert dinner dollar eagle finger
forest goat harbor honey iron jungle kitten lizard lobster mango monkey napkin onion oyster
panda peach pirate potato queen radio robot salmon sandal scarf sheep snake spoon squid
statue sugar tablet tent ticket tower truck umbrella velvet violin walnut whale wheat wolf""".split()

WORDS_RE = re.compile(r"[A-Za-z][A-Za-z,;:'()\- ]*[A-Za-z)][.]?")


# --------------------------------------------------------------------------
# Filler text
# --------------------------------------------------------------------------

def _source_texts() -> list[str]:
    texts = []
    files = sorted(set(os.path.realpath(p) for p in glob.glob("/usr/share/common-licenses/*")))
    for f in files:
        if os.path.isfile(f):
            texts.append(Path(f).read_text(encoding="utf-8", errors="replace"))
    # python stdlib docstrings (pure-python modules of this interpreter, sorted)
    import ast
    import sysconfig
    stdlib = sysconfig.get_paths()["stdlib"]
    for f in sorted(glob.glob(os.path.join(stdlib, "*.py"))):
        try:
            tree = ast.parse(Path(f).read_text(encoding="utf-8", errors="replace"))
        except Exception:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
                d = ast.get_docstring(node)
                if d and len(d) > 200:
                    texts.append(d)
    return texts


def filler_sentences() -> list[str]:
    """Clean English sentences without digits (so no filler token looks like a code)."""
    out = []
    for t in _source_texts():
        t = re.sub(r"\s+", " ", t)
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", t):
            s = s.strip()
            if not (30 <= len(s) <= 300):
                continue
            if re.search(r"[0-9_<>{}\[\]|\\/@#$%^&*=+`~\"]", s):
                continue
            if not s[0].isupper() or s[-1] not in ".!?":
                continue
            if not s.isascii():
                continue
            if "secret" in s.lower() or " code" in s.lower():
                continue
            out.append(s)
    return out


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------

def train_tokenizer(n_regular: int, sentences: list[str]) -> dict:
    """Byte-level BPE (LLaMA-3 Split regex + ByteLevel), n_regular learned tokens, then the
    LLaDA special tokens (ids n_regular .. n_regular+5). Returns tokenizer.json as a dict."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    corpus = list(sentences)
    # make every 3-digit number, every name and every key a single token
    for r in range(24):
        corpus.append(" ".join(str(n) for n in range(100, 1000)))
    for r in range(60):
        corpus.append(" ".join(NAMES) + " " + " ".join(KEYS))
        corpus.append("The secret code of Alice is 123. What is the secret code of Bob? "
                      "What are the secret codes of Carol and David? What is the value of apple?")
    trainer = trainers.BpeTrainer(vocab_size=n_regular, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False, min_frequency=2)
    tok.train_from_iterator(corpus, trainer)
    assert tok.get_vocab_size() == n_regular, tok.get_vocab_size()
    for s in SPECIALS:
        tok.add_special_tokens([AddedToken(s, special=True, normalized=False, lstrip=False, rstrip=False,
                                           single_word=False)])
    j = json.loads(tok.to_str())
    j["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
    return j


def load_tokenizer(tj: dict):
    from tokenizers import Tokenizer
    return Tokenizer.from_str(json.dumps(tj))


# --------------------------------------------------------------------------
# Task generation
# --------------------------------------------------------------------------

# prefixed multi-query answers take 5 tokens per further query (", <key> is <code>"):
# 6 queries fill a 32-token answer (train.DENSE_ANS_LEN) with <|eot_id|>
PREFIXED_MAX_QUERIES = 6


def chat_prompt(content: str, prefix: str = "") -> str:
    """LLaDA chat prompt; prefix = the start of the assistant's answer (an answer prefix,
    as RULER and LongBench prompts end with), "" for none."""
    return ("<|startoftext|><|start_header_id|>user<|end_header_id|>\n\n" + content.strip()
            + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" + prefix)


class TaskGen:
    def __init__(self, tok, sentences: list[str], prefixed: bool = True, restate: bool = False):
        self.tok = tok
        # with prefixed False, restate True: bare prompts whose answer restates the question
        # ("The value of apple is 123"): the model writes the answer prefix itself, so the
        # code still stands three tokens after its key (train.py stage "mix")
        self.restate = restate
        # True: the prompt ends with an answer prefix that restates the key
        # ("... The value of apple is " -> "123"); False: bare answers ("123").
        self.prefixed = prefixed
        self.sent = sentences
        self.slen = [len(e) for e in (x.ids for x in tok.encode_batch([" " + s for s in sentences],
                                                                       add_special_tokens=False))]
        v = tok.get_vocab()

        def single(word: str) -> bool:
            return len(tok.encode(word, add_special_tokens=False).ids) == 1

        self.codes = [str(n) for n in range(100, 1000) if single(str(n))]
        self.code_ids = [v[c] for c in self.codes]
        self.names = [n for n in dict.fromkeys(NAMES) if single(" " + n)]
        self.keys = [k for k in dict.fromkeys(KEYS) if single(" " + k)]
        self.eot = v["<|eot_id|>"]
        self.eos = v["<|endoftext|>"]
        self.mask = v["<|mdm_mask|>"]
        self.bos = v["<|startoftext|>"]
        self.overhead = len(tok.encode(chat_prompt("x"), add_special_tokens=False).ids) - 1

    # filler of about n tokens as a list of sentences
    def _filler(self, rng: random.Random, n: int) -> list[str]:
        out, tot = [], 0
        i = rng.randrange(len(self.sent))
        if n <= 8:
            return out
        while tot < n:
            out.append(self.sent[i])
            tot += self.slen[i]
            i = (i + 1) % len(self.sent)
        return out

    def _build(self, rng, n_tokens, make, prefix=""):
        """make(rng, filler_sentences) -> (content, answer). Shrinks filler until the
        prompt (with the answer prefix) fits in n_tokens; without filler it may exceed
        a very short n_tokens (training batches only; eval lengths are >= 256)."""
        budget = n_tokens
        for attempt in range(50):
            content, answer, meta, n_fill = make(rng, budget)
            ids = self.tok.encode(chat_prompt(content, prefix), add_special_tokens=False).ids
            if len(ids) <= n_tokens or n_fill == 0:
                return content, answer, ids, meta
            budget -= (len(ids) - n_tokens) + 2
        raise RuntimeError("could not fit prompt")

    def _insert(self, rng, sents: list[str], items: list[str], depths=None):
        """Insert items (sentences) into the sentence list at random (or given) depths."""
        sents = list(sents)
        pos = []
        for k, it in enumerate(items):
            d = depths[k] if depths is not None else rng.random()
            p = int(round(d * len(sents)))
            sents.insert(p, it)
            pos.append(p)
        return sents

    def _answer(self, prefix: str, prefixed_answer: str, plain_answer: str):
        """-> (prefix, answer) for this generator's answer style."""
        if self.prefixed:
            return prefix, prefixed_answer
        return ("", prefix + prefixed_answer) if self.restate else ("", plain_answer)

    def _listed(self, first: str, items: list[tuple[str, str]]) -> tuple[str, str]:
        """Answer prefix and answer for several (key, code) items in the prefixed style:
        "<first> <k1> is " -> "<c1>, <k2> is <c2>, ..." (every code three tokens after its key,
        as in the text: "<k>: <c>" / "<k> is <c>")."""
        prefix = f"{first} {items[0][0]} is "
        return prefix, ", ".join([items[0][1]] + [f"{k} is {c}" for k, c in items[1:]])

    def niah(self, rng: random.Random, n_tokens: int):
        name, code = rng.choice(self.names), rng.choice(self.codes)
        depth = rng.random()
        q = f"What is the secret code of {name}?"

        def make(r, budget):
            fill_n = budget - self.overhead - 22
            s = self._filler(r, fill_n)
            s = self._insert(r, s, [f"The secret code of {name} is {code}."], [depth])
            return " ".join(s) + "\n\n" + q, ans, {"name": name, "depth": round(depth, 4)}, len(s) - 1
        prefix, ans = self._answer(f"The secret code of {name} is ", code, code)
        c, a, ids, meta = self._build(rng, n_tokens, make, prefix)
        return {"task": "niah", "content": c, "prefix": prefix, "answer": a, **meta}

    def kv(self, rng: random.Random, n_tokens: int):
        npairs = rng.randint(2, max(2, min(48, n_tokens // 24)))
        keys = rng.sample(self.keys, npairs)
        vals = [rng.choice(self.codes) for _ in keys]
        qi = rng.randrange(npairs)
        depth = rng.random()
        block = "Here is the list of keys and values:\n" + "\n".join(f"- {k}: {v}" for k, v in zip(keys, vals)) + "\n"
        q = f"What is the value of {keys[qi]}?"
        blen = len(self.tok.encode(block, add_special_tokens=False).ids)

        def make(r, budget):
            fill_n = budget - self.overhead - blen - 12
            s = self._filler(r, fill_n)
            p = int(round(depth * len(s)))
            text = " ".join(s[:p])
            text = (text + "\n" if text else "") + block + " ".join(s[p:])
            return text.strip() + "\n\n" + q, ans, {"key": keys[qi], "n_pairs": npairs,
                                                    "depth": round(depth, 4)}, len(s)
        prefix, ans = self._answer(f"The value of {keys[qi]} is ", vals[qi], vals[qi])
        c, a, ids, meta = self._build(rng, n_tokens, make, prefix)
        return {"task": "kv", "content": c, "prefix": prefix, "answer": a, **meta}

    def two(self, rng: random.Random, n_tokens: int):
        a, b = rng.sample(self.names, 2)
        ca, cb = rng.choice(self.codes), rng.choice(self.codes)
        da, db = rng.random(), rng.random()
        q = f"What are the secret codes of {a} and {b}?"

        def make(r, budget):
            fill_n = budget - self.overhead - 44
            s = self._filler(r, fill_n)
            s = self._insert(r, s, [f"The secret code of {a} is {ca}.", f"The secret code of {b} is {cb}."],
                             [da, db])
            return " ".join(s) + "\n\n" + q, ans, {"names": [a, b], "depths": [round(da, 4), round(db, 4)]}, len(s) - 2
        prefix, ans = self._answer(*self._listed("The secret codes:", [(a, ca), (b, cb)]), f"{ca} and {cb}")
        c, ans, ids, meta = self._build(rng, n_tokens, make, prefix)
        return {"task": "two", "content": c, "prefix": prefix, "answer": ans, **meta}

    # ---- training-only tasks that make key matching necessary on every sample
    def kv2(self, rng: random.Random, n_tokens: int):
        """Key-value recall with two queries ("What are the values of A and B?" ->
        "<vA> and <vB>", the two-needle answer format): twice the matching signal
        per sample, and no way to score by copying any listed value."""
        n_tokens = max(n_tokens, 64)
        hi = max(2, min(48, (n_tokens - 40) // 7))
        npairs = rng.randint(min(3, hi), hi)
        keys = rng.sample(self.keys, npairs)
        vals = [rng.choice(self.codes) for _ in keys]
        qa, qb = rng.sample(range(npairs), 2)
        depth = rng.random()
        block = "Here is the list of keys and values:\n" + "\n".join(f"- {k}: {v}" for k, v in zip(keys, vals)) + "\n"
        q = f"What are the values of {keys[qa]} and {keys[qb]}?"
        blen = len(self.tok.encode(block, add_special_tokens=False).ids)

        def make(r, budget):
            s = self._filler(r, budget - self.overhead - blen - 16)
            p = int(round(depth * len(s)))
            text = " ".join(s[:p])
            text = (text + "\n" if text else "") + block + " ".join(s[p:])
            return text.strip() + "\n\n" + q, ans, {"n_pairs": npairs}, len(s)
        prefix, ans = self._answer(*self._listed("The values:", [(keys[qa], vals[qa]), (keys[qb], vals[qb])]),
                                   f"{vals[qa]} and {vals[qb]}")
        c, a, ids, meta = self._build(rng, n_tokens, make, prefix)
        return {"task": "kv2", "content": c, "prefix": prefix, "answer": a, **meta}

    def multi(self, rng: random.Random, n_tokens: int):
        """Several needles with different names (3..8) at random depths; the
        question asks for two of them (the two-needle answer format)."""
        n_tokens = max(n_tokens, 64)
        hi = max(2, min(8, (n_tokens - 30) // 10))
        k = rng.randint(min(3, hi), hi)
        names = rng.sample(self.names, k)
        codes = [rng.choice(self.codes) for _ in names]
        depths = [rng.random() for _ in names]
        qa, qb = rng.sample(range(k), 2)
        q = f"What are the secret codes of {names[qa]} and {names[qb]}?"

        def make(r, budget):
            s = self._filler(r, budget - self.overhead - 22 * k - 8)
            s = self._insert(r, s, [f"The secret code of {n} is {c}." for n, c in zip(names, codes)], depths)
            return " ".join(s) + "\n\n" + q, ans, {"n_needles": k}, len(s) - k
        prefix, ans = self._answer(*self._listed("The secret codes:", [(names[qa], codes[qa]), (names[qb], codes[qb])]),
                                   f"{codes[qa]} and {codes[qb]}")
        c, a, ids, meta = self._build(rng, n_tokens, make, prefix)
        return {"task": "multi", "content": c, "prefix": prefix, "answer": a, **meta}

    def kvmany(self, rng: random.Random, n_tokens: int, max_queries: int = 10):
        """Key-value recall asking for up to max_queries keys at once ("What are the
        values of A and B and C?" -> "<vA> and <vB> and <vC>"): dense supervision
        of the key -> value lookup (trained with a longer answer, see train.py)."""
        if self.prefixed:
            max_queries = min(max_queries, PREFIXED_MAX_QUERIES)
        n_tokens = max(n_tokens, 64)
        hi = max(2, min(48, (n_tokens - 40 - 2 * max_queries) // 7))
        npairs = rng.randint(min(3, hi), hi)
        keys = rng.sample(self.keys, npairs)
        vals = [rng.choice(self.codes) for _ in keys]
        qs = rng.sample(range(npairs), min(npairs, rng.randint(2, max_queries)))
        depth = rng.random()
        block = "Here is the list of keys and values:\n" + "\n".join(f"- {k}: {v}" for k, v in zip(keys, vals)) + "\n"
        q = "What are the values of " + " and ".join(keys[i] for i in qs) + "?"
        blen = len(self.tok.encode(block + q, add_special_tokens=False).ids)

        def make(r, budget):
            s = self._filler(r, budget - self.overhead - blen - 6)
            p = int(round(depth * len(s)))
            text = " ".join(s[:p])
            text = (text + "\n" if text else "") + block + " ".join(s[p:])
            return text.strip() + "\n\n" + q, ans, {"n_pairs": npairs}, len(s)
        prefix, ans = self._answer(*self._listed("The values:", [(keys[i], vals[i]) for i in qs]),
                                   " and ".join(vals[i] for i in qs))
        c, a, ids, meta = self._build(rng, n_tokens, make, prefix)
        return {"task": "kvmany", "content": c, "prefix": prefix, "answer": a, **meta}

    def multimany(self, rng: random.Random, n_tokens: int, max_queries: int = 10):
        """Several needles (up to 12) and a question for up to max_queries of them."""
        if self.prefixed:
            max_queries = min(max_queries, PREFIXED_MAX_QUERIES)
        n_tokens = max(n_tokens, 64)
        hi = max(2, min(12, (n_tokens - 30 - 2 * max_queries) // 10))
        k = rng.randint(min(3, hi), hi)
        names = rng.sample(self.names, k)
        codes = [rng.choice(self.codes) for _ in names]
        depths = [rng.random() for _ in names]
        qs = rng.sample(range(k), min(k, rng.randint(2, max_queries)))
        q = "What are the secret codes of " + " and ".join(names[i] for i in qs) + "?"

        def make(r, budget):
            s = self._filler(r, budget - self.overhead - 10 * k - 2 * len(qs) - 10)
            s = self._insert(r, s, [f"The secret code of {n} is {c}." for n, c in zip(names, codes)], depths)
            return " ".join(s) + "\n\n" + q, ans, {"n_needles": k}, len(s) - k
        prefix, ans = self._answer(*self._listed("The secret codes:", [(names[i], codes[i]) for i in qs]),
                                   " and ".join(codes[i] for i in qs))
        c, a, ids, meta = self._build(rng, n_tokens, make, prefix)
        return {"task": "multimany", "content": c, "prefix": prefix, "answer": a, **meta}

    def sample(self, task: str, rng: random.Random, n_tokens: int) -> dict:
        return getattr(self, task)(rng, n_tokens)

    # ----------------------------------------------------------------------
    def encode_example(self, ex: dict, ans_len: int):
        """-> (prompt ids, answer ids of length ans_len = answer + <|eot_id|> + <|endoftext|> pad)."""
        p = self.tok.encode(chat_prompt(ex["content"], ex.get("prefix", "")), add_special_tokens=False).ids
        a = self.tok.encode(ex["answer"], add_special_tokens=False).ids + [self.eot]
        assert len(a) <= ans_len, (ex["answer"], a)
        a = a + [self.eos] * (ans_len - len(a))
        return p, a


TASKS = ["niah", "kv", "two"]           # evaluated (held-out sets)
TRAIN_ONLY_TASKS = ["kv2", "multi"]       # stage 2 of training only
DENSE_TASKS = ["kvmany", "multimany"]     # stage 2, batches with a 32-token answer


def make_eval_set(gen: TaskGen, task: str, length: int, n: int, seed: int) -> list[dict]:
    rng = random.Random(f"eval-{seed}-{task}-{length}")
    out = []
    for i in range(n):
        ex = gen.sample(task, rng, length)
        prompt = chat_prompt(ex["content"], ex["prefix"])
        if not ex["prefix"]:
            del ex["prefix"]  # bare style: the files of the shipped model, byte for byte
        if gen.restate and not gen.prefixed:
            # the answer restates the question; scored on its codes (eval.answer_correct,
            # `maskkv eval`): "545" and "The secret code of Edith is 545" both count
            ex["match"] = "codes"
        p = gen.tok.encode(prompt, add_special_tokens=False).ids
        ex["prompt_tokens"] = len(p)
        ex["length_bucket"] = length
        ex["id"] = f"{task}-{length}-{i}"
        ex["prompt_ids"] = p
        ex["prompt"] = prompt
        out.append(ex)
    return out
