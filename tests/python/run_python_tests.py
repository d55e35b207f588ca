#!/usr/bin/env python3
"""Checks that need PyPI packages (gguf, tokenizers, numpy): each tests/python/check_*.py
is run; one whose package is missing reports SKIP and is not counted as passed.
Then the pytest tests of the Python package (tests/python/test_*.py), each counted."""
import os
import subprocess
import sys
import glob
import importlib.util
import re

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

# The Python package (python/): pytest over tests/python/test_*.py, counted per test.
if importlib.util.find_spec("pytest") is None:
    skipped += 1
    print("SKIP test_*.py: pytest is not installed (pip install -r tests/requirements.txt)")
else:
    targets = sorted(glob.glob(os.path.join(here, "test_*.py")))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *targets],
                       capture_output=True, text=True)
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?)", r.stdout.splitlines()[-1] if r.stdout else "")}
    passed += counts.get("passed", 0)
    skipped += counts.get("skipped", 0)
    bad = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    if r.returncode != 0 and bad == 0:
        bad = 1  # pytest itself failed (collection, usage)
    failed += bad
    print(("ok  " if r.returncode == 0 else "FAIL") + f" pytest {' '.join(os.path.basename(t) for t in targets)}: "
          + (r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "no output"))
    if r.returncode != 0 or counts.get("skipped"):
        print(r.stdout[-20000:] + r.stderr[-5000:])
print(f"python: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
