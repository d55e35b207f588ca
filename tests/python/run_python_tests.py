#!/usr/bin/env python3
"""Checks that need PyPI packages (gguf, tokenizers, numpy): each tests/python/check_*.py
is run; one whose package is missing reports SKIP and is not counted as passed."""
import os
import subprocess
import sys
import glob

here = os.path.dirname(os.path.abspath(__file__))
passed = failed = skipped = 0
for path in sorted(glob.glob(os.path.join(here, "check_*.py"))):
    r = subprocess.run([sys.executable, path], capture_output=True, text=True)
    name = os.path.basename(path)
    if r.returncode == 77:
        skipped += 1
        print(f"SKIP {name}: {r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ''}")
    elif r.returncode == 0:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}\n{r.stdout}\n{r.stderr}")
print(f"python: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
