"""Two cameras on one robot: pose_lifting.launch.py included twice, in namespaces cam1 and cam2.

ros2 launch pose_lifting two_cameras.launch.py [cam1:=left] [cam2:=right] [namespace:=robot1] \
    [image:=image_raw] [camera_info:=camera_info] [params_file:=my.yaml] [sample_video:=true]

Each camera's driver publishes in its own namespace (/cam1/image_raw + /cam1/camera_info, and
/cam2/...); each pose_lifter runs in that namespace, reads those topics and publishes
/cam1/skeletons, /cam1/markers and TF frames cam1/body_<id> (its frame prefix follows the
namespace), so the two never publish the same TF child frame, and /diagnostics names them
apart (/cam1/pose_lifter, /cam2/pose_lifter). `namespace` puts both under a robot's namespace
(/robot1/cam1/...); `image`, `camera_info` and `params_file` are pose_lifting.launch.py's
arguments, with its defaults, given to both cameras. For cameras whose topics are elsewhere,
copy this file and give each include its own `image` and `camera_info`.

`sample_video:=true` (no cameras needed) includes demo.launch.py instead: a video_source in each
namespace plays `source` (default the bundled sample video) on that camera's topics, with frame
<cam>/camera_optical_frame; no RViz.
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, IncludeLaunchDescription
from launch.conditions import IfCondition, UnlessCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import PushRosNamespace
from launch_ros.substitutions import FindPackageShare

HERE = os.path.dirname(os.path.abspath(__file__))


def _camera(cam: str) -> GroupAction:
    """One camera's nodes, in the namespace named by the launch argument `cam`; scoped, so that
    its launch arguments and environment stay inside."""
    ns = LaunchConfiguration(cam)
    args = {
        "namespace": ns,
        "image": LaunchConfiguration("image"),
        "camera_info": LaunchConfiguration("camera_info"),
        "params_file": LaunchConfiguration("params_file"),
    }
    sample = {
        "source": LaunchConfiguration("source"),
        "frame_id": [ns, "/camera_optical_frame"],
        "rviz": "false",
    }
    return GroupAction(
        [
            PushRosNamespace(LaunchConfiguration("namespace")),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(os.path.join(HERE, "pose_lifting.launch.py")),
                launch_arguments=args.items(),
                condition=UnlessCondition(LaunchConfiguration("sample_video")),
            ),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(os.path.join(HERE, "demo.launch.py")),
                launch_arguments={**args, **sample}.items(),
                condition=IfCondition(LaunchConfiguration("sample_video")),
            ),
        ]
    )


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose_lifting")
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "namespace",
                default_value="",
                description="namespace above both cameras' namespaces (a robot's)",
            ),
            DeclareLaunchArgument(
                "image",
                default_value="image_raw",
                description="image topic (a relative name resolves in each camera's namespace)",
            ),
            DeclareLaunchArgument(
                "camera_info",
                default_value="camera_info",
                description="camera_info topic (a relative name resolves in each camera's "
                "namespace)",
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value=PathJoinSubstitution([share, "config", "pose_lifter.yaml"]),
                description="pose_lifter parameters (YAML), for both cameras",
            ),
            DeclareLaunchArgument(
                "cam1", default_value="cam1", description="first camera's namespace"
            ),
            DeclareLaunchArgument(
                "cam2", default_value="cam2", description="second camera's namespace"
            ),
            DeclareLaunchArgument(
                "sample_video",
                default_value="false",
                description="true: a video_source per camera plays `source` (no cameras needed)",
            ),
            DeclareLaunchArgument(
                "source",
                default_value=PathJoinSubstitution([share, "samples", "vtest.avi"]),
                description="video file, image, or camera device for sample_video",
            ),
            _camera("cam1"),
            _camera("cam2"),
        ]
    )
