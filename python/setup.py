"""Builds the maskkv wheel: the pure-Python package plus libmaskkv.so.0,
copied into maskkv/ by build_py (maskkv_build.py says where it comes from).
The wheel is tagged for the platform (py3-none-<plat>): it holds a native
library but no extension module, so one wheel serves every CPython 3."""

import os
import shutil
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import maskkv_build  # noqa: E402


class build_py_with_library(build_py):
    def run(self):
        super().run()
        source = maskkv_build.obtain_library(log=lambda m: self.announce(m, level=2))
        target = os.path.join(self.build_lib, "maskkv", maskkv_build.SONAME)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.realpath(source), target)
        os.chmod(target, 0o755)
        print(f"maskkv: shipping {source} as maskkv/{maskkv_build.SONAME}")


commands = {"build_py": build_py_with_library}
try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    try:
        from wheel.bdist_wheel import bdist_wheel
    except ImportError:
        bdist_wheel = None

if bdist_wheel is not None:

    class bdist_wheel_platform(bdist_wheel):
        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            return ("py3", "none", super().get_tag()[2])

    commands["bdist_wheel"] = bdist_wheel_platform

# In a checkout, setuptools' scratch files (build/, *.egg-info) go under the
# repository's build/ (ignored, removed by `make clean`), not into python/.
options = {}
root = maskkv_build.source_root()
if root:
    scratch = os.path.join(root, "build", "python")
    os.makedirs(scratch, exist_ok=True)
    options = {"build": {"build_base": scratch}, "egg_info": {"egg_base": scratch}}

setup(version=maskkv_build.package_version(), cmdclass=commands, options=options)
