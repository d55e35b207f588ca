"""Loads libmaskkv.so.0 and declares the functions of maskkv.h that the
package calls (ctypes prototypes), plus the few public structs whose layout
the package reads: mkv_model_params, mkv_hparams, mkv_step_info and
mkv_chat_message. The generation request (mkv_gen_params) is never laid out
here: it is created by mkv_gen_params_new and filled by name.

Where the library comes from, first found wins:
  1. $MASKKV_LIB: a path to libmaskkv.so(.0) or a directory holding it;
  2. the copy shipped inside this package (maskkv/libmaskkv.so.0, put there
     by `pip install`);
  3. ../../build/libmaskkv.so beside this package in a source checkout
     (python/maskkv/ -> build/), so the package runs from the repository;
  4. the system's libmaskkv.so.0 (ldconfig, LD_LIBRARY_PATH).
"""

import ctypes
import ctypes.util
import os

from ._errors import error_for_status

_here = os.path.dirname(os.path.abspath(__file__))

c_int = ctypes.c_int
c_int32 = ctypes.c_int32
c_size_t = ctypes.c_size_t
c_bool = ctypes.c_bool
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
c_float = ctypes.c_float
POINTER = ctypes.POINTER


class ModelParams(ctypes.Structure):
    """mkv_model_params"""

    _fields_ = [("n_threads", c_int), ("max_memory", c_size_t), ("ctx_size", c_int), ("compute", c_int)]


class HParams(ctypes.Structure):
    """mkv_hparams"""

    _fields_ = [
        ("arch", c_int),
        ("n_layers", c_int),
        ("d_model", c_int),
        ("n_heads", c_int),
        ("n_kv_heads", c_int),
        ("head_dim", c_int),
        ("d_ff", c_int),
        ("n_vocab", c_int),
        ("n_ctx", c_int),
        ("rope_theta", c_float),
        ("norm_eps", c_float),
        ("rope_style", c_int),
        ("has_qkv_bias", c_bool),
        ("shift_logits", c_bool),
        ("mask_id", c_int32),
        ("bos_id", c_int32),
        ("eos_id", c_int32),
        ("eot_id", c_int32),
        ("pad_id", c_int32),
    ]


class StepInfoC(ctypes.Structure):
    """mkv_step_info"""

    _fields_ = [
        ("step", c_int),
        ("n_steps", c_int),
        ("gen_len", c_int),
        ("n_unmasked", c_int),
        ("answer", POINTER(c_int32)),
        ("mask_id", c_int32),
        ("model", c_void_p),
    ]


class ChatMessage(ctypes.Structure):
    """mkv_chat_message"""

    _fields_ = [("role", c_char_p), ("content", c_char_p)]


# int (*mkv_step_callback)(const mkv_step_info *info, void *user)
STEP_CALLBACK = ctypes.CFUNCTYPE(c_int, POINTER(StepInfoC), c_void_p)

MKV_TOKENIZE_PARSE_SPECIAL = 1 << 0
MKV_TOKENIZE_ADD_SPECIAL = 1 << 1
MKV_DETOKENIZE_SKIP_SPECIAL = 1 << 0
MKV_DETOKENIZE_LOSSY_UTF8 = 1 << 1
MKV_OK = 0
MKV_ERR_CANCELLED = 8

_status = c_int
_P = c_void_p  # opaque handles
_ids = POINTER(c_int32)

# name: (restype, argtypes)
_PROTOTYPES = {
    "mkv_version": (c_char_p, []),
    "mkv_last_error": (c_char_p, []),
    "mkv_last_status": (_status, []),
    "mkv_status_name": (c_char_p, [_status]),
    "mkv_free": (None, [c_void_p]),
    "mkv_parse_bytes": (c_bool, [c_char_p, c_char_p, POINTER(c_size_t)]),
    "mkv_model_params_default": (ModelParams, []),
    "mkv_compute_from_name": (ctypes.c_bool, [c_char_p, POINTER(c_int)]),
    "mkv_model_load_with": (_status, [c_char_p, POINTER(ModelParams), POINTER(_P)]),
    "mkv_model_free": (None, [_P]),
    "mkv_model_hparams": (POINTER(HParams), [_P]),
    "mkv_model_tokenizer": (_P, [_P]),
    "mkv_model_path": (c_char_p, [_P]),
    "mkv_model_source": (c_char_p, [_P]),
    "mkv_model_arch_name": (c_char_p, [_P]),
    "mkv_model_chat_format": (c_char_p, [_P]),
    "mkv_model_n_params": (ctypes.c_int64, [_P]),
    "mkv_tokenizer_n_vocab": (c_int, [_P]),
    "mkv_tokenize_ex": (_status, [_P, c_char_p, c_size_t, ctypes.c_uint, POINTER(_ids), POINTER(c_int)]),
    "mkv_detokenize_ex": (_status, [_P, _ids, c_int, ctypes.c_uint, POINTER(c_void_p), POINTER(c_size_t)]),
    "mkv_chat_apply": (_status, [_P, POINTER(ChatMessage), c_int, c_bool, POINTER(c_void_p)]),
    "mkv_model_logits": (_status, [_P, _ids, c_int, _ids, c_int, POINTER(c_float)]),
    "mkv_gen_params_new": (_P, []),
    "mkv_gen_params_free": (None, [_P]),
    "mkv_gen_params_set": (_status, [_P, c_char_p, c_char_p]),
    "mkv_gen_params_set_cache": (_status, [_P, c_char_p]),
    "mkv_gen_params_set_on_step": (None, [_P, STEP_CALLBACK, c_void_p]),
    "mkv_generate": (_status, [_P, _ids, c_int, _P, POINTER(_P)]),
    "mkv_gen_result_text": (c_void_p, [_P, POINTER(c_size_t)]),
    "mkv_gen_result_ids": (_ids, [_P, POINTER(c_int)]),
    "mkv_gen_result_json": (_status, [_P, POINTER(c_void_p), POINTER(c_size_t)]),
    "mkv_gen_result_free": (None, [_P]),
    "mkv_step_text": (_status, [POINTER(StepInfoC), c_bool, c_char_p, POINTER(c_void_p), POINTER(c_size_t)]),
}


def _candidates():
    env = os.environ.get("MASKKV_LIB")
    if env:
        if os.path.isdir(env):
            for name in ("libmaskkv.so.0", "libmaskkv.so"):
                if os.path.exists(os.path.join(env, name)):
                    return [os.path.join(env, name)]
        return [env]
    found = []
    shipped = os.path.join(_here, "libmaskkv.so.0")
    if os.path.exists(shipped):
        found.append(shipped)
    checkout = os.path.normpath(os.path.join(_here, "..", "..", "build", "libmaskkv.so"))
    if os.path.exists(checkout):
        found.append(checkout)
    found.append(ctypes.util.find_library("maskkv") or "libmaskkv.so.0")
    return found


def _load():
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)  # CDLL (not PyDLL): every call releases the GIL
        except OSError as e:
            errors.append(f"{path}: {e}")
            continue
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                raise ImportError(f"maskkv: {path} has no {name}: a libmaskkv older than this package") from None
            fn.restype = restype
            fn.argtypes = argtypes
        return lib, path
    raise ImportError(
        "maskkv: cannot load libmaskkv.so.0 ("
        + "; ".join(errors)
        + "). Install the package with `pip install ./python` from a maskkv checkout, "
        "or point MASKKV_LIB at an installed libmaskkv.so.0"
    )


lib, library_path = _load()


def check(status):
    """Raises the MaskKVError of a failed call (message from mkv_last_error,
    which is per thread: read on the thread that made the call)."""
    if status != MKV_OK:
        raise error_for_status(status, last_error())


def last_error():
    message = lib.mkv_last_error()
    return message.decode("utf-8", "replace") if message else ""


def take_bytes(ptr, n):
    """Copies n bytes from a library buffer and frees it (mkv_free)."""
    try:
        return ctypes.string_at(ptr, n) if ptr else b""
    finally:
        lib.mkv_free(ptr)
