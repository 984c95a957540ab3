"""The one `main()` shape every node uses: init, spin, clean shutdown in try/finally (Jazzy);
and, for whoever starts nodes as processes (demo, tests, benchmarks), the one way to stop them.

A node that cannot start (bad parameter, missing or corrupt checkpoint or model) prints one line
naming the problem and exits with status 1. SIGINT and SIGTERM end the spin and shut down.
"""

from __future__ import annotations

import signal
import subprocess
import sys
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


def run_node(factory: Callable, args: Optional[List[str]] = None) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException

    from pose_lifting_core.detection import DetectorError
    from pose_lifting_core.lifter import CheckpointError

    rclpy.init(args=args)
    signal.signal(signal.SIGTERM, lambda *_: rclpy.try_shutdown())
    node = None
    code = 0
    try:
        node = factory()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as exc:
        if not rclpy.ok():
            pass  # SIGINT/SIGTERM arrived while the node was still starting: a clean stop
        elif isinstance(exc, (ValueError, CheckpointError, DetectorError, OSError)):
            print(
                f"{getattr(factory, '__name__', 'node')}: error: {' '.join(str(exc).split())}",
                file=sys.stderr,
            )
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
