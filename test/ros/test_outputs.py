"""The nodes' outputs (pose_lifting_ros/outputs.py): message objects through rclpy's own
serialization, each output built on its own, edge values as rclpy writes them."""

import dataclasses

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy wheels) is not installed")
pytest.importorskip(
    "pose_lifting.msg", reason="pose_lifting messages not built (run scripts/setup.sh)"
)

from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from pose_lifting.msg import Skeleton3DArray  # noqa: E402
from pose_lifting_core.skeleton import JOINT_NAMES  # noqa: E402
from pose_lifting_ros import outputs, visualization  # noqa: E402
from pose_lifting_ros.conversions import frame_to_msg  # noqa: E402
from pose_lifting_ros.params import OutputConfig  # noqa: E402
from rosutil import ros_context, sample_frames  # noqa: E402


@pytest.fixture()
def ros_node():
    import rclpy

    with ros_context() as ctx:
        node = rclpy.create_node("outputs_test", context=ctx)
        yield node
        node.destroy_node()


def _header(i: int) -> Header:
    h = Header(frame_id="camera_optical_frame")
    h.stamp.sec, h.stamp.nanosec = 1763700000 + i, 999_999_999 - i
    return h


def _round_trip(msg, cls):
    return deserialize_message(serialize_message(msg), cls)


def test_subscribers_read_what_the_outputs_build(ros_node):
    out = outputs.Outputs(ros_node)
    frame, h = sample_frames()[0], _header(3)
    payloads, errors = out.build(
        frame, h, dataclasses.replace(OutputConfig.defaults(), publish_joint_frames=True)
    )
    assert not errors
    sends = [send for send, _ in payloads]
    assert sends == [out.skeletons.publish, out.markers.publish, out.tf.sendTransform]
    skel, markers, tf = (p for _, p in payloads)
    msg = _round_trip(skel, Skeleton3DArray)
    assert msg.header == h and msg.width == 640 and not msg.intrinsics_estimated
    assert np.allclose(np.reshape(msg.k, (3, 3)), frame.intrinsics.K)
    for s, p in zip(msg.skeletons, frame.persons, strict=True):
        assert s.id == p.id and list(s.names) == list(JOINT_NAMES)
        assert np.allclose([[q.x, q.y, q.z] for q in s.positions], p.joints_3d)
    arr = _round_trip(markers, MarkerArray)
    assert [(m.ns, m.id, m.type) for m in arr.markers[:3]] == [
        ("joints", 1, Marker.SPHERE_LIST),
        ("bones", 1, Marker.LINE_LIST),
        ("labels", 1, Marker.TEXT_VIEW_FACING),
    ]
    assert arr.markers[2].text == f"#1 {frame.persons[0].joints_3d[0, 2]:.1f} m"
    tf = _round_trip(TFMessage(transforms=tf), TFMessage).transforms
    assert [t.child_frame_id for t in tf[:3]] == ["body_1", "pelvis_1", "right_hip_1"] and len(
        tf
    ) == 2 * 18
    assert all(t.header == h for t in tf)
    q = tf[0].transform.rotation
    assert abs(np.linalg.norm([q.x, q.y, q.z, q.w]) - 1.0) < 1e-9


def test_a_vanished_person_clears_the_markers_first():
    builder = visualization.MarkerBuilder()
    first, second = sample_frames()[:2]  # people 1 and 2, then only 2
    builder(first, _header(0))
    arr = builder(second, _header(1))
    assert arr.markers[0].action == Marker.DELETEALL and [m.id for m in arr.markers[1:]] == [
        2,
        2,
        2,
    ]
    assert builder(second, _header(2)).markers[0].action == Marker.ADD


def test_an_output_that_fails_to_build_does_not_hold_back_the_others(ros_node, monkeypatch):
    out = outputs.Outputs(ros_node)
    sent = []
    monkeypatch.setattr(out.skeletons, "publish", lambda m: sent.append("skeletons"))
    monkeypatch.setattr(out.tf, "sendTransform", lambda m: sent.append("tf"))

    def broken(*args, **kwargs):
        raise RuntimeError("markers broke")

    monkeypatch.setattr(out, "_marker_builder", broken)
    built = out.build(sample_frames()[0], _header(0), OutputConfig.defaults())
    with pytest.raises(RuntimeError, match="markers broke"):
        outputs.Outputs.publish(built)
    assert sent == ["skeletons", "tf"]


def test_edge_values_are_written_as_rclpy_writes_them():
    """Track ids of 2**31 and more (uint32 ids from another detector) wrap into Marker's int32
    id; a finite reprojection error beyond float32 becomes inf; a frame_id ends at a NUL."""
    frame = sample_frames()[0]
    frame.persons[0].id = 2**31 + 5
    frame.persons[1].id = 2**32 - 1
    frame.persons[0].reprojection_error_px = 1e39
    h = Header(frame_id="cam\x00era")
    arr = _round_trip(visualization.MarkerBuilder()(frame, h), MarkerArray)
    assert arr.markers[0].id == 2**31 + 5 - 2**32 and arr.markers[0].header.frame_id == "cam"
    msg = _round_trip(frame_to_msg(frame, h), Skeleton3DArray)
    assert msg.skeletons[0].reprojection_error_px == np.inf and msg.skeletons[1].id == 2**32 - 1


def test_frame_prefix_from_the_namespace_or_as_given():
    from pose_lifting_ros.params import namespace_prefix

    assert [namespace_prefix(ns) for ns in ("/", "/cam2", "/robot/left/")] == [
        "",
        "cam2/",
        "robot/left/",
    ]
    cfg = OutputConfig.defaults("/cam2")
    assert cfg.frame_prefix == "cam2/" and OutputConfig.defaults().frame_prefix == ""
    given = OutputConfig.from_values(
        {**dataclasses.asdict(OutputConfig.defaults()), "frame_prefix": "left_"}, "/cam2"
    )
    assert given.frame_prefix == "left_"
    tf = visualization.transforms(sample_frames()[0], _header(0), True, "cam2/")
    assert [t.child_frame_id for t in tf[:2]] == ["cam2/body_1", "cam2/pelvis_1"]
