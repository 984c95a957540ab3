"""pose_lifting_core: ROS-independent lifting of 2D human keypoints to metric 3D skeletons.

Owns nothing itself; the public entry points are re-exported here for convenience:
`Lifter` (checkpoint -> batched lifting), `Intrinsics` (camera model), `SKELETON` (joint data).
"""
from pose_lifting_core.skeleton import SKELETON, JOINT_NAMES, LAYOUTS, to_skeleton17  # noqa: F401

__all__ = ["SKELETON", "JOINT_NAMES", "LAYOUTS", "to_skeleton17"]
