"""video_source node: a video file, an image or a camera device published as image + camera_info.

Publishes `image` (sensor_msgs/Image rgb8) and `camera_info` with the same stamp and frame_id,
at `rate_hz` (or the video's own rate), looping at the end when `loop` is true; the node exits
(status 0) after `max_frames` frames or at the end of a file that does not loop. Intrinsics come
from `camera_info_file` (camera_calibration YAML) or from `hfov_deg`; `publish_zero_k` publishes
the all-zero K of an uncalibrated driver instead. For demos, tests and users without a driver.
Started without a Fast DDS profile, it applies the shipped large-image one to itself
(pose_lifting_ros/dds_profile.py), so that its best-effort frames arrive.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from pose_lifting_core.camera import intrinsics_from_fov, load_camera_info_yaml
from pose_lifting_ros.conversions import K_to_camera_info, rgb_to_image
from pose_lifting_ros.dds_profile import apply_profile
from pose_lifting_ros.params import (
    VIDEO_SOURCE_PARAMS,
    VideoSourceConfig,
    declare,
    on_set_validator,
)
from pose_lifting_ros.paths import share_path
from pose_lifting_ros.runner import run_node


class VideoSource(Node):
    """The video_source node: publishes a video, an image or a camera as image + camera_info."""

    NODE_NAME = "video_source"

    def __init__(self, **kwargs) -> None:
        import cv2
        from sensor_msgs.msg import CameraInfo, Image

        super().__init__(self.NODE_NAME, **kwargs)
        self.cfg = VideoSourceConfig.from_values(declare(self, VIDEO_SOURCE_PARAMS))
        src = self.cfg.source or share_path("samples", "vtest.avi")
        self._still = None
        if src.isdigit() or src.startswith("/dev/video"):
            self._cap = cv2.VideoCapture(int(src) if src.isdigit() else src)
        elif os.path.splitext(src)[1].lower() in (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm"):
            from pose_lifting_core.media import read_image

            self._still, self._cap = read_image(src), None
        else:
            if not os.path.isfile(src):
                raise ValueError(f"parameter source: file not found: {src}")
            self._cap = cv2.VideoCapture(src)
        if self._cap is not None and not self._cap.isOpened():
            raise ValueError(f"parameter source: cannot open {src}")
        first = self._read()
        if first is None:
            raise ValueError(f"parameter source: no frame could be read from {src}")
        self._next = first
        h, w = first.shape[:2]
        if self.cfg.camera_info_file:
            intr, size, _, _ = load_camera_info_yaml(self.cfg.camera_info_file)
            if tuple(size) != (w, h):
                raise ValueError(
                    f"camera_info_file is for {size[0]}x{size[1]} but {src} is {w}x{h}"
                )
            K = intr.K
        else:
            K = intrinsics_from_fov(w, h, self.cfg.hfov_deg).K
        self._K = np.zeros((3, 3)) if self.cfg.publish_zero_k else K
        self._size = (w, h)
        fps = self._cap.get(cv2.CAP_PROP_FPS) if self._cap is not None else 0.0
        rate = self.cfg.rate_hz or (fps if fps and fps > 0 else 10.0)
        qos = (
            QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
            if self.cfg.reliable
            else qos_profile_sensor_data
        )
        self.pub_image = self.create_publisher(Image, "image", qos)
        self.pub_info = self.create_publisher(CameraInfo, "camera_info", qos)
        self.sent = 0
        self.timer = self.create_timer(1.0 / rate, self._tick)
        on_set_validator(self, VIDEO_SOURCE_PARAMS, lambda v: None)
        self.get_logger().info(f"publishing {src} ({w}x{h}) at {rate:g} Hz as {self.cfg.frame_id}")

    def _read(self):
        import cv2

        if self._still is not None:
            return self._still
        ok, bgr = self._cap.read()
        if not ok and self.cfg.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._cap.read()
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok else None

    def _tick(self) -> None:
        if self.pub_image.get_subscription_count() < self.cfg.wait_for_subscribers:
            return
        if self._next is None or (self.cfg.max_frames and self.sent >= self.cfg.max_frames):
            self.timer.cancel()
            self.get_logger().info(f"done after {self.sent} frames; shutting down")
            self.context.try_shutdown()
            return
        from std_msgs.msg import Header

        header = Header(frame_id=self.cfg.frame_id, stamp=self.get_clock().now().to_msg())
        self.pub_info.publish(K_to_camera_info(self._K, self._size[0], self._size[1], header))
        self.pub_image.publish(rgb_to_image(self._next, header))
        self.sent += 1
        self._next = self._read()

    def stop(self) -> None:
        if self._cap is not None:
            self._cap.release()


def main(args=None) -> int:
    # Its images are large and best effort: without a profile naming a shared-memory segment
    # large enough for them, they are lost between processes (pose_lifting_ros/dds_profile.py).
    apply_profile(os.environ)
    return run_node(VideoSource, args)


if __name__ == "__main__":
    sys.exit(main())
