"""The documents' promises hold: every test docs/RELIABILITY.md names for a fault exists."""

import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_test_named_in_reliability_md_exists():
    """Each row maps a fault to its tests, as `test/x/test_y.py::test_z`, `test_y.py::test_z`
    or `::test_z` (in the file named last on that line); each must be a test function."""
    files = {}
    for path in glob.glob(os.path.join(ROOT, "test", "**", "test_*.py"), recursive=True):
        files.setdefault(os.path.basename(path), []).append(path)
    sources = {}
    missing = []
    with open(os.path.join(ROOT, "docs", "RELIABILITY.md"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        current = None
        for m in re.finditer(r"([\w/]*test_\w+\.py)|::(\w+)", line):
            if m.group(1):
                full = os.path.join(ROOT, m.group(1))
                found = [full] if os.path.exists(full) else files.get(os.path.basename(full), [])
                current = found[0] if len(found) == 1 else None
                if current is None:
                    missing.append(m.group(1))
            elif current is None:
                missing.append(f"::{m.group(2)} (no test file before it on its line)")
            else:
                if current not in sources:
                    with open(current, encoding="utf-8") as f:
                        sources[current] = f.read()
                if not re.search(rf"def {m.group(2)}\b", sources[current]):
                    missing.append(f"{os.path.relpath(current, ROOT)}::{m.group(2)}")
    assert not missing, missing
