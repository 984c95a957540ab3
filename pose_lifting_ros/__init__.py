"""pose_lifting_ros: thin ROS 2 nodes around pose_lifting_core.

Owns: the nodes (`pose_lifter`, `keypoint_lifter`, `video_source`), their parameters
(`params`), message conversions (`conversions`), markers and TF (`visualization`), and the one
place that picks the real ROS libraries or their small fallbacks (`compat`). No maths here:
everything numeric is in pose_lifting_core.
"""
