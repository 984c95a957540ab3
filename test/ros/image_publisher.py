"""A camera driver's image publisher as its own process, driven over stdin by a test.

Publishes sensor_msgs/Image (rgb8, random pixels) on `image` with the sensor-data QoS camera
drivers use (rclpy's qos_profile_sensor_data: best effort, keep last 5), in whatever Fast DDS
environment it is started with; it applies no profile itself. Commands, one per line:
  warmup W H RATE   publish WxH frames at RATE Hz until the next command
  pause             stop publishing; answers "paused"
  go W H N RATE     publish N frames of WxH at RATE Hz; answers "sent N"
  quit              exit
It says "matched" once the image topic has a subscriber.
"""

from __future__ import annotations

import queue
import sys
import threading
import time

import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image


def frame(width: int, height: int) -> Image:
    msg = Image(width=width, height=height, encoding="rgb8", step=width * 3)
    msg.header.frame_id = "camera_optical_frame"
    msg.data = np.random.default_rng(0).integers(0, 255, height * width * 3, np.uint8).tobytes()
    return msg


def main() -> int:
    rclpy.init()
    node = rclpy.create_node("camera_driver")
    pub = node.create_publisher(Image, "image", qos_profile_sensor_data)
    commands: "queue.Queue[str]" = queue.Queue()

    def read() -> None:
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put("quit")

    threading.Thread(target=read, daemon=True).start()
    said_matched = False
    warmup = None  # (message, period) while warming up
    next_t = 0.0
    while True:
        if not said_matched and pub.get_subscription_count() > 0:
            print("matched", flush=True)
            said_matched = True
        if warmup is not None and time.monotonic() >= next_t:
            pub.publish(warmup[0])
            next_t = time.monotonic() + warmup[1]
        try:
            cmd = commands.get(timeout=0.02).split()
        except queue.Empty:
            continue
        if not cmd or cmd[0] == "quit":
            break
        warmup = None
        if cmd[0] == "warmup":
            w, h, rate = int(cmd[1]), int(cmd[2]), float(cmd[3])
            warmup = (frame(w, h), 1.0 / rate)
        elif cmd[0] == "pause":
            print("paused", flush=True)
        elif cmd[0] == "go":
            w, h, n, rate = int(cmd[1]), int(cmd[2]), int(cmd[3]), float(cmd[4])
            msg, t0 = frame(w, h), time.monotonic()
            for i in range(n):
                time.sleep(max(0.0, t0 + i / rate - time.monotonic()))  # the camera's frame rate
                msg.header.stamp.sec = i
                pub.publish(msg)
            print(f"sent {n}", flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
