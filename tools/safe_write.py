"""The project's writer discipline for Python helpers (as src/util/safe_write.c
for the engine): a file is written to a temporary file in its own directory,
flushed, fsync'd and renamed over the target, so that an interrupted run leaves
the old file or the complete new one, never a truncated one.

    from safe_write import write_text
    write_text("BENCHMARKS.md", doc)
"""
import os
import tempfile


def write_bytes(path, data: bytes):
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path) and not os.path.isfile(path):
        raise SystemExit(f"error: {path} exists and is not a regular file; refusing to replace it")
    fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
            fp.flush()
            os.fsync(fp.fileno())
        if os.path.exists(path):
            os.chmod(temp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def write_text(path, text: str):
    write_bytes(path, text.encode("utf-8"))
