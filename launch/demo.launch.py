"""Demo: video_source on the bundled sample video, pose_lifter, and RViz showing image,
markers, TF.

ros2 launch pose_lifting demo.launch.py [source:=/path/video.mp4] [rviz:=false]
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose_lifting")
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "source",
                default_value=PathJoinSubstitution([share, "samples", "vtest.avi"]),
                description="video file, image, or camera device",
            ),
            DeclareLaunchArgument("rviz", default_value="true", description="start RViz"),
            Node(
                package="pose_lifting",
                executable="video_source",
                name="video_source",
                output="screen",
                parameters=[
                    PathJoinSubstitution([share, "config", "video_source.yaml"]),
                    {"source": LaunchConfiguration("source")},
                ],
                remappings=[("image", "/camera/image"), ("camera_info", "/camera/camera_info")],
            ),
            Node(
                package="pose_lifting",
                executable="pose_lifter",
                name="pose_lifter",
                output="screen",
                parameters=[PathJoinSubstitution([share, "config", "pose_lifter.yaml"])],
                remappings=[("image", "/camera/image"), ("camera_info", "/camera/camera_info")],
            ),
            Node(
                package="rviz2",
                executable="rviz2",
                name="rviz2",
                condition=IfCondition(LaunchConfiguration("rviz")),
                arguments=["-d", PathJoinSubstitution([share, "config", "pose_lifting.rviz"])],
            ),
        ]
    )
