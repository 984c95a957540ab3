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
    assert list(msg.joint_names) == list(JOINT_NAMES)
    for s, p in zip(msg.skeletons, frame.persons, strict=True):
        assert s.id == p.id and len(s.positions) == len(JOINT_NAMES)
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
    assert all(t.header.stamp == h.stamp for t in tf)
    parents = {t.child_frame_id: t.header.frame_id for t in tf}
    assert parents["body_1"] == parents["body_2"] == h.frame_id  # bodies hang from the camera
    assert parents["left_wrist_2"] == "body_2"  # joints from their body (REP-155)
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


def _composed(tfs) -> dict:
    """Each child frame's position in the root frame, composing the TransformStamped list's
    translations and rotations (numpy, no tf2): {child: (root frame, xyz)}."""
    from pose_lifting_core.frames import matrix_from_quaternion

    by_child = {t.child_frame_id: t for t in tfs}

    def pose(child):
        t = by_child[child]
        tr, q = t.transform.translation, t.transform.rotation
        R = matrix_from_quaternion([q.x, q.y, q.z, q.w])[0]
        xyz = np.array([tr.x, tr.y, tr.z])
        parent = t.header.frame_id
        if parent not in by_child:
            return parent, R, xyz
        root, R0, p0 = pose(parent)
        return root, R0 @ R, R0 @ xyz + p0

    return {c: (pose(c)[0], pose(c)[2]) for c in by_child}


def test_joint_frames_hang_from_the_body_frame_and_compose_to_the_joints():
    """Issue 23, item 3: joint frames were children of the camera frame with its axes. Now
    <joint>_<id> is a child of body_<id> (translation in the body frame, the body's axes), and
    composing camera -> body_<id> -> <joint>_<id> gives the joint's camera position."""
    frame = sample_frames()[3]  # three people, large ids
    h = _header(0)
    tfs = visualization.transforms(frame, h, joint_frames=True)
    composed = _composed(tfs)
    for p in frame.persons:
        body = f"body_{p.id}"
        assert {t.header.frame_id for t in tfs if t.child_frame_id.endswith(f"_{p.id}")} == {
            h.frame_id,
            body,
        }
        for j, name in enumerate(JOINT_NAMES):
            root, xyz = composed[f"{name}_{p.id}"]
            assert root == h.frame_id
            np.testing.assert_allclose(xyz, p.joints_3d[j], atol=1e-9)
        root, xyz = composed[body]
        np.testing.assert_allclose(xyz, p.joints_3d[0], atol=1e-12)
    joint = next(t for t in tfs if t.child_frame_id == f"pelvis_{frame.persons[0].id}")
    q = joint.transform.rotation
    assert (q.x, q.y, q.z, q.w) == (0.0, 0.0, 0.0, 1.0)  # the body's axes


def test_a_tf2_buffer_finds_every_joint_in_the_camera_frame():
    """The same tree through tf2 itself (tf2_ros.Buffer, as RViz and ROS4HRI consumers look
    frames up): each joint's camera position, and a body's axes, from the frames published."""
    tf2_ros = pytest.importorskip(
        "tf2_ros", reason="tf2_ros is not installed (no pip wheel; a ROS 2 install has it)"
    )
    from rclpy.time import Time

    frame = sample_frames()[0]
    h = _header(0)
    buffer = tf2_ros.Buffer()
    for t in visualization.transforms(frame, h, joint_frames=True, prefix="cam2/"):
        buffer.set_transform(t, "test")
    for p in frame.persons:
        for j, name in enumerate(JOINT_NAMES):
            t = buffer.lookup_transform(h.frame_id, f"cam2/{name}_{p.id}", Time.from_msg(h.stamp))
            tr = t.transform.translation
            np.testing.assert_allclose([tr.x, tr.y, tr.z], p.joints_3d[j], atol=1e-9)
        up = buffer.lookup_transform(f"cam2/body_{p.id}", f"cam2/head_{p.id}", Time())
        assert up.transform.translation.z > 0  # the head is up the body's z


def test_hri_names_the_frames_and_publishes_the_tracked_bodies(ros_node):
    """Issue 23, item 4 (outputs): with `hri` the TF frames are body_<body id> and
    <joint>_<body id> (no frame_prefix), body id = hri_id_prefix + track id, and an IdsList of
    those ids goes to the absolute /humans/bodies/tracked, stamped with the image's header, also
    when nobody is in the frame; without `hri` there is no such publisher nor message."""
    from hri_msgs.msg import IdsList

    off = outputs.Outputs(ros_node)
    assert off.tracked_bodies is None
    assert ros_node.count_publishers("/humans/bodies/tracked") == 0
    sends = [s for s, _ in off.build(sample_frames()[0], _header(0), OutputConfig.defaults())[0]]
    assert sends == [off.skeletons.publish, off.markers.publish, off.tf.sendTransform]

    on = outputs.Outputs(ros_node, hri=True)
    assert on.tracked_bodies.topic_name == "/humans/bodies/tracked"
    cfg = OutputConfig.from_values(
        {
            **dataclasses.asdict(OutputConfig.defaults()),
            "hri": True,
            "hri_id_prefix": "auto",
            "frame_prefix": "auto",
            "publish_joint_frames": True,
        },
        "/cam2",
        "pose_lifter",
    )
    assert cfg.hri_id_prefix == "cam2_pose_lifter_" and cfg.frame_prefix == "cam2/"
    for frame, ids in zip(
        sample_frames(),
        (["cam2_pose_lifter_1", "cam2_pose_lifter_2"], ["cam2_pose_lifter_2"], [], None),
    ):
        h = _header(frame.index)
        payloads, errors = on.build(frame, h, cfg)
        assert not errors
        sent = dict((send, msg) for send, msg in payloads)
        assert list(sent)[-1] == on.tracked_bodies.publish  # after TF: frames exist first
        got = _round_trip(sent[on.tracked_bodies.publish], IdsList)
        assert got.header == h
        if ids is not None:
            assert list(got.ids) == ids
        names = [t.child_frame_id for t in sent.get(on.tf.sendTransform, [])]
        assert names[::18] == [f"body_{i}" for i in got.ids]
        assert all(n.endswith(tuple(f"_{i}" for i in got.ids)) for n in names)
    assert "left_wrist_cam2_pose_lifter_7" in names


@pytest.mark.parametrize("prefix", ["", "3cam_", "cam-2_", "cam/2_"])
def test_a_body_id_prefix_that_cannot_start_a_topic_name_token_is_refused(prefix):
    """Body ids stand in topic names (/humans/bodies/<id>/...), where a token may not start
    with a digit: with hri on, such a prefix stops the node at start in one line."""
    values = {**dataclasses.asdict(OutputConfig.defaults()), "hri_id_prefix": prefix}
    with pytest.raises(ValueError, match="parameter hri_id_prefix must be"):
        OutputConfig.from_values({**values, "hri": True})
    assert OutputConfig.from_values(values).hri_id_prefix == prefix  # unused while hri is off


@pytest.mark.parametrize("needed", ["track", "publish_tf"])
def test_hri_without_tracking_or_tf_is_refused(needed):
    """Without tracking ids restart at 1 every frame, and without TF a listed body has no
    body_<id> frame: both break ROS4HRI's promise, so `hri: true` with either off is refused."""
    values = {**dataclasses.asdict(OutputConfig.defaults("/", "lifter")), "track": True}
    assert OutputConfig.from_values({**values, "hri": True}).hri
    with pytest.raises(ValueError, match=f"hri is true but {needed} is false"):
        OutputConfig.from_values({**values, "hri": True, needed: False})
