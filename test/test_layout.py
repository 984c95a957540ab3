"""The shape of the code (issue 23, item 6, "A runtime you can see").

What the nodes import is the runtime (pose_lifting_core without its tooling/ subpackage, and
pose_lifting_ros): none of training, evaluation, adaptation, data readers, CLI or rendering. The
modules of both packages import one another without cycles, counting imports inside functions
too. No function of either package is longer than 100 lines.
"""

import ast
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("pose_lifting_core", "pose_lifting_ros")
TOOLING = "pose_lifting_core.tooling"
NODES = (
    "pose_lifting_ros.pose_lifter",
    "pose_lifting_ros.keypoint_lifter",
    "pose_lifting_ros.video_source",
)
MAX_FUNCTION_LINES = 100


def package_modules(root=ROOT, packages=PACKAGES):
    """{dotted module name: path} of every .py file under the packages (a package is its
    __init__.py)."""
    modules = {}
    for package in packages:
        for folder, dirs, files in os.walk(os.path.join(root, package)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for f in files:
                if not f.endswith(".py"):
                    continue
                path = os.path.join(folder, f)
                parts = os.path.relpath(path, root)[: -len(".py")].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                modules[".".join(parts)] = path
    return modules


def _known(name, modules):
    """`name`, or its nearest enclosing package among `modules`, or None (not ours)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module, path, modules):
    """The modules of `modules` that `module` imports anywhere in its file (at module level, in
    functions, under `if TYPE_CHECKING`): `from a.b import c` counts as a.b.c when that is a
    module, else as a.b."""
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found = set()
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        for name in names:
            target = _known(name, modules)
            if target is not None and target != module:
                found.add(target)
    return found


def import_graph(root=ROOT, packages=PACKAGES):
    modules = package_modules(root, packages)
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def find_cycles(graph):
    """Every import cycle of `graph` ({module: modules it imports}) as a list of modules, the
    first repeated at the end; one per strongly connected component of more than one module."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def component(start):  # Tarjan's algorithm, iterative
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    members = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        members.append(w)
                        if w == v:
                            break
                    if len(members) > 1:
                        cycles.append(_one_cycle(graph, set(members)))

    for v in sorted(graph):
        if v not in index:
            component(v)
    return cycles


def _one_cycle(graph, members):
    """A shortest path from the first of `members` back to itself inside them."""
    start = min(members)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    return sorted(members)


def reachable(graph, starts):
    """The modules `starts` import, directly or through others (the starts included)."""
    seen, todo = set(), list(starts)
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph.get(m, ()))
    return seen


def long_functions(root=ROOT, packages=PACKAGES, limit=MAX_FUNCTION_LINES):
    """'path:line name (n lines)' of every function or method longer than `limit` lines."""
    found = []
    for module, path in sorted(package_modules(root, packages).items()):
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > limit:
                    found.append(
                        f"{os.path.relpath(path, root)}:{node.lineno} {node.name} ({n} lines)"
                    )
    return found


def test_the_modules_import_one_another_without_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_cycles_through_function_level_imports(tmp_path):
    """The check above can fail: a package whose a imports b at module level and b imports a
    inside a function has a cycle; without the function-level import it has none."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.a import x\n")
    (pkg / "c.py").write_text("from . import a\n")
    assert find_cycles(import_graph(str(tmp_path), ("pkg",))) == [["pkg.a", "pkg.b", "pkg.a"]]
    (pkg / "b.py").write_text("def f():\n    return 1\n")
    assert find_cycles(import_graph(str(tmp_path), ("pkg",))) == []


def test_nothing_the_nodes_import_is_tooling_even_inside_functions():
    """Statically, every import the three nodes' modules can reach (at module level or run later
    inside a function) stays outside pose_lifting_core.tooling."""
    graph = import_graph()
    main = "pose_lifting_ros.main"
    tooling = sorted(
        m for m in reachable(graph, NODES + (main,)) if m == TOOLING or m.startswith(TOOLING + ".")
    )
    assert not tooling, f"the nodes reach tooling modules: {', '.join(tooling)}"


def test_importing_the_nodes_loads_no_tooling_module():
    """In a fresh interpreter, importing the three nodes (and their entry points) puts no
    pose_lifting_core.tooling module in sys.modules."""
    pytest.importorskip("rclpy", reason="the nodes import rclpy, which is not installed")
    code = (
        "import json, sys\n"
        f"for name in {list(NODES) + ['pose_lifting_ros.main']!r}:\n"
        "    __import__(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('pose_lifting'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "pose_lifting_core.pipeline" in loaded  # the import really ran
    tooling = [m for m in loaded if m == TOOLING or m.startswith(TOOLING + ".")]
    assert not tooling, f"importing the nodes loads {', '.join(tooling)}"


def test_no_function_is_longer_than_100_lines():
    too_long = long_functions()
    assert not too_long, "functions over 100 lines: " + "; ".join(too_long)
