"""pose_lifter with its YAML, on a camera's topics.

ros2 launch pose_lifting pose_lifting.launch.py image:=/camera/color/image_raw \
    camera_info:=/camera/color/camera_info [params_file:=my.yaml]
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    config = PathJoinSubstitution([FindPackageShare("pose_lifting"), "config", "pose_lifter.yaml"])
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "params_file", default_value=config, description="pose_lifter parameters (YAML)"
            ),
            DeclareLaunchArgument(
                "image", default_value="/camera/image_raw", description="image topic"
            ),
            DeclareLaunchArgument(
                "camera_info", default_value="/camera/camera_info", description="camera_info topic"
            ),
            Node(
                package="pose_lifting",
                executable="pose_lifter",
                name="pose_lifter",
                output="screen",
                parameters=[LaunchConfiguration("params_file")],
                remappings=[
                    ("image", LaunchConfiguration("image")),
                    ("camera_info", LaunchConfiguration("camera_info")),
                ],
            ),
        ]
    )
