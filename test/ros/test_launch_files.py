"""launch_testing versions of the launch-file tests.

They need launch, launch_ros and launch_testing, which exist on a ROS 2 install but not on
pip-only machines, and this package installed where launch finds it (an ament prefix on
AMENT_PREFIX_PATH with its configs and executables: colcon build, then source
install/setup.bash); elsewhere they skip, naming what is missing, and
test_graph_multiprocess.py runs the same graph (video_source -> pose_lifter, started with
--params-file) and checks the same outputs. Run with pytest, or `launch_test
test/ros/test_launch_files.py` (no PYTHONPATH needed: this file imports nothing from test/).
"""

import os
import unittest

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSTALLED = (  # what demo.launch.py takes from the installed package (FindPackageShare, Node)
    "share/pose_lifting/config/video_source.yaml",
    "share/pose_lifting/config/pose_lifter.yaml",
    "lib/pose_lifting/video_source",
    "lib/pose_lifting/pose_lifter",
)


def install_problem():
    """Why the launch files cannot start this package's nodes here, or None: the package is not
    in an ament prefix on AMENT_PREFIX_PATH (a pip-only machine), or that prefix lacks the
    configs or executables the launch files name (an interfaces-only build)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return "ament_index_python is not installed"
    try:
        prefix = get_package_prefix("pose_lifting")
    except (PackageNotFoundError, OSError, ValueError):
        where = os.environ.get("AMENT_PREFIX_PATH") or "unset"
        return (
            "the pose_lifting package is not installed in an ament prefix (AMENT_PREFIX_PATH: "
            f"{where}); colcon build it and source install/setup.bash"
        )
    missing = [p for p in INSTALLED if not os.path.exists(os.path.join(prefix, p))]
    if missing:
        return (
            f"the pose_lifting package in {prefix} lacks {', '.join(missing)} (an "
            "interfaces-only build? colcon build installs them)"
        )
    return None


pytest.importorskip(
    "launch",
    reason="launch (ROS 2) is not installed; test_graph_multiprocess.py covers this graph",
)
pytest.importorskip(
    "launch_ros",
    reason="launch_ros is not installed; test_graph_multiprocess.py covers this graph",
)
pytest.importorskip(
    "launch_testing",
    reason="launch_testing is not installed; test_graph_multiprocess.py covers this graph",
)

_PROBLEM = install_problem()
if _PROBLEM is not None:
    pytest.skip(
        _PROBLEM + "; test_graph_multiprocess.py covers this graph", allow_module_level=True
    )

import launch  # noqa: E402
import launch_testing.actions  # noqa: E402
import rclpy  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402


@pytest.mark.launch_test
def generate_test_description():
    demo = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(ROOT, "launch", "demo.launch.py")),
        launch_arguments={
            "rviz": "false",
            "source": os.path.join(ROOT, "samples", "basketball1.png"),
        }.items(),
    )
    return launch.LaunchDescription([demo, launch_testing.actions.ReadyToTest()])


class TestDemoLaunch(unittest.TestCase):
    def test_skeletons_markers_and_tf_arrive(self):
        from pose_lifting.msg import Skeleton3DArray
        from tf2_msgs.msg import TFMessage
        from visualization_msgs.msg import MarkerArray

        rclpy.init()
        node = rclpy.create_node("launch_probe")
        got = {"skeletons": [], "markers": [], "tf": []}
        node.create_subscription(Skeleton3DArray, "/skeletons", got["skeletons"].append, 10)
        node.create_subscription(MarkerArray, "/markers", got["markers"].append, 10)
        node.create_subscription(TFMessage, "/tf", got["tf"].append, 10)
        try:
            import time

            end = time.monotonic() + 60
            while time.monotonic() < end and not all(got.values()):
                rclpy.spin_once(node, timeout_sec=0.1)
            self.assertTrue(all(got.values()), {k: len(v) for k, v in got.items()})
            m = got["skeletons"][-1]
            self.assertEqual(m.header.frame_id, "camera_optical_frame")
            self.assertTrue(all(s.positions[0].z > 0 for s in m.skeletons))
        finally:
            node.destroy_node()
            rclpy.shutdown()
