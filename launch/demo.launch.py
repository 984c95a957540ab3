"""Demo: video_source on the bundled sample video, pose_lifter, and RViz showing image,
markers, TF.

ros2 launch pose_lifting demo.launch.py [source:=/path/video.mp4] [rviz:=false] \
    [namespace:=cam1] [image:=image_raw] [camera_info:=camera_info] [params_file:=my.yaml]

`namespace`, `image`, `camera_info` and `params_file` (pose_lifter's parameters) are the
arguments of pose_lifting.launch.py, with its defaults; video_source publishes on the same
topics. The Fast DDS large-image profile (config/fastdds_large_images.xml) is given to every
process under both variable names, FASTRTPS_DEFAULT_PROFILES_FILE (Jazzy) and
FASTDDS_DEFAULT_PROFILES_FILE (Kilted), as pose_lifting_ros/dds_profile.py does: a profile the
user named in either variable is kept and given to both; with neither set, the shipped one.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PROFILE_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")


def _profile_actions(share) -> list:
    """Each profile variable: its own value if set (even empty: Fast DDS's "no profile"), else
    the other one's (set just before, for the second), else the shipped profile."""
    shipped = PathJoinSubstitution([share, "config", "fastdds_large_images.xml"])
    return [
        SetEnvironmentVariable(
            var,
            EnvironmentVariable(
                var, default_value=EnvironmentVariable(other, default_value=shipped)
            ),
        )
        for var, other in (PROFILE_VARS, PROFILE_VARS[::-1])
    ]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose_lifting")
    topics = [
        ("image", LaunchConfiguration("image")),
        ("camera_info", LaunchConfiguration("camera_info")),
    ]
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "namespace",
                default_value="",
                description="namespace of the node, its outputs and its TF frame prefix",
            ),
            DeclareLaunchArgument(
                "image",
                default_value="image_raw",
                description="image topic (a relative name resolves in the namespace)",
            ),
            DeclareLaunchArgument(
                "camera_info",
                default_value="camera_info",
                description="camera_info topic (a relative name resolves in the namespace)",
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value=PathJoinSubstitution([share, "config", "pose_lifter.yaml"]),
                description="pose_lifter parameters (YAML)",
            ),
            DeclareLaunchArgument(
                "source",
                default_value=PathJoinSubstitution([share, "samples", "vtest.avi"]),
                description="video file, image, or camera device",
            ),
            DeclareLaunchArgument(
                "frame_id",
                default_value="camera_optical_frame",
                description="frame_id of video_source's images (the TF parent of body_<id>)",
            ),
            DeclareLaunchArgument("rviz", default_value="true", description="start RViz"),
            *_profile_actions(share),
            Node(
                package="pose_lifting",
                executable="video_source",
                name="video_source",
                namespace=LaunchConfiguration("namespace"),
                output="screen",
                parameters=[
                    PathJoinSubstitution([share, "config", "video_source.yaml"]),
                    {
                        "source": LaunchConfiguration("source"),
                        "frame_id": LaunchConfiguration("frame_id"),
                    },
                ],
                remappings=topics,
            ),
            Node(
                package="pose_lifting",
                executable="pose_lifter",
                name="pose_lifter",
                namespace=LaunchConfiguration("namespace"),
                output="screen",
                parameters=[LaunchConfiguration("params_file")],
                remappings=topics,
            ),
            Node(
                package="rviz2",
                executable="rviz2",
                name="rviz2",
                namespace=LaunchConfiguration("namespace"),
                condition=IfCondition(LaunchConfiguration("rviz")),
                arguments=["-d", PathJoinSubstitution([share, "config", "pose_lifting.rviz"])],
                # the config's topics are relative (image_raw, markers): in the namespace, and
                # the image follows the `image` argument like the lifter's
                remappings=[("image_raw", LaunchConfiguration("image"))],
            ),
        ]
    )
