"""pose_lifter node: image + camera_info -> 3D skeletons (Skeleton3DArray), markers, TF,
diagnostics.

Subscribes `image` (sensor_msgs/Image) and `camera_info` with sensor-data QoS; publishes
`skeletons`, `markers`, /tf (`body_<id>` under the image's frame_id) and /diagnostics. Outputs
carry the image's header. Without a usable CameraInfo the intrinsics come from the
`fallback_hfov_deg` prior (flagged in the output; warned once). CameraInfo is read by the rule
keypoint_lifter shares (LifterNodeBase.camera, the core's camera_model).
Run: `ros2 run pose_lifting pose_lifter --ros-args --params-file config/pose_lifter.yaml`.
"""

from __future__ import annotations

import sys

import cv2
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from pose_lifting_core.pipeline import PoseEstimator
from pose_lifting_ros.compat import CameraInfoSource, ImageConverter
from pose_lifting_ros.conversions import compressed_to_rgb
from pose_lifting_ros.lifter_base import LifterNodeBase
from pose_lifting_ros.params import LIFTER_PARAMS, pipeline_config
from pose_lifting_ros.runner import run_node


class PoseLifter(LifterNodeBase):
    """The pose_lifter node: detects people in each image and lifts them to 3D skeletons."""

    NODE_NAME = "pose_lifter"

    def __init__(self, **kwargs) -> None:
        from sensor_msgs.msg import CompressedImage, Image

        super().__init__(self.NODE_NAME, LIFTER_PARAMS, **kwargs)
        # A live camera's frames must not wait: OpenCV's own thread pool, at normal priority,
        # would run the background HOG search beside them and double their landmark time. So
        # OpenCV runs single-threaded here (the search then takes longer, in the CPU the frames
        # leave idle); offline `estimate` keeps the pool (docs/DETECTION.md).
        cv2.setNumThreads(1)
        self.estimator = PoseEstimator(pipeline_config(self.values))
        self.estimator.detector  # load the detector models now: a missing model fails at start
        self.convert = ImageConverter()
        self.info = CameraInfoSource(self, "camera_info", qos_profile_sensor_data)
        image_qos = qos_profile_sensor_data
        if self.values["image_reliability"] == "reliable":
            image_qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        if self.values["image_transport"] == "compressed":
            # image_transport's rule: the transport's topic is under the image topic as remapped
            # (`-r image:=image_raw` in /cam1 reads /cam1/image_raw/compressed)
            compressed = self.resolve_topic_name("image") + "/compressed"
            self.create_subscription(CompressedImage, compressed, self.enqueue, image_qos)
        else:
            self.create_subscription(Image, "image", self.enqueue, image_qos)
        self.accept_parameter_updates(LIFTER_PARAMS)
        self.start()

    def process(self, msg):
        est = self.fresh_estimator()
        rgb = compressed_to_rgb(msg) if hasattr(msg, "format") else self.convert(msg)
        size = (rgb.shape[1], rgb.shape[0])
        cam = self.camera(self.info.lookup(msg.header.stamp), size, msg.header.frame_id)
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        return est.process(rgb, cam.K, stamp, cam.distortion), msg.header


def main(args=None) -> int:
    return run_node(PoseLifter, args)


if __name__ == "__main__":
    sys.exit(main())
