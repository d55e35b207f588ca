"""maskkv.Model: a loaded model, its tokenizer and chat template, generation
and logits, over the C API of libmaskkv (maskkv.h)."""

import ctypes
import json
import operator
import os
import threading

from . import _lib
from ._errors import InputError, UnsupportedError, UsageError, error_for_status
from ._lib import lib

__all__ = ["Model", "Result", "StepInfo"]


def _encode(text, what):
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    # lone surrogates become invalid UTF-8, which the library refuses (InputError)
    return text.encode("utf-8", "surrogatepass")


def _c_string(text, what):
    data = _encode(text, what)
    if b"\0" in data:
        raise InputError(6, f"{what} contains a NUL character at offset {data.index(0)}")
    return data


def _id_array(ids, what):
    """A sequence of ints -> (c_int32 array, n); ids that do not fit int32 are InputError."""
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"{what} must be a sequence of ints, not {type(ids).__name__}")
    values = []
    for i, x in enumerate(ids):
        try:
            v = operator.index(x)
        except TypeError:
            raise TypeError(f"{what}[{i}] is {type(x).__name__}, not an int") from None
        if not -(1 << 31) <= v < (1 << 31):
            raise InputError(6, f"{what}[{i}] = {v} is out of range")
        values.append(v)
    return (ctypes.c_int32 * len(values))(*values), len(values)


def _option_text(name, value):
    """A Python value as the text mkv_gen_params_set parses."""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, (int, float, str)):
        return str(value).encode("utf-8", "surrogatepass")
    if isinstance(value, os.PathLike):
        return os.fsencode(value)
    raise UsageError(2, f"{name}: {type(value).__name__} is not a value for this option")


class StepInfo:
    """What on_step receives after every denoising step (copied: it stays
    valid after the callback returns)."""

    __slots__ = ("step", "n_steps", "gen_len", "n_unmasked", "answer", "mask_id", "text", "draft")

    def __init__(self, info):
        self.step = info.step  # steps done so far, 1..n_steps
        self.n_steps = info.n_steps  # steps requested (with a threshold, fewer may run)
        self.gen_len = info.gen_len
        self.n_unmasked = info.n_unmasked  # answer positions committed so far
        self.answer = info.answer[: info.gen_len]  # ids; mask_id where still masked
        self.mask_id = info.mask_id
        # the committed run from the start of the answer up to the first masked
        # position or EOS/EOT: text a stream can send and never take back
        self.text = _step_text(info, True, None)
        # every committed token in position order, each masked position as "_"
        self.draft = _step_text(info, False, b"_")

    def __repr__(self):
        return f"StepInfo(step={self.step}/{self.n_steps}, unmasked={self.n_unmasked}/{self.gen_len}, text={self.text!r})"


def _step_text(info, prefix_only, mask_text):
    text = ctypes.c_void_p()
    n = ctypes.c_size_t()
    status = lib.mkv_step_text(ctypes.byref(info), prefix_only, mask_text, ctypes.byref(text), ctypes.byref(n))
    data = _lib.take_bytes(text.value, n.value)
    return data.decode("utf-8", "replace") if status == _lib.MKV_OK else ""


class Result:
    """A generation: `text` (the answer, str), `ids` (the answer's token ids,
    before the first EOS/EOT/pad), `stats` (the statistics of `maskkv generate
    --json`: n_prompt, steps, seconds, time per part, peak_rss_bytes, kv_bytes,
    kv_kept_per_layer, ...), and `cancelled` (True when on_step stopped it:
    then `ids` is the answer as it stood, mask_id where still masked, `text`
    its committed start (StepInfo.text), `stats` only {"steps", "n_unmasked"})."""

    __slots__ = ("text", "ids", "stats", "cancelled", "n_prompt")

    def __init__(self, text, ids, stats, cancelled, n_prompt):
        self.text = text
        self.ids = ids
        self.stats = stats
        self.cancelled = cancelled
        self.n_prompt = n_prompt

    @property
    def stopped(self):
        """Alias of `cancelled`."""
        return self.cancelled

    def __repr__(self):
        return f"Result(text={self.text!r}, ids={self.ids!r}, cancelled={self.cancelled})"


class _Progress:
    """State of one generation's step callback: the user's on_step, what it
    raised, and the answer when it asked to stop."""

    def __init__(self, on_step):
        self.on_step = on_step
        self.error = None
        self.stopped_at = None

    def __call__(self, info_p, _user):
        # Runs on the generating thread with the GIL re-acquired by ctypes.
        # Nothing may escape: an exception (KeyboardInterrupt included, which
        # is how Ctrl-C reaches a long generation) is kept and cancels.
        try:
            info = info_p.contents
            if self.on_step is None:
                return 0
            step = StepInfo(info)
            if self.on_step(step):
                self.stopped_at = step
                return 1
            return 0
        except BaseException as e:  # noqa: BLE001 - re-raised by generate()
            self.error = e
            return 1


class Model:
    """A diffusion LM (LLaDA or Dream) loaded by libmaskkv.

    Model(path, threads=2, ctx_size=None, max_memory=None, compute=None)
      path        a .gguf file or a Hugging Face checkpoint directory
      threads     OpenMP threads of each call (0 or None: OpenMP's default)
      ctx_size    context limit in tokens of every call (None: the trained context)
      max_memory  bytes (int) or "8G": PROCESS-WIDE limit on the library's
                  allocations (one limit for every model); None leaves it
      compute     "f32", "bf16" or "auto"/None: precision of every call (auto: bf16
                  where the CPU's bf16 dot products are fast and the weights are
                  bf16 or quantized); generate(compute=...) overrides it

    Thread safety: a Model may be used from several threads at once
    (tokenize, generate, logits); every call releases the GIL while the
    library works. close() refuses while a call is running.
    """

    def __init__(self, path, threads=2, ctx_size=None, max_memory=None, compute=None):
        self._handle = None
        self._lock = threading.Lock()
        self._active = 0
        params = lib.mkv_model_params_default()
        params.n_threads = _nonnegative("threads", threads)
        params.ctx_size = _nonnegative("ctx_size", ctx_size)
        if compute is not None:
            value = ctypes.c_int()
            if not isinstance(compute, str) or not lib.mkv_compute_from_name(compute.encode(), ctypes.byref(value)):
                raise UsageError(2, f"compute: unknown value {compute!r} (auto, f32 or bf16)")
            params.compute = value.value
        if max_memory is not None:
            if isinstance(max_memory, str):
                limit = ctypes.c_size_t()
                if not lib.mkv_parse_bytes(b"max_memory", max_memory.encode(), ctypes.byref(limit)):
                    raise error_for_status(lib.mkv_last_status(), _lib.last_error())
                params.max_memory = limit.value
            else:
                params.max_memory = _nonnegative("max_memory", max_memory)
        handle = ctypes.c_void_p()
        _lib.check(lib.mkv_model_load_with(os.fsencode(path), ctypes.byref(params), ctypes.byref(handle)))
        self._handle = handle.value
        hp = lib.mkv_model_hparams(self._handle).contents
        self.hparams = {name: getattr(hp, name) for name, _ in _lib.HParams._fields_}
        self.path = lib.mkv_model_path(self._handle).decode("utf-8", "surrogateescape")
        self.arch = lib.mkv_model_arch_name(self._handle).decode()
        self.source = lib.mkv_model_source(self._handle).decode()
        self.chat_format = lib.mkv_model_chat_format(self._handle).decode()
        self._tokenizer = lib.mkv_model_tokenizer(self._handle)

    # ----------------------------------------------------------- lifetime
    def close(self):
        """Frees the model (idempotent). Raises RuntimeError while another
        thread is still running a call on it."""
        with self._lock:
            if self._active:
                raise RuntimeError(f"maskkv.Model.close: {self._active} call(s) still running on this model")
            handle, self._handle = self._handle, None
        if handle:
            lib.mkv_model_free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle and lib is not None:  # (module globals may be gone at interpreter exit)
            lib.mkv_model_free(handle)

    def __repr__(self):
        state = "closed" if self._handle is None else f"{self.arch}, vocab {self.n_vocab}"
        return f"maskkv.Model({self.path!r}, {state})"

    def _enter(self):
        with self._lock:
            if self._handle is None:
                raise ValueError("maskkv.Model: the model is closed")
            self._active += 1
            return self._handle

    def _leave(self):
        with self._lock:
            self._active -= 1

    # ------------------------------------------------------------ facts
    @property
    def n_vocab(self):
        """Rows of the logits (the model's vocabulary, may exceed the tokenizer's)."""
        return self.hparams["n_vocab"]

    @property
    def n_ctx(self):
        """The trained context in tokens."""
        return self.hparams["n_ctx"]

    @property
    def mask_id(self):
        return self.hparams["mask_id"]

    @property
    def eos_id(self):
        return self.hparams["eos_id"]

    def _tok(self):
        if not self._tokenizer:
            raise UnsupportedError(5, f"{self.path} has no tokenizer; give token ids")
        return self._tokenizer

    # -------------------------------------------------------- tokenizer
    def tokenize(self, text, special=True, add_special=False):
        """Token ids of `text`, as HF `tokenizer.encode(text, add_special_tokens=add_special)`;
        special=True matches special tokens written in the text ("<|eot_id|>")."""
        data = _encode(text, "text")
        flags = (_lib.MKV_TOKENIZE_PARSE_SPECIAL if special else 0) | (
            _lib.MKV_TOKENIZE_ADD_SPECIAL if add_special else 0
        )
        ids = ctypes.POINTER(ctypes.c_int32)()
        n = ctypes.c_int()
        self._enter()
        try:
            status = lib.mkv_tokenize_ex(self._tok(), data, len(data), flags, ctypes.byref(ids), ctypes.byref(n))
            try:
                _lib.check(status)
                return ids[: n.value]
            finally:
                lib.mkv_free(ids)
        finally:
            self._leave()

    def detokenize(self, ids, skip_special=False):
        """The text of token ids, as HF `tokenizer.decode` (invalid UTF-8 -> U+FFFD)."""
        array, n = _id_array(ids, "ids")
        flags = _lib.MKV_DETOKENIZE_LOSSY_UTF8 | (_lib.MKV_DETOKENIZE_SKIP_SPECIAL if skip_special else 0)
        text = ctypes.c_void_p()
        length = ctypes.c_size_t()
        self._enter()
        try:
            status = lib.mkv_detokenize_ex(self._tok(), array, n, flags, ctypes.byref(text), ctypes.byref(length))
            data = _lib.take_bytes(text.value, length.value)
            _lib.check(status)
            return data.decode("utf-8", "replace")
        finally:
            self._leave()

    def apply_chat(self, messages, add_generation_prompt=True):
        """Renders [{"role": "system"|"user"|"assistant", "content": str}, ...]
        with the model's chat template; tokenize the text with special=True."""
        if isinstance(messages, (str, bytes)) or not hasattr(messages, "__len__"):
            raise TypeError("messages must be a list of {'role': ..., 'content': ...} dicts")
        array = (_lib.ChatMessage * len(messages))()
        for i, m in enumerate(messages):
            try:
                role, content = m["role"], m["content"]
            except (TypeError, KeyError):
                raise TypeError(f"messages[{i}] must be a dict with 'role' and 'content'") from None
            array[i].role = _c_string(role, f"messages[{i}]['role']")
            array[i].content = _c_string(content, f"messages[{i}]['content']")
        text = ctypes.c_void_p()
        handle = self._enter()
        try:
            status = lib.mkv_chat_apply(handle, array, len(messages), bool(add_generation_prompt), ctypes.byref(text))
            data = ctypes.string_at(text.value) if text.value else b""
            lib.mkv_free(text)
            _lib.check(status)
            return data.decode("utf-8", "replace")
        finally:
            self._leave()

    # ----------------------------------------------------------- logits
    def logits(self, ids, positions=None):
        """One bidirectional forward pass over `ids` (no masks added: put
        mask_id where you want them): a numpy float32 array [n, n_vocab] for
        every position, or for `positions` only. Raw rows (Dream's shift is not
        applied)."""
        import numpy as np

        array, n = _id_array(ids, "ids")
        if positions is None:
            pos, n_pos = None, n
        else:
            pos, n_pos = _id_array(positions, "positions")
        out = np.empty((n_pos, self.n_vocab), dtype=np.float32)
        handle = self._enter()
        try:
            status = lib.mkv_model_logits(
                handle, array, n, pos, n_pos, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            )
            _lib.check(status)
            return out
        finally:
            self._leave()

    # ------------------------------------------------------- generation
    def generate(
        self,
        prompt,
        gen_len=None,
        steps=None,
        block_len=None,
        cache="maskkv",
        budget=256,
        temperature=None,
        seed=None,
        on_step=None,
        answer_prefix=None,
        **options,
    ):
        """Generates gen_len tokens after `prompt` by masked-diffusion denoising.

        prompt   str (tokenized with special tokens), list of token ids, or a
                 list of chat messages (rendered with apply_chat first)
        gen_len, steps, block_len, temperature, seed: as `maskkv generate`
                 (None: its defaults 128, 128, 32, 0, 0)
        cache    none | prefix | dllm | maskkv | snapkv | pyramidkv | squeeze |
                 adakv | streaming | random; budget: prompt K/V pairs kept per
                 head for the eviction modes
        on_step  callable(StepInfo) called after every step; a true return
                 stops the generation (Result.cancelled); an exception it
                 raises stops it and is re-raised here
        answer_prefix  text the answer starts with (str or messages prompts)
        options  any other `maskkv generate` option by name, e.g. alg="entropy",
                 top_p=0.9, no_eos=True, select="snapkv", profile="x.json"
        Returns a Result; errors raise MaskKVError subclasses with the status.
        """
        ids, n = self._prompt_ids(prompt, answer_prefix)
        values = [
            ("gen_len", gen_len),
            ("steps", steps),
            ("block_len", block_len),
            ("budget", budget),
            ("temp", temperature),
            ("seed", seed),
        ]
        values += list(options.items())
        progress = _Progress(on_step)
        callback = _lib.STEP_CALLBACK(progress)
        params = lib.mkv_gen_params_new()
        if not params:
            raise error_for_status(lib.mkv_last_status(), _lib.last_error())
        keep = []  # option texts the request points to ("profile")
        result = ctypes.c_void_p()
        try:
            if cache is not None:
                _lib.check(lib.mkv_gen_params_set_cache(params, _encode(cache, "cache")))
            for name, value in values:
                if value is None:
                    continue
                text = _option_text(name, value)
                keep.append(text)
                _lib.check(lib.mkv_gen_params_set(params, name.encode(), text))
            lib.mkv_gen_params_set_on_step(params, callback, None)
            handle = self._enter()
            try:
                status = lib.mkv_generate(handle, ids, n, params, ctypes.byref(result))
            finally:
                self._leave()
            if progress.error is not None:
                raise progress.error
            if status == _lib.MKV_ERR_CANCELLED and progress.stopped_at is not None:
                s = progress.stopped_at
                return Result(s.text, s.answer, {"steps": s.step, "n_unmasked": s.n_unmasked}, True, n)
            _lib.check(status)
            return self._result(result.value, n)
        finally:
            lib.mkv_gen_result_free(result)
            lib.mkv_gen_params_free(params)

    def _prompt_ids(self, prompt, answer_prefix):
        if isinstance(prompt, str):
            text = prompt
        elif isinstance(prompt, (list, tuple)) and prompt and isinstance(prompt[0], dict):
            text = self.apply_chat(prompt, add_generation_prompt=True)
        else:
            if answer_prefix is not None:
                raise UsageError(2, "answer_prefix needs a text or messages prompt, not token ids")
            return _id_array(prompt, "prompt")
        if answer_prefix is not None:
            text += answer_prefix
        return _id_array(self.tokenize(text, special=True), "prompt")

    @staticmethod
    def _result(handle, n_prompt):
        length = ctypes.c_size_t()
        text = lib.mkv_gen_result_text(handle, ctypes.byref(length))
        n = ctypes.c_int()
        ids = lib.mkv_gen_result_ids(handle, ctypes.byref(n))
        line = ctypes.c_void_p()
        line_len = ctypes.c_size_t()
        _lib.check(lib.mkv_gen_result_json(handle, ctypes.byref(line), ctypes.byref(line_len)))
        stats = json.loads(_lib.take_bytes(line.value, line_len.value).decode("utf-8"))
        stats.pop("text", None)
        stats.pop("tokens", None)
        answer = ctypes.string_at(text, length.value).decode("utf-8", "replace") if text else None
        return Result(answer, ids[: n.value] if n.value else [], stats, False, n_prompt)


def _nonnegative(name, value):
    if value is None:
        return 0
    try:
        v = operator.index(value)
    except TypeError:
        raise UsageError(2, f"{name}: {value!r} is not an integer") from None
    if not 0 <= v < (1 << 31) and not (name == "max_memory" and 0 <= v < (1 << 63)):
        raise UsageError(2, f"{name}: {v} is out of range")
    return v
