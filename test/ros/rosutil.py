"""Helpers for ROS tests: isolated DDS settings, node processes, waiting on conditions.

Every test run gets its own ROS_DOMAIN_ID and ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST; waits
poll a condition with a deadline (subscription counts, received messages), never fixed sleeps.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import time
from typing import Callable, Dict, Iterator, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MODULES = {n: f"pose_lifting_ros.{n}" for n in ("pose_lifter", "keypoint_lifter", "video_source")}
PROFILE_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
_counter = itertools.count()


def ros_env() -> Dict[str, str]:
    """Environment for one isolated ROS graph (unique domain id, localhost only)."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(1 + (os.getpid() * 7 + next(_counter) * 13) % 100)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.pop("ROS_LOCALHOST_ONLY", None)
    # the large-image profile under both names: Jazzy's Fast DDS 2.x reads only the first
    for k in PROFILE_VARS:
        env[k] = os.path.join(ROOT, "config", "fastdds_large_images.xml")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def apply_env(env: Dict[str, str]) -> None:
    """Make this process join that graph (set before rclpy.init)."""
    for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE", *PROFILE_VARS):
        os.environ[k] = env[k]


@contextlib.contextmanager
def ros_context() -> Iterator[object]:
    """An rclpy context on this test's own ROS_DOMAIN_ID (LOCALHOST discovery), shut down after."""
    import rclpy

    env = ros_env()
    apply_env(env)
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=int(env["ROS_DOMAIN_ID"]))
    try:
        yield ctx
    finally:
        rclpy.shutdown(context=ctx)


def start(
    executable: str, args: List[str], env: Dict[str, str], log_path: str
) -> subprocess.Popen:
    """Start a node as its own process: its console script beside the interpreter (.venv/bin
    on the pip machine), else its module with this interpreter (a colcon install puts the
    scripts in lib/pose_lifting, where `colcon test` does not look)."""
    fh = open(log_path, "w")
    script = os.path.join(BIN, executable)
    cmd = [script] if os.path.isfile(script) else [sys.executable, "-m", MODULES[executable]]
    return subprocess.Popen(
        cmd + args,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> Optional[int]:
    """SIGINT, then SIGTERM, then SIGKILL, each with a timeout; returns the exit code."""
    from pose_lifting_ros.runner import stop_process

    return stop_process(proc, timeout)


def spin_until(node, executor, cond: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        executor.spin_once(timeout_sec=0.05)
    return cond()


def every(period_s: float, action: Callable[[], object]) -> Callable[[], bool]:
    """A condition-side helper: calls `action` at most once per period and returns False, so
    `spin_until(..., lambda: done() or every(...)())` re-sends without flooding the graph."""
    last = [-1e9]

    def tick() -> bool:
        now = time.monotonic()
        if now - last[0] >= period_s:
            last[0] = now
            action()
        return False

    return tick


def call_service(node, executor, client, request, timeout: float = 30.0, resend_s: float = 3.0):
    """The response to `request`, or None after `timeout` s. The request is sent again every
    `resend_s` until one answer arrives: a service can be "ready" before it has discovered the
    client's response reader, and the first response is then lost (ros2/rmw_cyclonedds#74,
    ros2/ros2#1253). CI lost one that way on a loaded 2-core machine."""
    futures: list = []
    resend = every(resend_s, lambda: futures.append(client.call_async(request)))
    if not spin_until(node, executor, lambda: any(f.done() for f in futures) or resend(), timeout):
        return None
    return next(f.result() for f in futures if f.done())


def sample_frames(seed: int = 0) -> list:
    """FrameResults that exercise the outputs: two people, one of them gone (a DELETEALL),
    nobody, three people with large ids, estimated and given intrinsics, NaN and zero
    confidences."""
    import numpy as np

    from pose_lifting_core.camera import Intrinsics, intrinsics_from_fov
    from pose_lifting_core.pipeline import FrameResult, Person3D

    rng = np.random.default_rng(seed)

    def person(pid: int) -> Person3D:
        conf = rng.uniform(0, 1, 17)
        conf[rng.integers(0, 17, 3)] = 0.0
        return Person3D(
            pid,
            float(rng.uniform()),
            rng.uniform(0, 640, 4),
            rng.uniform(0, 640, (17, 2)),
            conf,
            rng.normal(0, 0.5, (17, 3)) + [0.0, 0.0, 4.0],
            float(rng.uniform(0, 9)),
        )

    given = Intrinsics(612.3, 611.9, 320.5, 241.25)
    frames = [
        FrameResult(0, 0.0, given, (640, 480), [person(1), person(2)]),
        FrameResult(1, 0.1, intrinsics_from_fov(1280, 720), (1280, 720), [person(2)]),
        FrameResult(2, 0.2, given, (640, 480), []),
        FrameResult(3, 0.3, given, (640, 480), [person(7), person(123456), person(2**31 - 1)]),
    ]
    frames[3].persons[0].confidence[4] = np.nan
    return frames
