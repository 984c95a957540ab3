"""The pinned ROS 2 Jazzy wheels work: a publisher and subscriber in one process over DDS."""

import os
import time

import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy wheels) is not installed")
from std_msgs.msg import String  # noqa: E402


def test_pub_sub_round_trip():
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=(os.getpid() % 100) + 100)
    try:
        node = rclpy.create_node("install_check", context=ctx)
        got = []
        node.create_subscription(String, "ping", lambda m: got.append(m.data), 10)
        pub = node.create_publisher(String, "ping", 10)
        ex = rclpy.executors.SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        deadline = time.monotonic() + 10.0
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            ex.spin_once(timeout_sec=0.05)
        while not got and time.monotonic() < deadline:
            pub.publish(String(data="hello"))
            ex.spin_once(timeout_sec=0.1)
        assert got and got[0] == "hello"
        node.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)
