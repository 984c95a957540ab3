"""Serialized outputs (pose_lifting_ros/wire.py) against rclpy's serialization of the message
objects, and the node outputs' choice between the two (pose_lifting_ros/outputs.py)."""
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy wheels) is not installed")
pytest.importorskip("pose_lifting.msg", reason="pose_lifting messages not built (run scripts/setup.sh)")

from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from pose_lifting.msg import Skeleton3DArray  # noqa: E402
from pose_lifting_core.skeleton import JOINT_NAMES  # noqa: E402
from pose_lifting_ros import outputs, visualization, wire  # noqa: E402
from pose_lifting_ros.conversions import frame_to_msg  # noqa: E402
from pose_lifting_ros.params import OutputConfig  # noqa: E402
from rosutil import ros_context  # noqa: E402


@pytest.fixture()
def ros_node():
    import rclpy

    with ros_context() as ctx:
        node = rclpy.create_node("wire_test", context=ctx)
        yield node
        node.destroy_node()


def _header(i: int) -> Header:
    h = Header(frame_id="camera_optical_frame"[: 1 + 3 * i % 20])   # every frame_id length mod 8
    h.stamp.sec, h.stamp.nanosec = 1763700000 + i, 999_999_999 - i
    return h


def test_the_bytes_match_rclpy_on_this_install():
    assert wire.matches_rclpy() is None
    assert (wire.LINE_LIST, wire.SPHERE_LIST, wire.TEXT_VIEW_FACING) == (Marker.LINE_LIST, Marker.SPHERE_LIST,
                                                                       Marker.TEXT_VIEW_FACING)
    assert (wire.ADD, wire.DELETEALL) == (Marker.ADD, Marker.DELETEALL)


@pytest.mark.parametrize("seed", range(6))
def test_many_frames_and_headers_give_rclpy_bytes(seed):
    objects, serial = visualization.MarkerBuilder(1.25), visualization.MarkerBuilder(1.25)
    for i, frame in enumerate(wire.sample_frames(seed) * 2):
        h = _header(seed * 8 + i)
        pads = []
        ours = wire.skeleton_array(frame, h, pads)
        assert wire.differs_from_rclpy(ours, pads, serialize_message(frame_to_msg(frame, h))) is None, i
        pads = []
        ours = serial.serialized(frame, h, 0.04, 0.01, pads)
        assert wire.differs_from_rclpy(ours, pads, serialize_message(objects(frame, h, 0.04, 0.01))) is None, i
        for joint_frames in (False, True):
            pads = []
            ours = visualization.transforms_serialized(frame, h, joint_frames, pads)
            ref = serialize_message(TFMessage(transforms=visualization.transforms(frame, h, joint_frames)))
            assert wire.differs_from_rclpy(ours, pads, ref) is None, (i, joint_frames)


def test_subscribers_read_the_bytes_as_ordinary_messages():
    frame = wire.sample_frames()[0]
    h = _header(3)
    msg = deserialize_message(wire.skeleton_array(frame, h), Skeleton3DArray)
    assert msg.header == h and msg.width == 640 and not msg.intrinsics_estimated
    assert np.allclose(np.reshape(msg.k, (3, 3)), frame.intrinsics.K)
    for s, p in zip(msg.skeletons, frame.persons, strict=True):
        assert s.id == p.id and list(s.names) == list(JOINT_NAMES)
        assert np.array_equal([[q.x, q.y, q.z] for q in s.positions], p.joints_3d)
        assert np.allclose(s.confidence, p.confidence) and np.allclose([k.x for k in s.keypoints_2d], p.keypoints_2d[:, 0])
    arr = deserialize_message(visualization.MarkerBuilder().serialized(frame, h), MarkerArray)
    assert [(m.ns, m.id, m.type) for m in arr.markers[:3]] == [("joints", 1, Marker.SPHERE_LIST),
                                                              ("bones", 1, Marker.LINE_LIST),
                                                              ("labels", 1, Marker.TEXT_VIEW_FACING)]
    assert arr.markers[2].text == f"#1 {frame.persons[0].joints_3d[0, 2]:.1f} m"
    tf = deserialize_message(visualization.transforms_serialized(frame, h, True), TFMessage).transforms
    assert [t.child_frame_id for t in tf[:3]] == ["body_1", "pelvis_1", "right_hip_1"] and len(tf) == 2 * 18
    assert all(t.header == h for t in tf)
    assert np.allclose([tf[0].transform.translation.x, tf[0].transform.translation.z], frame.persons[0].joints_3d[0, [0, 2]])
    assert abs(np.linalg.norm([tf[0].transform.rotation.x, tf[0].transform.rotation.y, tf[0].transform.rotation.z,
                               tf[0].transform.rotation.w]) - 1.0) < 1e-9


def test_a_difference_outside_the_padding_is_found():
    frame = wire.sample_frames()[0]
    h = _header(1)
    pads = []
    ours = wire.skeleton_array(frame, h, pads)
    ref = serialize_message(frame_to_msg(frame, h))
    assert pads, "the sample has alignment padding"
    garbage = bytearray(ref)
    for start, end in pads:                       # rclpy's padding bytes are not ours: ignored
        garbage[start:end] = b"\xab" * (end - start)
    assert wire.differs_from_rclpy(ours, pads, bytes(garbage)) is None
    changed = bytearray(ours)
    changed[-1] ^= 1                              # the score's last byte
    assert wire.differs_from_rclpy(bytes(changed), pads, ref) == len(ours) - 1
    assert wire.differs_from_rclpy(ours[:-4], pads, ref) == len(ours) - 4


def test_outputs_publish_bytes_only_when_they_match(ros_node, monkeypatch):
    assert outputs.Outputs(ros_node).serialized is True
    warnings = []
    monkeypatch.setattr(outputs, "serialized_mismatch", lambda: "MarkerArray of sample frame 0: ...")
    monkeypatch.setattr(type(ros_node.get_logger()), "warning", lambda self, text, **kw: warnings.append(text))
    out = outputs.Outputs(ros_node)
    assert out.serialized is False
    assert warnings and "publishing message objects" in warnings[0] and "sample frame 0" in warnings[0]
    frame, h = wire.sample_frames()[0], _header(2)
    payloads, errors = out.build(frame, h, OutputConfig.defaults())
    built = dict((getattr(send, "__self__", None), payload) for send, payload in payloads)
    assert not errors
    assert isinstance(built[out.skeletons], Skeleton3DArray) and isinstance(built[out.markers], MarkerArray)
    raw, errors = outputs.Outputs(ros_node, serialized=True).build(frame, h, OutputConfig.defaults())
    assert [type(p) for _, p in raw] == [bytes, bytes, bytes] and not errors   # skeletons, markers, TF
    assert [type(p) for _, p in payloads] == [Skeleton3DArray, MarkerArray, list]   # TF objects for the broadcaster


def test_an_output_that_fails_to_build_does_not_hold_back_the_others(ros_node, monkeypatch):
    out = outputs.Outputs(ros_node, serialized=True)
    sent = []
    monkeypatch.setattr(out.skeletons, "publish", lambda m: sent.append("skeletons"))
    monkeypatch.setattr(out.tf.publisher, "publish", lambda m: sent.append("tf"))

    def broken(*args, **kwargs):
        raise RuntimeError("markers broke")

    monkeypatch.setattr(out._marker_builder, "serialized", broken)
    built = out.build(wire.sample_frames()[0], _header(0), OutputConfig.defaults())
    with pytest.raises(RuntimeError, match="markers broke"):
        outputs.Outputs.publish(built)
    assert sent == ["skeletons", "tf"]


def test_edge_values_are_written_as_rclpy_writes_them():
    """Track ids of 2**31 and more (uint32 ids from another detector) wrap into Marker's int32
    id; a finite reprojection error beyond float32 becomes inf; a frame_id ends at a NUL."""
    frame = wire.sample_frames()[0]
    frame.persons[0].id = 2 ** 31 + 5
    frame.persons[1].id = 2 ** 32 - 1
    frame.persons[0].reprojection_error_px = 1e39
    objects, serial = visualization.MarkerBuilder(), visualization.MarkerBuilder()
    for h in (_header(4), Header(frame_id="cam\x00era")):
        pads = []
        ours = wire.skeleton_array(frame, h, pads)
        assert wire.differs_from_rclpy(ours, pads, serialize_message(frame_to_msg(frame, h))) is None
        pads = []
        ours = serial.serialized(frame, h, padding=pads)
        assert wire.differs_from_rclpy(ours, pads, serialize_message(objects(frame, h))) is None
    arr = deserialize_message(ours, MarkerArray)
    assert arr.markers[0].id == 2 ** 31 + 5 - 2 ** 32 and arr.markers[0].header.frame_id == "cam"
    assert deserialize_message(wire.skeleton_array(frame, h), Skeleton3DArray).skeletons[0].reprojection_error_px == np.inf


def test_the_start_up_check_names_the_first_difference(monkeypatch):
    monkeypatch.setattr(wire, "DELETEALL", 2)            # as if this distro numbered DELETEALL otherwise
    problem = wire.matches_rclpy()
    assert problem is not None and problem.startswith("MarkerArray of sample frame 1: ")
    assert "bytes written here" in problem and "first difference at byte" in problem


def test_the_start_up_check_covers_tf(monkeypatch):
    import struct

    monkeypatch.setattr(wire, "_TRANSFORM", struct.Struct("<7f"))     # float32 where TF has float64
    assert wire.matches_rclpy().startswith("TFMessage of sample frame 0: ")


def test_the_start_up_check_reports_an_encoder_that_raises(monkeypatch):
    def broken(frame, header, padding=None):
        raise KeyError("no such field")

    monkeypatch.setattr(wire, "skeleton_array", broken)
    assert wire.matches_rclpy() == "sample frame 0: KeyError: 'no such field'"
