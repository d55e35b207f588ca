"""The maskkv Python package (python/) against things it must agree with: the
`maskkv` CLI (same generation for the same options and seed), HF `tokenizers`
(tokenize/detokenize), the official PyTorch forward and generate goldens
(tests/golden/), and the library's status codes for bad arguments."""
import ctypes
import json
import os
import pathlib
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

from conftest import repo_path, run_cli

import maskkv

SHIPPED = repo_path("models", "llada-tiny-retrieval.gguf")
QUESTION = "The secret code of Edith is 4417. What is the secret code of Edith?"
PREFIX = "The secret code of Edith is "


def test_library_is_the_build_and_version_matches_header():
    with open(repo_path("include", "maskkv.h")) as f:
        header = f.read()
    assert f'#define MKV_VERSION_STRING "{maskkv.__version__}"' in header
    assert os.path.samefile(maskkv.library_path, repo_path("build", "libmaskkv.so"))
    # CDLL, not PyDLL: every foreign call releases the GIL
    from maskkv._lib import lib

    assert not isinstance(lib, ctypes.PyDLL)
    assert lib._func_flags_ & ctypes._FUNCFLAG_PYTHONAPI == 0


# ------------------------------------------------------------------ tokenizer
@pytest.mark.parametrize("model_dir", ["llada-tiny", "dream-tiny"])
def test_tokenize_detokenize_equal_hf_tokenizers(model_dir):
    tokenizers = pytest.importorskip("tokenizers")
    ref = tokenizers.Tokenizer.from_file(repo_path("tests", "models", model_dir, "tokenizer.json"))
    texts = [
        "Hello world, the quick brown fox.",
        "  leading spaces\nand\ttabs 12345 ",
        "caf\u00e9 \u00fcber na\u00efve \u2014 \u65e5\u672c\u8a9e \U0001f600",
        "<|endoftext|>special in the middle<|endoftext|>",
        "",
    ]
    with maskkv.Model(repo_path("tests", "models", model_dir), threads=1) as m:
        for text in texts:
            ids = m.tokenize(text)
            assert ids == ref.encode(text, add_special_tokens=False).ids, text
            assert m.detokenize(ids) == ref.decode(ids, skip_special_tokens=False), text
            assert m.detokenize(ids, skip_special=True) == ref.decode(ids, skip_special_tokens=True), text
        # invalid UTF-8 bytes in the ids' text: U+FFFD as HF decode
        cut = m.tokenize("\u65e5")[:1] if len(m.tokenize("\u65e5")) > 1 else m.tokenize("\u65e5")
        assert m.detokenize(cut) == ref.decode(cut)


def test_tokenize_special_flag(shipped_model):
    m = shipped_model
    with_special = m.tokenize("<|eot_id|>")
    without = m.tokenize("<|eot_id|>", special=False)
    assert len(with_special) == 1 and len(without) > 1
    assert m.detokenize(without) == "<|eot_id|>"


@pytest.mark.parametrize("model_dir", ["tests/models/llada-tiny", "tests/models/dream-tiny",
                                       "models/llada-tiny-retrieval"])
def test_apply_chat_equals_transformers(model_dir):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("jinja2")
    ref = transformers.PreTrainedTokenizerFast.from_pretrained(repo_path(model_dir))
    conversations = [
        [{"role": "user", "content": "Code of Edith?"}],
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi there \u00e9 <|x|>\n"}],
    ]
    with maskkv.Model(repo_path(model_dir), threads=1) as m:
        for messages in conversations:
            text = m.apply_chat(messages, add_generation_prompt=True)
            assert text == ref.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            assert m.tokenize(text) == ref.encode(text, add_special_tokens=False)


# ------------------------------------------------------------- generation
def cli_generate(model, *args):
    rc, out, err = run_cli("generate", "-m", model, "-t", "1", "--json", *args)
    assert rc == 0, err
    return json.loads(out)


# statistics that do not depend on timing or on the process's memory
DETERMINISTIC = ["unknown_ids", "n_prompt", "gen_len", "steps", "kv_bytes", "kv_bytes_decode", "model_bytes",
                 "cache", "full_passes", "partial_steps", "budget", "kv_prompt_kept", "kv_kept_per_layer"]

CASES = [
    # (model, python prompt kind, python kwargs, CLI args)
    (SHIPPED, "chat", dict(gen_len=8, steps=8, block_len=8, cache="maskkv", budget=64),
     ["--chat", "-p", QUESTION, "--answer-prefix", PREFIX, "--gen-len", "8", "--steps", "8", "--block-len", "8",
      "--cache", "maskkv", "--budget", "64"]),
    (SHIPPED, "text", dict(gen_len=12, steps=6, block_len=4, cache="snapkv", budget=8, temperature=0.8, seed=7,
                           remasking="random", window=4),
     ["-p", QUESTION, "--gen-len", "12", "--steps", "6", "--block-len", "4", "--cache", "snapkv", "--budget", "8",
      "--temp", "0.8", "--seed", "7", "--remasking", "random", "--window", "4"]),
    (repo_path("tests", "models", "llada-tiny"), "ids", dict(gen_len=16, steps=8, block_len=8, cache="dllm",
                                                                prompt_refresh=3, transfer_ratio=0.5, no_eos=True),
     ["--gen-len", "16", "--steps", "8", "--block-len", "8", "--cache", "dllm", "--prompt-refresh", "3",
      "--transfer-ratio", "0.5", "--no-eos"]),
    (repo_path("tests", "models", "dream-tiny-q8_0.gguf"), "text",
     dict(gen_len=10, steps=5, cache="pyramidkv", budget=6, alg="entropy", temperature=0.5, top_p=0.9, seed=3),
     ["-p", QUESTION, "--gen-len", "10", "--steps", "5", "--cache", "pyramidkv", "--budget", "6", "--alg", "entropy",
      "--temp", "0.5", "--top-p", "0.9", "--seed", "3"]),
    (SHIPPED, "text", dict(gen_len=8, steps=4, block_len=8, cache="maskkv", budget=24, head_alloc="uniform",
                           profile=pathlib.Path(repo_path("models", "llada-tiny-retrieval.profile.json"))),
     ["-p", QUESTION, "--gen-len", "8", "--steps", "4", "--block-len", "8", "--cache", "maskkv", "--budget", "24",
      "--head-alloc", "uniform", "--profile", repo_path("models", "llada-tiny-retrieval.profile.json")]),
    (repo_path("tests", "models", "llada-tiny-f16.gguf"), "text",
     dict(gen_len=8, steps=8, block_len=8, cache="none", budget=None, cfg=1.5),
     ["-p", QUESTION, "--gen-len", "8", "--steps", "8", "--block-len", "8", "--cfg", "1.5"]),
]


@pytest.mark.parametrize("model_path,kind,kwargs,cli_args", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_generate_equals_cli(model_path, kind, kwargs, cli_args):
    ids_prompt = [336, 46, 77, 313, 308, 79, 261, 259, 256, 72, 76, 68, 258, 260]
    with maskkv.Model(model_path, threads=1) as m:
        if kind == "chat":
            r = m.generate([{"role": "user", "content": QUESTION}], answer_prefix=PREFIX, **kwargs)
        elif kind == "ids":
            r = m.generate(ids_prompt, **kwargs)
            cli_args = ["--ids", " ".join(map(str, ids_prompt))] + cli_args
        else:
            r = m.generate(QUESTION, **kwargs)
    want = cli_generate(model_path, *cli_args)
    assert not r.cancelled
    assert r.text == want["text"]
    assert r.ids == want["tokens"]
    assert set(r.stats) == set(want) - {"text", "tokens"}
    for key in DETERMINISTIC:
        assert r.stats.get(key) == want.get(key), key
    assert r.n_prompt == want["n_prompt"]


def test_shipped_model_answers(shipped_model):
    """`make run`'s question: one code hidden in 4 KB of filler (models/example-niah.txt)."""
    with open(repo_path("models", "example-niah.txt")) as f:
        document = f.read()
    r = shipped_model.generate([{"role": "user", "content": document}], answer_prefix=PREFIX,
                               gen_len=8, steps=8, block_len=8, budget=64)
    assert r.text.startswith("545"), r.text
    assert r.stats["cache"] == "maskkv" and r.stats["budget"] == 64
    assert len(r.stats["kv_kept_per_layer"]) == shipped_model.hparams["n_layers"]


def golden_generations(golden_dir):
    k = 0
    while os.path.exists(repo_path("tests", "golden", golden_dir, f"gen_{k}.json")):
        with open(repo_path("tests", "golden", golden_dir, f"gen_{k}.json")) as f:
            yield json.load(f)
        k += 1


@pytest.mark.parametrize("model,golden_dir", [("llada-tiny", "llada-tiny"), ("dream-tiny", "dream-tiny")])
def test_generate_equals_official_goldens(model, golden_dir):
    """Official LLaDA generate.py / Dream diffusion_generate at temperature 0."""
    checked = 0
    with maskkv.Model(repo_path("tests", "models", model), threads=1) as m:
        stops = {m.hparams[k] for k in ("eos_id", "eot_id", "pad_id") if m.hparams[k] >= 0}
        for doc in golden_generations(golden_dir):
            p = doc["params"]
            gen_len = p.get("gen_length", p.get("max_new_tokens"))
            r = m.generate(doc["prompt_ids"], gen_len=gen_len, steps=p["steps"],
                           block_len=p.get("block_length", gen_len), cache="none", budget=None,
                           cfg=p.get("cfg_scale", 0.0), alg=p.get("alg", "maskgit_plus"), eps=p.get("eps", 1e-3))
            expected = doc["output_ids"]
            cut = next((i for i, t in enumerate(expected) if t in stops), len(expected))
            assert r.ids == expected[:cut], doc
            checked += 1
    assert checked >= 3


def test_threads_share_one_model(shipped_model):
    kwargs = dict(gen_len=8, steps=8, block_len=8, budget=32)
    prompts = [QUESTION, "The secret code of Bob is 1234. What is the secret code of Bob?"]
    alone = [shipped_model.generate(p, **kwargs) for p in prompts]
    results = [None] * 4
    errors = []

    def work(i):
        try:
            results[i] = shipped_model.generate(prompts[i % 2], **kwargs)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and all(r is not None for r in results)
    for i, r in enumerate(results):
        assert (r.text, r.ids) == (alone[i % 2].text, alone[i % 2].ids)


# --------------------------------------------------------------- callbacks
def test_on_step_sees_every_step_and_the_final_text(shipped_model):
    seen = []
    r = shipped_model.generate(QUESTION, gen_len=8, steps=4, block_len=8, budget=32, on_step=seen.append)
    assert [s.step for s in seen] == [1, 2, 3, 4]
    assert all(s.n_steps == 4 and s.gen_len == 8 and len(s.answer) == 8 for s in seen)
    assert [s.n_unmasked for s in seen] == [2, 4, 6, 8]
    assert all(sum(t != s.mask_id for t in s.answer) == s.n_unmasked for s in seen)
    assert seen[-1].answer[: len(r.ids)] == r.ids
    assert seen[-1].text == r.text
    assert all(len(s.draft) >= s.gen_len - s.n_unmasked and s.draft.count("_") >= s.gen_len - s.n_unmasked
               for s in seen)
    assert all(seen[i + 1].text.startswith(seen[i].text) for i in range(len(seen) - 1))


def test_on_step_cancels(shipped_model):
    calls = []

    def stop_at_3(step):
        calls.append(step.step)
        return step.step == 3

    r = shipped_model.generate(QUESTION, gen_len=8, steps=8, block_len=8, budget=32, on_step=stop_at_3)
    assert r.cancelled and r.stopped
    assert calls == [1, 2, 3]
    assert r.stats == {"steps": 3, "n_unmasked": 3}
    assert len(r.ids) == 8 and sum(t != shipped_model.mask_id for t in r.ids) == 3
    # the model is fine afterwards
    full = shipped_model.generate(QUESTION, gen_len=8, steps=8, block_len=8, budget=32)
    assert not full.cancelled and full.stats["steps"] == 8


def test_exception_in_on_step_cancels_and_is_raised(shipped_model):
    class Boom(Exception):
        pass

    calls = []

    def explode(step):
        calls.append(step.step)
        if step.step == 2:
            raise Boom("from on_step")

    with pytest.raises(Boom, match="from on_step"):
        shipped_model.generate(QUESTION, gen_len=8, steps=8, block_len=8, budget=32, on_step=explode)
    assert calls == [1, 2]
    before = shipped_model.generate(QUESTION, gen_len=8, steps=8, block_len=8, budget=32)
    assert before.stats["steps"] == 8


def test_keyboard_interrupt_in_on_step_cancels(shipped_model):
    def interrupt(step):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        shipped_model.generate(QUESTION, gen_len=8, steps=8, block_len=8, budget=32, on_step=interrupt)


# ------------------------------------------------------------------ logits
def read_golden(set_name, k):
    base = repo_path("tests", "golden", set_name, f"logits_{k}")
    if not os.path.exists(base + ".ids"):
        return None, None
    with open(base + ".ids") as f:
        ids = [int(x) for x in f.read().split()]
    return ids, np.fromfile(base + ".f32", dtype="<f4")


@pytest.mark.parametrize("model,golden", [
    ("llada-tiny", "llada-tiny"),
    ("llada-tiny-f32.gguf", "llada-tiny"),
    ("dream-tiny", "dream-tiny"),
    ("llada-tiny-q8_0.gguf", "gguf/llada-tiny-q8_0"),
    ("dream-tiny-q8_0.gguf", "gguf/dream-tiny-q8_0"),
])
def test_logits_equal_forward_goldens(model, golden):
    """Official PyTorch forward (f32 sets) or the numpy reference on the GGUF's
    dequantized weights (gguf/ sets): max |a-b| / max |b| <= 1e-4, as tests/unit."""
    compared = 0
    with maskkv.Model(repo_path("tests", "models", model), threads=1, compute="f32") as m:
        for k in range(16):
            ids, ref = read_golden(golden, k)
            if ids is None:
                break
            out = m.logits(ids)
            assert out.dtype == np.float32 and out.shape == (len(ids), m.n_vocab)
            ref = ref.reshape(len(ids), m.n_vocab)
            err = np.max(np.abs(out.astype(np.float64) - ref)) / np.max(np.abs(ref))
            assert err <= 1e-4, (model, k, err)
            # a subset of positions gives the same rows
            pos = list(range(len(ids) - 1, -1, -3))
            np.testing.assert_array_equal(m.logits(ids, positions=pos), out[pos])
            compared += 1
    assert compared >= 3


# ----------------------------------------------------------- bad arguments
def expect(cls, status, fn, *args, match=None, **kwargs):
    with pytest.raises(cls) as info:
        fn(*args, **kwargs)
    e = info.value
    assert isinstance(e, maskkv.MaskKVError) and e.status == status, e
    assert e.message and "\n" not in e.message
    if match:
        assert match in e.message, e.message
    return e


def test_bad_generation_arguments_raise_with_status(shipped_model):
    m = shipped_model
    expect(maskkv.UsageError, 2, m.generate, QUESTION, no_such_option=3, match="no_such_option")
    expect(maskkv.UsageError, 2, m.generate, QUESTION, cache="bogus", match="maskkv")
    expect(maskkv.UsageError, 2, m.generate, QUESTION, budget=0, match="budget")
    expect(maskkv.UsageError, 2, m.generate, QUESTION, gen_len=-1)
    expect(maskkv.UsageError, 2, m.generate, QUESTION, gen_len="many")
    expect(maskkv.UsageError, 2, m.generate, QUESTION, alg="magic", match="magic")
    expect(maskkv.UsageError, 2, m.generate, QUESTION, top_p=1.5, match="top_p")
    expect(maskkv.UsageError, 2, m.generate, QUESTION, gen_len=[8])
    expect(maskkv.UsageError, 2, m.generate, [1, 2, 3], answer_prefix="x")
    expect(maskkv.InputError, 6, m.generate, [1, 2, 10 ** 6], gen_len=4, steps=4, block_len=4)
    expect(maskkv.InputError, 6, m.generate, [1, 2, 2 ** 40])
    expect(maskkv.InputError, 6, m.generate, [], match="empty")
    expect(maskkv.InputError, 6, m.generate, QUESTION, gen_len=64, ctx_size=20, match="ctx-size")
    expect(maskkv.InputError, 6, m.tokenize, "bad \udcff surrogate")
    expect(maskkv.InputError, 6, m.detokenize, [5, 10 ** 6])
    expect(maskkv.InputError, 6, m.logits, [1, 2, 10 ** 6])
    expect(maskkv.InputError, 6, m.apply_chat, [{"role": "user", "content": "a\0b"}], match="NUL")
    with pytest.raises(TypeError):
        m.tokenize(b"bytes")
    with pytest.raises(TypeError):
        m.logits(["a"])
    # usage and input errors are ValueErrors too
    with pytest.raises(ValueError):
        m.generate(QUESTION, cache="bogus")


def test_status_codes_equal_the_cli(shipped_model):
    for py_kwargs, cli_args in [
        (dict(budget=0), ["--budget", "0"]),
        (dict(cache="bogus"), ["--cache", "bogus"]),
        (dict(gen_len=64, ctx_size=20), ["--gen-len", "64", "--ctx-size", "20"]),
    ]:
        with pytest.raises(maskkv.MaskKVError) as info:
            shipped_model.generate(QUESTION, **py_kwargs)
        rc, _, err = run_cli("generate", "-m", SHIPPED, "-p", QUESTION, *cli_args)
        assert info.value.status == rc, (py_kwargs, err)


def test_bad_models_raise_with_status(tmp_path):
    expect(maskkv.FileError, 3, maskkv.Model, str(tmp_path / "missing.gguf"))
    cut = tmp_path / "cut.gguf"  # version 3, 1 tensor, 5 keys, then nothing
    cut.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1, 5))
    expect(maskkv.FormatError, 4, maskkv.Model, str(cut))
    future = tmp_path / "future.gguf"
    future.write_bytes(b"GGUF" + struct.pack("<IQQ", 9, 0, 0))
    expect(maskkv.UnsupportedError, 5, maskkv.Model, str(future), match="version")
    expect(maskkv.UsageError, 2, maskkv.Model, SHIPPED, threads=-1)
    expect(maskkv.UsageError, 2, maskkv.Model, SHIPPED, max_memory="lots")
    with maskkv.Model(SHIPPED, threads=1, ctx_size=20) as m:
        expect(maskkv.InputError, 6, m.generate, QUESTION, gen_len=8, match="ctx-size 20")
        expect(maskkv.InputError, 6, m.logits, list(range(1, 30)))


def test_memory_limit_refuses_with_nomem():
    # max_memory is process-wide: checked in a child process
    code = (
        "import maskkv, sys\n"
        "try:\n"
        f"    maskkv.Model({SHIPPED!r}, threads=1, max_memory='64K')\n"
        "except maskkv.OutOfMemoryError as e:\n"
        "    print(e.status, isinstance(e, MemoryError)); sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=repo_path("python")))
    assert r.returncode == 0 and r.stdout.split() == ["7", "True"], r.stdout + r.stderr


def test_close_and_context_manager():
    m = maskkv.Model(SHIPPED, threads=1)
    assert m.n_vocab == m.hparams["n_vocab"] and m.arch == "llada"
    m.close()
    m.close()
    with pytest.raises(ValueError, match="closed"):
        m.tokenize("x")
    with maskkv.Model(SHIPPED) as m2:
        assert m2.tokenize("x")
    with pytest.raises(ValueError):
        m2.generate("x")


def test_close_refused_while_generating():
    m = maskkv.Model(SHIPPED, threads=1)
    refused = []

    def try_close(step):
        if step.step == 1:
            try:
                m.close()
            except RuntimeError as e:
                refused.append(str(e))

    r = m.generate(QUESTION, gen_len=8, steps=2, block_len=8, budget=32, on_step=try_close)
    assert refused and "running" in refused[0] and r.stats["steps"] == 2
    m.close()
