"""keypoint_lifter node: 2D keypoints from any detector + camera_info -> the pose_lifter outputs.

Subscribes `keypoints` (pose_lifting/Keypoints2DArray; layouts coco17, blazepose33, h36m17) and
`camera_info`; publishes `skeletons`, `markers`, /tf and /diagnostics, stamped with the keypoints'
header. People under `min_person_score` (Keypoints2D.score, or the mean keypoint confidence where
the detector leaves it 0) are dropped and at most `max_people` are lifted, highest first. Ids
from the detector are kept when every person has a distinct one (> 0); otherwise ids come from
the tracker. CameraInfo is read by the rule pose_lifter shares (LifterNodeBase.camera, the core's
camera_model): K, and lens distortion undistorts the keypoints before lifting.
"""

from __future__ import annotations

import sys

from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from pose_lifting_core.pipeline import PoseEstimator
from pose_lifting_ros.compat import CameraInfoSource
from pose_lifting_ros.conversions import keypoints_from_msg
from pose_lifting_ros.lifter_base import LifterNodeBase
from pose_lifting_ros.params import KEYPOINT_LIFTER_PARAMS, pipeline_config
from pose_lifting_ros.runner import run_node


class KeypointLifter(LifterNodeBase):
    """The keypoint_lifter node: lifts 2D keypoints from any detector to 3D skeletons."""

    NODE_NAME = "keypoint_lifter"

    def __init__(self, **kwargs) -> None:
        from pose_lifting.msg import Keypoints2DArray

        super().__init__(self.NODE_NAME, KEYPOINT_LIFTER_PARAMS, **kwargs)
        self.estimator = PoseEstimator(pipeline_config(self.values))
        self.info = CameraInfoSource(self, "camera_info", qos_profile_sensor_data)
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.create_subscription(Keypoints2DArray, "keypoints", self.enqueue, qos)
        self.accept_parameter_updates(KEYPOINT_LIFTER_PARAMS)
        self.start()

    def process(self, msg):
        est = self.fresh_estimator()
        kp, sc, ids, person_scores, layout, size = keypoints_from_msg(msg)
        info = self.info.lookup(msg.header.stamp)
        cam = self.camera(info, size, msg.header.frame_id, "Keypoints2DArray")
        if cam.K is None and not all(size):
            raise ValueError(
                "Keypoints2DArray has no width/height and there is no usable CameraInfo"
            )
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        return est.process_keypoints(
            kp,
            sc,
            layout,
            cam.image_size,  # the CameraInfo's size where the message has none
            cam.K,
            stamp,
            ids,
            distortion=cam.distortion,
            person_scores=person_scores,
        ), msg.header


def main(args=None) -> int:
    return run_node(KeypointLifter, args)


if __name__ == "__main__":
    sys.exit(main())
