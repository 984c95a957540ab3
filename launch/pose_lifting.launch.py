"""pose_lifter with its YAML, on one camera's topics.

ros2 launch pose_lifting pose_lifting.launch.py [namespace:=cam1] [image:=image_raw] \
    [camera_info:=camera_info] [params_file:=my.yaml]

Every launch file of this package takes these four arguments, with these defaults. `image` and
`camera_info` are the topics the node's own `image` and `camera_info` are remapped to; relative
names resolve in `namespace` (`namespace:=cam1` reads /cam1/image_raw and /cam1/camera_info,
where a camera driver started in /cam1 publishes), absolute ones are taken as given
(`image:=/camera/color/image_raw`). The node's outputs and its TF frame prefix follow the
namespace (/cam1/skeletons, cam1/body_<id>).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose_lifting")
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
            Node(
                package="pose_lifting",
                executable="pose_lifter",
                name="pose_lifter",
                namespace=LaunchConfiguration("namespace"),
                output="screen",
                parameters=[LaunchConfiguration("params_file")],
                remappings=[
                    ("image", LaunchConfiguration("image")),
                    ("camera_info", LaunchConfiguration("camera_info")),
                ],
            ),
        ]
    )
