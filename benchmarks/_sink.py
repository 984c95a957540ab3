"""A subscriber in its own process for benchmarks: subscribes to the given topics (name=type
pairs, e.g. skeletons=pose_lifting/msg/Skeleton3DArray) and spins until killed, so that the
process under test publishes to a real other participant, as it would to RViz or a user node.

Usage: python benchmarks/_sink.py TOPIC=PKG/msg/TYPE [...]
From a benchmark: `start(node, publishers, env)`.
"""

import importlib
import os
import subprocess
import sys
import time

import rclpy


def start(node, publishers, env: dict, timeout_s: float = 60.0) -> subprocess.Popen:
    """Start a sink subscribed to every publisher's topic and type (once per topic); return once
    each publisher sees it (stop it with pose_lifting_ros.runner.stop_process)."""
    args = []
    for pub in publishers:
        t = pub.msg_type
        args.append(f"{pub.topic_name}={t.__module__.split('.')[0]}/msg/{t.__name__}")
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__)] + list(dict.fromkeys(args)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout_s
    while min(p.get_subscription_count() for p in publishers) < 1:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("the subscriber process did not come up")
        rclpy.spin_once(node, timeout_sec=0.1)
    return proc


def main() -> None:
    rclpy.init()
    node = rclpy.create_node("bench_sink")
    for arg in sys.argv[1:]:
        topic, typ = arg.split("=")
        pkg, _, name = typ.split("/")
        node.create_subscription(
            getattr(importlib.import_module(f"{pkg}.msg"), name), topic, lambda m: None, 10
        )
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
