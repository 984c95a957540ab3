"""CMakeLists.txt registers every test suite for `colcon test` and `ctest` (issue 23, item 1).

A new folder of tests under test/, or a new test file directly in test/, that CMakeLists.txt does
not name would run under scripts/test.sh but silently never under colcon test; this fails
instead, naming it.
"""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH_TEST = "test/ros/test_launch_files.py"


def registered_suites(cmake_text):
    """The paths (relative to the source root) that `pose_lifting_add_pytest(name path timeout)`
    calls register, in order; comments are ignored."""
    code = "\n".join(line.split("#", 1)[0] for line in cmake_text.splitlines())
    return re.findall(r"^\s*pose_lifting_add_pytest\(\s*\S+\s+(\S+)\s+\d+\s*\)", code, re.M)


def launch_tests(cmake_text):
    """The files that add_launch_test() registers."""
    code = "\n".join(line.split("#", 1)[0] for line in cmake_text.splitlines())
    return re.findall(r"^\s*add_launch_test\(\s*(\S+)", code, re.M)


def suites_needed(root):
    """What must be registered: each folder directly under test/ holding a test_*.py anywhere
    below it, and each test_*.py directly in test/ (paths relative to the source root)."""
    test_dir = os.path.join(root, "test")
    needed = []
    for entry in sorted(os.listdir(test_dir)):
        path = os.path.join(test_dir, entry)
        if os.path.isfile(path) and re.fullmatch(r"test_\w+\.py", entry):
            needed.append(f"test/{entry}")
        elif os.path.isdir(path) and entry != "__pycache__":
            for _, _, files in os.walk(path):
                if any(re.fullmatch(r"test_\w+\.py", f) for f in files):
                    needed.append(f"test/{entry}")
                    break
    return needed


def registration_problems(root, cmake_text):
    """Suites not registered, registered paths that do not exist, and suites registered twice
    (one path inside another, which would run its tests twice)."""
    suites = [p.rstrip("/") for p in registered_suites(cmake_text)]
    problems = []
    for need in suites_needed(root):
        if not any(need == s or need.startswith(s + "/") for s in suites):
            problems.append(f"not registered: {need}")
    for s in suites:
        if not os.path.exists(os.path.join(root, s)):
            problems.append(f"registered but missing: {s}")
        for other in suites:
            if other != s and (s + "/").startswith(other + "/"):
                problems.append(f"registered twice: {s} (inside {other})")
    if len(set(suites)) != len(suites):
        problems.append(f"a path registered more than once: {suites}")
    return problems


def _read_cmake():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        return f.read()


def test_cmakelists_registers_every_test_suite():
    cmake = _read_cmake()
    assert registered_suites(cmake), "no pose_lifting_add_pytest() calls found in CMakeLists.txt"
    assert registration_problems(ROOT, cmake) == []


def test_the_launch_test_is_registered_with_add_launch_test():
    assert launch_tests(_read_cmake()) == [LAUNCH_TEST]
    assert os.path.isfile(os.path.join(ROOT, LAUNCH_TEST))


def test_packages_the_tests_find_are_declared_in_package_xml():
    """rosdep installs only what package.xml declares: each package the BUILD_TESTING block
    finds (ament_cmake_pytest, launch_testing_ament_cmake, ...) must be a dependency there."""
    cmake = _read_cmake()
    block = cmake[cmake.index("if(BUILD_TESTING)") :]
    found = set(re.findall(r"find_package\(\s*(\w+)", block)) - {"Python3"}
    assert {"ament_cmake_pytest", "launch_testing_ament_cmake"} <= found
    with open(os.path.join(ROOT, "package.xml"), encoding="utf-8") as f:
        declared = set(re.findall(r"<(?:\w+_)?depend>([\w-]+)</", f.read()))
    assert found - declared == set()
    assert {"python3-pytest", "python3-pytest-timeout"} <= declared


def test_the_check_fails_on_a_forgotten_suite(tmp_path):
    """The check itself: a tree with a suite, a nested suite, a top-level test file and a
    folder without tests, against CMake text that forgets some of them."""
    for rel in ("test/core/test_a.py", "test/new/deep/test_b.py", "test/test_c.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "test" / "data").mkdir()
    (tmp_path / "test" / "data" / "helper.py").write_text("")
    assert suites_needed(str(tmp_path)) == ["test/core", "test/new", "test/test_c.py"]

    complete = (
        "pose_lifting_add_pytest(pytest_core test/core 600)\n"
        "  pose_lifting_add_pytest(pytest_new test/new 600)\n"
        "pose_lifting_add_pytest(pytest_c test/test_c.py 600)\n"
    )
    assert registration_problems(str(tmp_path), complete) == []
    forgotten = complete.replace("  pose_lifting_add_pytest(pytest_new", "# commented out:")
    assert registration_problems(str(tmp_path), forgotten) == ["not registered: test/new"]
    twice = complete + "pose_lifting_add_pytest(pytest_deep test/new/deep 600)\n"
    assert registration_problems(str(tmp_path), twice) == [
        "registered twice: test/new/deep (inside test/new)"
    ]
    stale = complete + "pose_lifting_add_pytest(pytest_gone test/gone 600)\n"
    assert registration_problems(str(tmp_path), stale) == ["registered but missing: test/gone"]
