"""launch_testing versions of the launch-file tests.

They need launch, launch_ros and launch_testing, which exist on a ROS 2 install but not on
pip-only machines, and this package installed where launch finds it (an ament prefix on
AMENT_PREFIX_PATH with its configs and executables: colcon build, then source
install/setup.bash); elsewhere they skip, naming what is missing, and
test_graph_multiprocess.py runs the same graph (video_source -> pose_lifter, started with
--params-file) and checks the same outputs, and test_launch_fallback.py checks the launch files'
arguments and runs the two-camera launch as processes. Run with pytest, or `launch_test
test/ros/test_launch_files.py` (no PYTHONPATH needed: this file imports nothing from test/).
"""

import glob
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


COVERED = (
    "test_graph_multiprocess.py covers this graph, and test_launch_fallback.py the launch files "
    "(arguments, the two-camera launch as processes)"
)
pytest.importorskip(
    "launch",
    reason=f"launch (ROS 2) is not installed; {COVERED}",
)
pytest.importorskip(
    "launch_ros",
    reason=f"launch_ros is not installed; {COVERED}",
)
pytest.importorskip(
    "launch_testing",
    reason=f"launch_testing is not installed; {COVERED}",
)

_PROBLEM = install_problem()
if _PROBLEM is not None:
    pytest.skip(f"{_PROBLEM}; {COVERED}", allow_module_level=True)

import launch  # noqa: E402
import launch_testing.actions  # noqa: E402
import rclpy  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402


LAUNCH_FILES = sorted(glob.glob(os.path.join(ROOT, "launch", "*.launch.py")))
COMMON_ARGUMENTS = {"namespace": "", "image": "image_raw", "camera_info": "camera_info"}
"""The arguments every launch file takes, with their defaults; and params_file, the installed
config/pose_lifter.yaml (README, docs/ROS.md)."""
SAMPLE = os.path.join(ROOT, "samples", "basketball1.png")


def _include(name, **arguments):
    """launch/NAME with `arguments`, scoped (its arguments and environment stay inside)."""
    return launch.actions.GroupAction(
        [
            launch.actions.IncludeLaunchDescription(
                PythonLaunchDescriptionSource(os.path.join(ROOT, "launch", name)),
                launch_arguments=arguments.items(),
            )
        ]
    )


@pytest.mark.launch_test
def generate_test_description():
    return launch.LaunchDescription(
        [
            _include("demo.launch.py", rviz="false", source=SAMPLE),  # at the root
            _include("two_cameras.launch.py", sample_video="true", source=SAMPLE),  # cam1, cam2
            launch_testing.actions.ReadyToTest(),
        ]
    )


class TestLaunchArguments(unittest.TestCase):
    def test_every_launch_file_takes_the_same_arguments_with_the_same_defaults(self):
        """Issue 23, item 5: namespace, image, camera_info and params_file everywhere, with one
        set of defaults (before: /camera/image_raw in one file, /camera/image in the other)."""
        from launch.actions import DeclareLaunchArgument
        from launch.launch_description_sources import (
            get_launch_description_from_python_launch_file,
        )
        from launch.utilities import perform_substitutions

        self.assertEqual(
            [os.path.basename(f) for f in LAUNCH_FILES],
            ["demo.launch.py", "pose_lifting.launch.py", "two_cameras.launch.py"],
        )
        for path in LAUNCH_FILES:
            description = get_launch_description_from_python_launch_file(path)
            context = launch.LaunchContext()
            defaults = {
                e.name: perform_substitutions(context, e.default_value)
                for e in description.entities
                if isinstance(e, DeclareLaunchArgument)
            }
            got = {k: defaults.get(k) for k in COMMON_ARGUMENTS}
            self.assertEqual(got, COMMON_ARGUMENTS, path)
            self.assertTrue(
                defaults.get("params_file", "").endswith(
                    os.path.join("share", "pose_lifting", "config", "pose_lifter.yaml")
                ),
                (path, defaults.get("params_file")),
            )


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


class TestTwoCamerasLaunch(unittest.TestCase):
    def test_each_camera_has_its_own_nodes_skeletons_and_tf_frames(self):
        """two_cameras.launch.py sample_video:=true: a video_source and a pose_lifter in /cam1
        and in /cam2; each lifter's skeletons carry its camera's frame, its TF child frames its
        namespace (cam1/body_<id>), and no child frame comes from both."""
        import time
        from collections import defaultdict

        from rclpy.executors import SingleThreadedExecutor
        from tf2_msgs.msg import TFMessage

        from pose_lifting.msg import Skeleton3DArray

        ctx = rclpy.Context()
        rclpy.init(context=ctx)
        node = rclpy.create_node("two_cameras_probe", context=ctx)
        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        skeletons = {"/cam1": [], "/cam2": []}
        parents = {"/cam1": "cam1/camera_optical_frame", "/cam2": "cam2/camera_optical_frame"}
        tf = defaultdict(set)

        def record_tf(msg):
            for t in msg.transforms:
                tf[t.header.frame_id].add(t.child_frame_id)

        for ns, got in skeletons.items():
            node.create_subscription(Skeleton3DArray, f"{ns}/skeletons", got.append, 10)
        node.create_subscription(TFMessage, "/tf", record_tf, 100)
        expected = {(n, ns) for ns in skeletons for n in ("pose_lifter", "video_source")}
        try:
            end = time.monotonic() + 120
            while time.monotonic() < end and not (
                all(any(m.skeletons for m in got) for got in skeletons.values())
                and all(tf.get(p) for p in parents.values())
                and expected <= set(node.get_node_names_and_namespaces())
            ):
                ex.spin_once(timeout_sec=0.1)
            nodes = set(node.get_node_names_and_namespaces())
            for ns in skeletons:
                self.assertIn(("pose_lifter", ns), nodes)
                self.assertIn(("video_source", ns), nodes)
                self.assertTrue(any(m.skeletons for m in skeletons[ns]), ns)
                self.assertEqual({m.header.frame_id for m in skeletons[ns]}, {parents[ns]})
            cam1, cam2 = tf[parents["/cam1"]], tf[parents["/cam2"]]
            self.assertTrue(cam1 and all(c.startswith("cam1/body_") for c in cam1), cam1)
            self.assertTrue(cam2 and all(c.startswith("cam2/body_") for c in cam2), cam2)
            self.assertFalse(cam1 & cam2)
        finally:
            node.destroy_node()
            ex.shutdown()
            rclpy.shutdown(context=ctx)
