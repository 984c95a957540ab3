"""pose_lifting_core: ROS-independent lifting of 2D human keypoints to metric 3D skeletons.

Owns nothing itself. It re-exports the skeleton data, which needs only numpy: `SKELETON`,
`JOINT_NAMES`, `LAYOUTS` and `to_skeleton17`. The lifter (`pose_lifting_core.lifter.Lifter`) and
the image pipeline (`pose_lifting_core.pipeline.PoseEstimator`) are imported from their modules,
so that importing the package does not load torch.
"""

from pose_lifting_core.skeleton import SKELETON, JOINT_NAMES, LAYOUTS, to_skeleton17  # noqa: F401

__all__ = ["SKELETON", "JOINT_NAMES", "LAYOUTS", "to_skeleton17"]
