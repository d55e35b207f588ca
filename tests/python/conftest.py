"""Shared set-up of the pytest checks of the Python package (test_package*.py):
the repository paths, the CLI to compare with, and the package imported from
python/ against build/libmaskkv.so (MASKKV_LIB, set by `make test-python`)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("MASKKV_LIB", os.path.join(ROOT, "build", "libmaskkv.so"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def repo_path(*parts):
    return os.path.join(ROOT, *parts)


def cli_path():
    return os.path.abspath(os.path.join(ROOT, os.environ.get("MASKKV", "build/maskkv")))


def run_cli(*args):
    """`maskkv ARGS...` -> (exit code, stdout, stderr)."""
    r = subprocess.run([cli_path(), *args], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope="session")
def shipped_model():
    import maskkv

    with maskkv.Model(repo_path("models", "llada-tiny-retrieval.gguf"), threads=1) as m:
        yield m
