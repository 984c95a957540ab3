"""The nodes' entry points (console scripts, `ros2 run` through bin/, launch files): each
installs the start-up signal handling of pose_lifting_ros.runner, then imports its node (torch,
the models) and runs it. Nothing else lives here, so no node imports this module.
"""

from __future__ import annotations

from pose_lifting_ros.runner import stop_while_starting


def pose_lifter() -> int:
    """Entry point of the pose_lifter node (console script and `ros2 run`)."""
    stop_while_starting()
    from pose_lifting_ros.pose_lifter import main

    return main()


def keypoint_lifter() -> int:
    """Entry point of the keypoint_lifter node."""
    stop_while_starting()
    from pose_lifting_ros.keypoint_lifter import main

    return main()


def video_source() -> int:
    """Entry point of the video_source node."""
    stop_while_starting()
    from pose_lifting_ros.video_source import main

    return main()
