"""Build-time helper of setup.py (not installed): where the libmaskkv.so.0
that the wheel ships comes from, first found wins:

  1. $MASKKV_LIB: a path to libmaskkv.so(.0), or a directory holding it;
  2. a maskkv source checkout around this directory (python/..): the
     library is built there with the repository's make (`make
     build/libmaskkv.so`, which also installs missing build dependencies
     with apt-get, see tools/ensure_deps.sh);
  3. an installed library: `pkg-config --variable=libdir maskkv`
     (PKG_CONFIG_PATH for a `make install PREFIX=...`), then `ldconfig -p`.
"""

import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SONAME = "libmaskkv.so.0"


class LibraryNotFound(RuntimeError):
    pass


def source_root():
    """The maskkv checkout this directory belongs to, or None."""
    root = os.path.dirname(HERE)
    marks = ("Makefile", os.path.join("include", "maskkv.h"), os.path.join("src", "api"))
    return root if all(os.path.exists(os.path.join(root, m)) for m in marks) else None


def header_version(root):
    with open(os.path.join(root, "include", "maskkv.h"), encoding="utf-8") as f:
        m = re.search(r'#define MKV_VERSION_STRING "([^"]+)"', f.read())
    return m.group(1) if m else None


def from_env(env):
    path = env.get("MASKKV_LIB")
    if not path:
        return None
    if os.path.isdir(path):
        for name in (SONAME, "libmaskkv.so"):
            if os.path.isfile(os.path.join(path, name)):
                return os.path.join(path, name)
        raise LibraryNotFound(f"MASKKV_LIB={path}: no {SONAME} or libmaskkv.so in that directory")
    if not os.path.isfile(path):
        raise LibraryNotFound(f"MASKKV_LIB={path}: no such file")
    return path


def from_pkg_config(env):
    if not shutil.which("pkg-config"):
        return None
    r = subprocess.run(["pkg-config", "--variable=libdir", "maskkv"], capture_output=True, text=True, env=env)
    libdir = r.stdout.strip()
    path = os.path.join(libdir, SONAME)
    return path if r.returncode == 0 and libdir and os.path.isfile(path) else None


def from_ldconfig(env):
    for ldconfig in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        if shutil.which(ldconfig) or os.path.isfile(ldconfig):
            r = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, env=env)
            for line in r.stdout.splitlines():
                if line.strip().startswith(SONAME + " ") and "=>" in line:
                    path = line.split("=>", 1)[1].strip()
                    if os.path.isfile(path):
                        return path
            return None
    return None


def build_in_checkout(root, env, log=print):
    jobs = env.get("MASKKV_BUILD_JOBS") or str(os.cpu_count() or 1)
    cmd = ["make", "-C", root, f"-j{jobs}", "build/libmaskkv.so"]
    log("maskkv: building the C library: " + " ".join(cmd))
    # a make above pip (make test) must not hand its jobserver to this one
    env = {k: v for k, v in env.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(cmd, env=env)
    if r.returncode != 0:
        raise LibraryNotFound(f"maskkv: `{' '.join(cmd)}` failed (exit {r.returncode})")
    return os.path.join(root, "build", "libmaskkv.so")


def find_installed(env=None):
    """An installed libmaskkv.so.0 (MASKKV_LIB, pkg-config, ldconfig), or None."""
    env = dict(os.environ if env is None else env)
    return from_env(env) or from_pkg_config(env) or from_ldconfig(env)


def obtain_library(env=None, log=print):
    """The path of the library to ship: see the module's docstring."""
    env = dict(os.environ if env is None else env)
    path = from_env(env)
    if path:
        return path
    root = source_root()
    if root:
        return build_in_checkout(root, env, log)
    path = from_pkg_config(env) or from_ldconfig(env)
    if path:
        return path
    raise LibraryNotFound(
        f"maskkv: no {SONAME}: install from a maskkv checkout (pip install ./python builds it), "
        "or install the library (make install PREFIX=...) and set MASKKV_LIB or PKG_CONFIG_PATH"
    )


def library_version(path):
    """mkv_version() of a library file (None when it cannot be loaded)."""
    import ctypes

    try:
        lib = ctypes.CDLL(os.path.abspath(path))
    except OSError:
        return None
    lib.mkv_version.restype = ctypes.c_char_p
    return lib.mkv_version().decode()


def package_version(env=None):
    root = source_root()
    if root and not (env or os.environ).get("MASKKV_LIB"):
        return header_version(root) or "0.0.0"
    path = find_installed(env)
    return (library_version(path) if path else None) or "0.0.0"
