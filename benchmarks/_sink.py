"""A subscriber in its own process for benchmarks: subscribes to the given topics (name=type
pairs, e.g. skeletons=pose_lifting/msg/Skeleton3DArray) and spins until killed, so that the
process under test publishes to a real other participant, as it would to RViz or a user node.

Usage: python benchmarks/_sink.py TOPIC=PKG/msg/TYPE [...]
"""
import importlib
import sys

import rclpy


def main() -> None:
    rclpy.init()
    node = rclpy.create_node("bench_sink")
    for arg in sys.argv[1:]:
        topic, typ = arg.split("=")
        pkg, _, name = typ.split("/")
        node.create_subscription(getattr(importlib.import_module(f"{pkg}.msg"), name), topic, lambda m: None, 10)
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
