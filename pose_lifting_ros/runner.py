"""How a node process runs and stops: the one `run_node` every node's `main()` calls (init, spin,
clean shutdown in try/finally, Jazzy), the signal handling while a node is still loading, and,
for whoever starts nodes as processes (demo, tests, benchmarks), the one way to stop them.

A node that cannot start (bad parameter, missing or corrupt checkpoint or model) prints one line
naming the problem and exits with status 1; a params file that cannot be parsed, status 2.
SIGINT and SIGTERM at any moment end the process with status 0: while it is still loading (the
entry points in pose_lifting_ros.main call `stop_while_starting` first), and later by ending the
spin and shutting down.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from typing import Callable, List, Optional


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> Optional[int]:
    """SIGINT, then SIGTERM, then SIGKILL, each given `timeout` seconds; returns the exit code."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
    return proc.poll()


def stop_while_starting() -> None:
    """Until rclpy takes the signals over, SIGINT and SIGTERM end the process at once with
    status 0 (a node stopped while it imports torch and loads its models)."""

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def params_file_problem(argv: List[str]) -> Optional[str]:
    """Why a `--params-file` among the arguments cannot be used (unreadable, not YAML, not a
    mapping), or None. Checked before rcl parses them, so the user sees one line, not rcl's."""
    import yaml

    for flag, path in zip(argv, argv[1:]):
        if flag != "--params-file":
            continue
        try:
            with open(path) as fh:
                doc = yaml.safe_load(fh)
        except OSError as exc:
            return f"cannot read params file {path}: {exc.strerror or exc}"
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            return f"params file {path} is not valid YAML{where}"
        if not isinstance(doc, dict):
            return f"params file {path} is not a YAML mapping of node names to ros__parameters"
    return None


def node_name(default: str, argv: List[str]) -> str:
    """The name a node started with `argv` has: `default`, or the one a `__node:=` (`__name:=`)
    remapping gives it, under the namespace of a `__ns:=` remapping ("/cam2/keypoint_lifter").
    Error lines begin with it, so that a user sees which node failed, not a Python class."""
    name, ns = default, ""
    for arg in argv:
        key, _, value = arg.partition(":=")
        scope, _, key = key.rpartition(":")  # a remapping may be scoped: "node:__ns:=/x"
        if scope and scope != default:
            continue
        if key in ("__node", "__name") and value:
            name = value
        elif key == "__ns" and value.strip("/"):
            ns = "/" + value.strip("/")
    return f"{ns}/{name}" if ns else name


def run_node(factory: Callable, args: Optional[List[str]] = None) -> int:
    """Run the node `factory` builds (its NODE_NAME names it in error lines) until shutdown;
    returns the exit status (module docstring)."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    from pose_lifting_core.detection import DetectorError
    from pose_lifting_core.lifter import CheckpointError

    argv = sys.argv if args is None else args
    name = node_name(getattr(factory, "NODE_NAME", "node"), argv)
    problem = params_file_problem(argv)
    if problem is None:
        try:
            rclpy.init(args=args)
        except Exception as exc:  # rcl refused the arguments
            problem = " ".join(str(exc).split())
    if problem is not None:
        print(f"{name}: error: {problem}", file=sys.stderr)
        return 2
    node = None
    stopping = threading.Event()

    def on_signal(*_) -> None:
        # SIGINT and SIGTERM alike: the worker ends before the context does (nothing is
        # published or logged into a dead context), then the executor wakes on the shutdown.
        stopping.set()
        if node is not None and hasattr(node, "stop"):
            node.stop()
        rclpy.try_shutdown()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        node = factory()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as exc:
        if stopping.is_set() or not rclpy.ok():
            # a signal arrived while the node was starting, or while rclpy's executor was taking
            # a message (it then raises from inside the take): a clean stop either way
            pass
        elif isinstance(exc, (ValueError, CheckpointError, DetectorError, OSError)):
            print(f"{name}: error: {' '.join(str(exc).split())}", file=sys.stderr)
            code = 1
        else:
            raise
    finally:
        if node is not None:
            if hasattr(node, "stop"):
                node.stop()
            node.destroy_node()
        rclpy.try_shutdown()
    return code
