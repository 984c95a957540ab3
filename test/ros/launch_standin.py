"""Evaluate this package's launch files where ROS 2 launch is not installed.

launch and launch_ros are on no registry that pip-only machines (and CI) reach, so the launch
files could not even be loaded there. This module stands in for the part of their API that the
launch files use, with their semantics (launch_ros's namespace rules, launch's scoping, the
`--ros-args` a Node action passes), and turns a launch file plus its arguments into what launch
would start: for each Node, its executable, command line and environment. Tests then check the
declared arguments and start those command lines as processes over real DDS
(test_launch_fallback.py). Anything else a launch file imports fails to import here, so a launch
file that grows beyond this subset makes those tests fail, not pass without it.

Stand-in names: launch.{LaunchDescription, actions.{DeclareLaunchArgument,
SetEnvironmentVariable, GroupAction, IncludeLaunchDescription}, conditions.{IfCondition,
UnlessCondition}, substitutions.{LaunchConfiguration, PathJoinSubstitution, EnvironmentVariable},
launch_description_sources.PythonLaunchDescriptionSource}, launch_ros.{actions.{Node,
PushRosNamespace}, substitutions.FindPackageShare}. FindPackageShare("pose_lifting") is the source
tree, whose config/, launch/ and samples/ are laid out as share/pose_lifting/ is.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import sys
import tempfile
import types
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCH_DIR = os.path.join(ROOT, "launch")


class LaunchError(Exception):
    """What launch would refuse: a missing argument or environment variable, a bad condition."""


@dataclass
class Context:
    """Launch configurations (arguments), environment and ROS namespace, scoped by GroupAction."""

    config: Dict[str, str]
    env: Dict[str, str]
    ros_namespace: Optional[str] = None
    started: List["Process"] = field(default_factory=list)
    params_dir: str = ""


@dataclass
class Process:
    """A node as launch would start it."""

    package: str
    executable: str
    name: str  # fully qualified, as launch_ros names it (/cam1/pose_lifter)
    namespace: str
    ros_args: List[str]  # after --ros-args: -r __node:=, -r __ns:=, --params-file, -r from:=to
    arguments: List[str]
    env: Dict[str, str]

    def argv(self) -> List[str]:
        """Arguments after the executable, as launch_ros passes them."""
        return self.arguments + ["--ros-args"] + self.ros_args

    def remaps(self) -> Dict[str, str]:
        """The topic remappings (-r from:=to other than __node and __ns)."""
        pairs = [self.ros_args[i + 1] for i, a in enumerate(self.ros_args) if a == "-r"]
        return dict(p.split(":=", 1) for p in pairs if not p.startswith("__"))

    def params_files(self) -> List[str]:
        return [self.ros_args[i + 1] for i, a in enumerate(self.ros_args) if a == "--params-file"]


# substitutions ---------------------------------------------------------------------------------


def perform(ctx: Context, value) -> str:
    """A string, a substitution, or a list of them (concatenated), as launch performs them."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "".join(perform(ctx, v) for v in value)
    return value.perform(ctx)


class LaunchConfiguration:
    def __init__(self, variable_name, default=None) -> None:
        self.name, self.default = variable_name, default

    def perform(self, ctx: Context) -> str:
        name = perform(ctx, self.name)
        if name in ctx.config:
            return ctx.config[name]
        if self.default is None:
            raise LaunchError(f"launch configuration '{name}' does not exist")
        return perform(ctx, self.default)


class PathJoinSubstitution:
    def __init__(self, substitutions) -> None:
        self.parts = substitutions

    def perform(self, ctx: Context) -> str:
        return os.path.join(*[perform(ctx, p) for p in self.parts])


class EnvironmentVariable:
    """launch's: the variable's value (an empty one too), else the default, else an error."""

    def __init__(self, name, *, default_value=None) -> None:
        self.name, self.default_value = name, default_value

    def perform(self, ctx: Context) -> str:
        default = None if self.default_value is None else perform(ctx, self.default_value)
        name = perform(ctx, self.name)
        value = ctx.env.get(name, default)
        if value is None:
            raise LaunchError(f"environment variable '{name}' does not exist")
        return value


class FindPackageShare:
    def __init__(self, package) -> None:
        self.package = package

    def perform(self, ctx: Context) -> str:
        package = perform(ctx, self.package)
        if package != "pose_lifting":
            raise LaunchError(f"package '{package}' not found (the stand-in knows pose_lifting)")
        return ROOT


# conditions ------------------------------------------------------------------------------------


def _truth(ctx: Context, expression) -> bool:
    text = perform(ctx, expression).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise LaunchError(f"condition expects true/false/1/0, got {text!r}")


class IfCondition:
    def __init__(self, predicate_expression) -> None:
        self.expression = predicate_expression

    def evaluate(self, ctx: Context) -> bool:
        return _truth(ctx, self.expression)


class UnlessCondition(IfCondition):
    def evaluate(self, ctx: Context) -> bool:
        return not _truth(ctx, self.expression)


# actions ---------------------------------------------------------------------------------------


class Action:
    def __init__(self, *, condition=None) -> None:
        self.condition = condition

    def visit(self, ctx: Context) -> None:
        if self.condition is None or self.condition.evaluate(ctx):
            self.execute(ctx)

    def execute(self, ctx: Context) -> None:  # pragma: no cover - every action overrides it
        raise NotImplementedError


class LaunchDescription:
    def __init__(self, initial_entities=None) -> None:
        self.entities = list(initial_entities or [])

    def visit(self, ctx: Context) -> None:
        for entity in self.entities:
            entity.visit(ctx)


class DeclareLaunchArgument(Action):
    """Sets the argument's default unless it was given (launch: given values win)."""

    def __init__(self, name, *, default_value=None, description="", choices=None, **kw) -> None:
        super().__init__(**kw)
        self.name, self.default_value, self.description = name, default_value, description
        self.choices = choices

    def execute(self, ctx: Context) -> None:
        if self.name not in ctx.config:
            if self.default_value is None:
                raise LaunchError(f"required launch argument '{self.name}' was not given")
            ctx.config[self.name] = perform(ctx, self.default_value)
        if self.choices is not None and ctx.config[self.name] not in self.choices:
            raise LaunchError(f"argument '{self.name}' must be one of {self.choices}")


class SetEnvironmentVariable(Action):
    def __init__(self, name, value, **kw) -> None:
        super().__init__(**kw)
        self.name, self.value = name, value

    def execute(self, ctx: Context) -> None:
        ctx.env[perform(ctx, self.name)] = perform(ctx, self.value)


@contextlib.contextmanager
def _scope(ctx: Context) -> Iterator[None]:
    """launch's scoped GroupAction: configurations (the ROS namespace among them) and the
    environment are restored afterwards."""
    saved = (dict(ctx.config), dict(ctx.env), ctx.ros_namespace)
    try:
        yield
    finally:
        ctx.config, ctx.env, ctx.ros_namespace = saved


class GroupAction(Action):
    def __init__(self, actions, *, scoped=True, forwarding=True, **kw) -> None:
        super().__init__(**kw)
        if not (scoped and forwarding):
            raise LaunchError("the stand-in GroupAction is scoped and forwarding only")
        self.actions = list(actions)

    def execute(self, ctx: Context) -> None:
        with _scope(ctx):
            for action in self.actions:
                action.visit(ctx)


class PythonLaunchDescriptionSource:
    def __init__(self, launch_file_path) -> None:
        self.path = launch_file_path


class IncludeLaunchDescription(Action):
    """Sets the given arguments, then runs the included file's entities, unscoped (as launch
    does: wrap it in a GroupAction to scope it)."""

    def __init__(self, launch_description_source, *, launch_arguments=None, **kw) -> None:
        super().__init__(**kw)
        self.source = launch_description_source
        self.arguments = list(launch_arguments or [])

    def execute(self, ctx: Context) -> None:
        for key, value in self.arguments:
            ctx.config[perform(ctx, key)] = perform(ctx, value)
        load(perform(ctx, self.source.path)).visit(ctx)


def _prefix_namespace(base: Optional[str], ns: Optional[str]) -> Optional[str]:
    """launch_ros.utilities.prefix_namespace."""
    if base is None and ns is None:
        return None
    if ns is None:
        combined = base
    elif not base or ns.startswith("/"):
        combined = ns
    else:
        combined = ("" if base == "/" else base) + "/" + ns
    return combined if combined == "/" else combined.rstrip("/")


def _make_absolute(ns: Optional[str]) -> Optional[str]:
    """launch_ros.utilities.make_namespace_absolute."""
    return ns if ns is None or ns.startswith("/") else "/" + ns


class PushRosNamespace(Action):
    def __init__(self, namespace, **kw) -> None:
        super().__init__(**kw)
        self.namespace = namespace

    def execute(self, ctx: Context) -> None:
        pushed = perform(ctx, self.namespace)
        ctx.ros_namespace = _make_absolute(_prefix_namespace(ctx.ros_namespace, pushed))


def _param_value(text: str):
    """launch_ros reads a substituted parameter value as YAML when it gives a scalar."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (bool, int, float, str)) else text


class Node(Action):
    """launch_ros.actions.Node: `--ros-args -r __node:=NAME -r __ns:=NS --params-file F...
    -r FROM:=TO...`; a dict of parameters becomes a temporary `/**:` YAML file, in order."""

    _count = itertools.count()

    def __init__(
        self,
        *,
        package,
        executable,
        name=None,
        namespace=None,
        parameters=None,
        remappings=None,
        arguments=None,
        output="log",
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.package, self.executable, self.name = package, executable, name
        self.namespace, self.parameters = namespace, list(parameters or [])
        self.remappings, self.arguments = list(remappings or []), list(arguments or [])

    def execute(self, ctx: Context) -> None:
        name = perform(ctx, self.name) if self.name is not None else None
        given = perform(ctx, self.namespace) if self.namespace is not None else None
        ns = _make_absolute(_prefix_namespace(ctx.ros_namespace, given))
        ros_args: List[str] = []
        if name is not None:
            ros_args += ["-r", f"__node:={name}"]
        if ns is not None:
            ros_args += ["-r", f"__ns:={ns}"]
        for params in self.parameters:
            if isinstance(params, dict):
                values = {k: _param_value(perform(ctx, v)) for k, v in params.items()}
                path = os.path.join(ctx.params_dir, f"launch_params_{next(self._count)}.yaml")
                with open(path, "w") as fh:
                    yaml.safe_dump({"/**": {"ros__parameters": values}}, fh)
            else:
                path = perform(ctx, params)
            ros_args += ["--params-file", path]
        for src, dst in self.remappings:
            ros_args += ["-r", f"{perform(ctx, src)}:={perform(ctx, dst)}"]
        full = (ns.rstrip("/") if ns else "") + "/" + (name or perform(ctx, self.executable))
        ctx.started.append(
            Process(
                package=perform(ctx, self.package),
                executable=perform(ctx, self.executable),
                name=full,
                namespace=ns or "/",
                ros_args=ros_args,
                arguments=[perform(ctx, a) for a in self.arguments],
                env=dict(ctx.env),
            )
        )


# modules ---------------------------------------------------------------------------------------


def _modules() -> Dict[str, types.ModuleType]:
    names = {
        "launch": {"LaunchDescription": LaunchDescription},
        "launch.actions": {
            "DeclareLaunchArgument": DeclareLaunchArgument,
            "SetEnvironmentVariable": SetEnvironmentVariable,
            "GroupAction": GroupAction,
            "IncludeLaunchDescription": IncludeLaunchDescription,
        },
        "launch.conditions": {"IfCondition": IfCondition, "UnlessCondition": UnlessCondition},
        "launch.substitutions": {
            "LaunchConfiguration": LaunchConfiguration,
            "PathJoinSubstitution": PathJoinSubstitution,
            "EnvironmentVariable": EnvironmentVariable,
        },
        "launch.launch_description_sources": {
            "PythonLaunchDescriptionSource": PythonLaunchDescriptionSource
        },
        "launch_ros": {},
        "launch_ros.actions": {"Node": Node, "PushRosNamespace": PushRosNamespace},
        "launch_ros.substitutions": {"FindPackageShare": FindPackageShare},
    }
    mods = {}
    for mod_name, attrs in names.items():
        mod = types.ModuleType(mod_name)
        mod.__dict__.update(attrs)
        mod.__path__ = []  # a package, so that its submodules import
        mods[mod_name] = mod
    for mod_name, mod in mods.items():
        if "." in mod_name:
            parent, child = mod_name.rsplit(".", 1)
            setattr(mods[parent], child, mod)
    return mods


@contextlib.contextmanager
def _stand_ins() -> Iterator[None]:
    """The stand-in modules in sys.modules (real launch modules, if imported, put back after)."""
    ours = _modules()
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in ("launch", "launch_ros")}
    for k in saved:
        del sys.modules[k]
    sys.modules.update(ours)
    try:
        yield
    finally:
        for k in ours:
            sys.modules.pop(k, None)
        sys.modules.update(saved)


def load(path: str) -> LaunchDescription:
    """A launch file's generate_launch_description(), built with the stand-ins."""
    with _stand_ins():
        spec = importlib.util.spec_from_file_location(f"_launch_{next(_loads)}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.generate_launch_description()


_loads = itertools.count()


def launch_file(name: str) -> str:
    """Path of launch/NAME in the source tree."""
    return os.path.join(LAUNCH_DIR, name)


def declared_arguments(path: str) -> Dict[str, DeclareLaunchArgument]:
    """The launch file's own (top-level) DeclareLaunchArgument actions by name, in order."""
    return {e.name: e for e in load(path).entities if isinstance(e, DeclareLaunchArgument)}


def default_values(path: str, env: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Each top-level argument's default, performed as launch would with nothing given."""
    ctx = Context(config={}, env=dict(os.environ if env is None else env))
    out = {}
    for name, arg in declared_arguments(path).items():
        arg.visit(ctx)
        out[name] = ctx.config[name]
    return out


def evaluate(
    path: str,
    arguments: Optional[Dict[str, str]] = None,
    env: Optional[Dict[str, str]] = None,
    params_dir: Optional[str] = None,
) -> List[Process]:
    """The nodes launching `path` with `arguments` (name:=value) in environment `env` (this
    process's by default) would start, in order. Parameter dicts are written to `params_dir`
    (a new temporary folder by default)."""
    ctx = Context(
        config=dict(arguments or {}),
        env=dict(os.environ if env is None else env),
        params_dir=params_dir or tempfile.mkdtemp(prefix="launch_params_"),
    )
    load(path).visit(ctx)
    return ctx.started
