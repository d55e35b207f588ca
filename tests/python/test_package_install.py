"""`pip install ./python` as a user runs it: into a new virtual environment,
with pip's build isolation (setuptools from PyPI), then the installed package
imported from outside the checkout answers like the CLI. Also the build
helper's search for an installed library (pkg-config, MASKKV_LIB). Needs PyPI
(setuptools, numpy; pip's cache after the first run), as `make test`'s .venv
does; `make test-python-install` runs only this file."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, repo_path, run_cli

sys.path.insert(0, repo_path("python"))
import maskkv_build  # noqa: E402

QUESTION = "The secret code of Edith is 4417. What is the secret code of Edith?"


def test_finds_an_installed_library_by_pkg_config_and_env(tmp_path):
    # the layout of `make install PREFIX=...` (made here: a concurrent make
    # install, as test-api's, shares build/maskkv.pc)
    prefix = tmp_path / "prefix"
    (prefix / "lib" / "pkgconfig").mkdir(parents=True)
    shutil.copyfile(repo_path("build", "libmaskkv.so"), prefix / "lib" / "libmaskkv.so.0")
    with open(repo_path("tools", "maskkv.pc.in")) as f:
        pc = f.read().replace("@PREFIX@", str(prefix)).replace("@VERSION@", maskkv_build.header_version(ROOT))
    (prefix / "lib" / "pkgconfig" / "maskkv.pc").write_text(pc)
    installed = str(prefix / "lib" / "libmaskkv.so.0")
    env = {k: v for k, v in os.environ.items() if k != "MASKKV_LIB"}
    env["PKG_CONFIG_PATH"] = str(prefix / "lib" / "pkgconfig")
    assert maskkv_build.find_installed(env) == installed
    assert maskkv_build.library_version(installed) == maskkv_build.header_version(ROOT)
    assert maskkv_build.find_installed(dict(env, MASKKV_LIB=str(prefix / "lib"))) == installed
    assert maskkv_build.obtain_library(dict(env, MASKKV_LIB=installed)) == installed
    with pytest.raises(maskkv_build.LibraryNotFound):
        maskkv_build.obtain_library(dict(env, MASKKV_LIB=str(tmp_path / "none.so")))


def test_pip_install_into_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("MASKKV_LIB", "PYTHONPATH")}
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", repo_path("python")],
                       capture_output=True, text=True, timeout=600, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    code = (
        "import json, os, maskkv\n"
        "m = maskkv.Model(os.environ['MODEL'], threads=1)\n"
        "r = m.generate(os.environ['PROMPT'], gen_len=8, steps=8, block_len=8, cache='maskkv', budget=16)\n"
        "print(json.dumps({'file': maskkv.__file__, 'lib': maskkv.library_path, 'version': maskkv.__version__,\n"
        "                  'text': r.text, 'ids': r.ids, 'kept': r.stats['kv_kept_per_layer']}))\n"
    )
    model = repo_path("models", "llada-tiny-retrieval.gguf")
    r = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                       env=dict(env, MODEL=model, PROMPT=QUESTION, OMP_WAIT_POLICY="PASSIVE"))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    site = str(venv)
    assert got["file"].startswith(site) and got["lib"].startswith(site), got
    assert got["lib"].endswith(os.path.join("maskkv", "libmaskkv.so.0"))
    assert got["version"] == maskkv_build.header_version(ROOT)
    # a platform wheel for every Python 3 (native library, no extension module)
    wheel_files = glob.glob(str(venv / "lib" / "python*" / "site-packages" / "maskkv-*.dist-info" / "WHEEL"))
    assert len(wheel_files) == 1, wheel_files
    with open(wheel_files[0]) as f:
        wheel = f.read()
    assert "Root-Is-Purelib: false" in wheel and re.search(r"^Tag: py3-none-linux_\w+$", wheel, re.M), wheel
    rc, out, err = run_cli("generate", "-m", model, "-p", QUESTION, "-t", "1", "--json", "--gen-len", "8",
                           "--steps", "8", "--block-len", "8", "--cache", "maskkv", "--budget", "16")
    assert rc == 0, err
    want = json.loads(out)
    assert (got["text"], got["ids"], got["kept"]) == (want["text"], want["tokens"], want["kv_kept_per_layer"])
