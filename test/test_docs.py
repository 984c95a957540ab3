"""The documents' promises hold: every test docs/RELIABILITY.md names for a fault exists; every
field of msg/*.msg is documented; Skeleton3D's joint constants are skeleton.py's JOINT_NAMES;
package.xml, setup.py and CHANGELOG.rst name the same version."""

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


def _msg_lines(name):
    with open(os.path.join(ROOT, "msg", f"{name}.msg"), encoding="utf-8") as f:
        return [line.strip() for line in f.read().splitlines()]


def test_every_message_field_has_a_comment():
    """Each field of msg/*.msg has a comment on the line(s) just above it (or after it on its
    own line); a run of constants may share the comment above the run."""
    undocumented = []
    for path in sorted(glob.glob(os.path.join(ROOT, "msg", "*.msg"))):
        name = os.path.splitext(os.path.basename(path))[0]
        above = ""  # what the line above was: "comment", "constant" (documented) or ""
        for line in _msg_lines(name):
            if line.startswith("#") or not line:
                above = "comment" if line else ""
                continue
            constant = re.match(r"\w+ [A-Z][A-Z0-9_]*\s*=", line) is not None
            ok = "#" in line or above == "comment" or (constant and above == "constant")
            if not ok:
                undocumented.append(f"{name}: {line}")
            above = "constant" if constant and ok else ""
    assert not undocumented, undocumented


def test_skeleton3d_constants_are_joint_names():
    """msg/Skeleton3D.msg's `uint8 <JOINT>=<index>` constants are JOINT_NAMES in order, and
    NUM_JOINTS their number: subscribers index positions with them, so they may never drift."""
    from pose_lifting_core.skeleton import JOINT_NAMES

    constants = {}
    for line in _msg_lines("Skeleton3D"):
        m = re.fullmatch(r"uint8 ([A-Z][A-Z0-9_]*)=(\d+)", line.split("#", 1)[0].strip())
        if m:
            constants[m.group(1)] = int(m.group(2))
    num = constants.pop("NUM_JOINTS", None)
    assert constants == {n.upper(): i for i, n in enumerate(JOINT_NAMES)}
    assert num == len(JOINT_NAMES)


def test_package_xml_setup_py_and_changelog_name_one_version():
    """A version bump is never half done: package.xml's <version>, setup.py's version and the
    newest CHANGELOG.rst entry agree."""
    with open(os.path.join(ROOT, "package.xml"), encoding="utf-8") as f:
        xml = re.search(r"<version>([^<]+)</version>", f.read()).group(1)
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
        py = re.search(r"\bversion=\"([^\"]+)\"", f.read()).group(1)
    with open(os.path.join(ROOT, "CHANGELOG.rst"), encoding="utf-8") as f:
        newest = re.search(r"^(\d+\.\d+\.\d+) \(", f.read(), re.M).group(1)
    assert xml == py == newest, (xml, py, newest)
