"""Exceptions of the maskkv package: one class per mkv_status of maskkv.h.

Every failure of the C library becomes a MaskKVError carrying the status code
(the number `maskkv` exits with) and the library's one-line message. The
subclasses let callers catch one kind; the usage and input errors are also
ValueErrors, the memory refusal a MemoryError, as Python code expects.
"""

__all__ = [
    "MaskKVError",
    "UsageError",
    "FileError",
    "FormatError",
    "UnsupportedError",
    "InputError",
    "OutOfMemoryError",
    "CancelledError",
    "error_for_status",
]


class MaskKVError(Exception):
    """A failure of libmaskkv: `status` (int, as in maskkv.h and the CLI's exit
    codes), `status_name` ("usage", "io", ...) and `message` (one line)."""

    status = 0
    status_name = "error"

    def __init__(self, status, message):
        super().__init__(status, message)
        self.status = int(status)
        self.message = str(message)
        self.status_name = _NAMES.get(self.status, "unknown")

    def __str__(self):
        return f"{self.message} [{self.status_name}, status {self.status}]"


class UsageError(MaskKVError, ValueError):
    """MKV_ERR_USAGE (2): a bad parameter value or an unknown option."""


class FileError(MaskKVError):
    """MKV_ERR_IO (3): a missing, unreadable or unwritable file."""


class FormatError(MaskKVError):
    """MKV_ERR_FORMAT (4): malformed, truncated or hostile file contents."""


class UnsupportedError(MaskKVError):
    """MKV_ERR_UNSUPPORTED (5): well-formed but unsupported (architecture, dtype, no tokenizer, ...)."""


class InputError(MaskKVError, ValueError):
    """MKV_ERR_INPUT (6): bad user input (token ids, prompt text, lengths)."""


class OutOfMemoryError(MaskKVError, MemoryError):
    """MKV_ERR_NOMEM (7): an allocation failed or the request is over the memory limit."""


class CancelledError(MaskKVError):
    """MKV_ERR_CANCELLED (8): a callback stopped the call."""


_CLASSES = {
    2: UsageError,
    3: FileError,
    4: FormatError,
    5: UnsupportedError,
    6: InputError,
    7: OutOfMemoryError,
    8: CancelledError,
}
_NAMES = {0: "ok", 2: "usage", 3: "io", 4: "format", 5: "unsupported", 6: "input", 7: "nomem", 8: "cancelled"}


def error_for_status(status, message):
    """The exception for a status code (MaskKVError itself for an unknown code)."""
    return _CLASSES.get(int(status), MaskKVError)(status, message)
