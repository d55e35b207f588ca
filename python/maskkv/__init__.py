"""maskkv — diffusion language models (LLaDA, Dream) with MaskKV prompt-cache
eviction, from Python.

    import maskkv
    with maskkv.Model("models/llada-tiny-retrieval.gguf", threads=2) as m:
        r = m.generate([{"role": "user", "content": "The secret code of Edith is 4417. "
                         "What is the secret code of Edith?"}],
                       answer_prefix="The secret code of Edith is ",
                       gen_len=8, steps=8, block_len=8, cache="maskkv", budget=64)
        print(r.text, r.stats["kv_kept_per_layer"])

The package is a thin layer over the C library libmaskkv.so.0 (include/maskkv.h)
through ctypes, which ships with CPython: importing it needs no compiler, no
build of an extension module per Python version, and no headers — the one
native file is the library itself, which `pip install ./python` builds with
the repository's make (or takes from an installed libmaskkv.so.0) and puts
inside the package. The C API was made for this: opaque handles, the
generation request filled by option name (mkv_gen_params_set), results read
through accessors and one JSON line. ctypes calls through CDLL release the
GIL, so generations on several threads run at once; the per-step callback
takes the GIL back only for the Python on_step.

Errors raise MaskKVError(status, message), one subclass per status of
maskkv.h (UsageError, FileError, FormatError, UnsupportedError, InputError,
OutOfMemoryError, CancelledError).
"""

from ._errors import *  # noqa: F401,F403 - MaskKVError and one subclass per status
from ._errors import __all__ as _error_names
from ._lib import lib as _lib_handle
from ._lib import library_path
from ._model import Model, Result, StepInfo

__version__ = _lib_handle.mkv_version().decode()

__all__ = ["Model", "Result", "StepInfo", "library_path", "__version__"] + [
    name for name in _error_names if name != "error_for_status"
]
