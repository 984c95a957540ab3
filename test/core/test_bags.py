"""Bags (issue 24): `pose-lifting estimate BAG` and `adapt BAG`, the output bag read back by an
independent reader, the bag messages against the nodes' own builders, and every bad bag as one
line and exit 2. Bags are written here from samples/ images (few frames, small)."""

import dataclasses
import hashlib
import json
import os
import sqlite3

import cv2
import numpy as np
import pytest

from conftest import ROOT
from pose_lifting_core.tooling.cli import main

pytest.importorskip("rosbags", reason="the bag commands need rosbags (requirements.txt)")

from pose_lifting_ros.bag.camera_bag import START_NS, write_camera_bag  # noqa: E402

SAMPLES = [os.path.join(ROOT, "samples", f) for f in ("basketball1.png", "basketball2.png")]


def _rgb(path, size=None):
    rgb = np.ascontiguousarray(cv2.imread(path)[..., ::-1])
    return rgb if size is None else np.ascontiguousarray(cv2.resize(rgb, size))


def _K(w, h):
    """A distinct, plausible K per image size: fx = 0.9 width."""
    return np.array([[0.9 * w, 0, w / 2], [0, 0.9 * w, h / 2], [0, 0, 1.0]])


FRAMES = [(SAMPLES[0], None), (SAMPLES[1], None), (SAMPLES[0], (480, 360))]
"""Two 640x480 frames, then one 480x360: the topic changes size and each frame keeps its own K."""


def _bag(tmp_path, name, storage="mcap", compressed=False, camera_info=True, frames=FRAMES):
    path = str(tmp_path / name)
    frames = [_rgb(f, size) for f, size in frames]
    topics = write_camera_bag(
        path, frames, storage=storage, compressed=compressed, K_of=_K if camera_info else None
    )
    return path, topics


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def _digest(path):
    files = (
        [path] if os.path.isfile(path) else sorted(os.path.join(path, f) for f in os.listdir(path))
    )
    return [hashlib.sha256(open(f, "rb").read()).hexdigest() for f in files]


def _read_back(folder):
    """Every message of an output bag, decoded by mcap-ros2-support (not rosbags):
    [(topic, log time ns, message)]."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    (mcap,) = [f for f in os.listdir(folder) if f.endswith(".mcap")]
    with open(os.path.join(folder, mcap), "rb") as fh:
        reader = make_reader(fh, decoder_factories=[DecoderFactory()])
        return [(c.topic, m.log_time, d) for _, c, m, d in reader.iter_decoded_messages()]


@pytest.mark.parametrize(
    "storage, compressed", [("mcap", False), ("sqlite3", True), ("ros1", False)]
)
def test_estimate_a_bag_and_read_the_output_bag_back(storage, compressed, tmp_path, capsys):
    """A bag of raw or compressed images with CameraInfo (mcap, sqlite3, ROS 1) goes through
    `estimate`; the new mcap bag holds /skeletons, /markers and /tf for each image, stamped,
    framed and logged as it, each frame with the K of its own size, and (with --copy-input
    used) the input topics; the input is not modified."""
    bag, (image_topic, info_topic) = _bag(
        tmp_path, "in.bag" if storage == "ros1" else "in", storage, compressed
    )
    before = _digest(bag)
    out, js = str(tmp_path / "out"), str(tmp_path / "o.json")
    copy = [] if storage == "ros1" else ["--copy-input", "used"]
    code, stdout, err = _run(
        [
            "estimate",
            bag,
            "--image-topic",
            image_topic,
            "--bag-out",
            out,
            "--output",
            js,
            "--quiet",
            *copy,
        ],
        capsys,
    )
    assert code == 0, err
    assert f"CameraInfo from {info_topic}" in err and f"wrote {out}" in stdout
    assert _digest(bag) == before, "the input bag is never modified"
    frames = json.load(open(js))["frames"]
    assert [f["image_size"] for f in frames] == [[640, 480], [640, 480], [480, 360]]
    assert all(not f["intrinsics"]["estimated"] for f in frames)
    assert [f["intrinsics"]["fx"] for f in frames] == [576.0, 576.0, 432.0]
    msgs = _read_back(out)
    by_topic = {}
    for topic, log_ns, m in msgs:
        by_topic.setdefault(topic, []).append((log_ns, m))
    stamps = [START_NS + i * 100_000_000 for i in range(3)]
    skel = by_topic["/skeletons"]
    assert len(skel) == 3 and len(by_topic["/markers"]) == 3
    assert [s.header.stamp.sec * 10**9 + s.header.stamp.nanosec for _, s in skel] == stamps
    assert [log for log, _ in skel] == [s + 2000 for s in stamps], "logged as its image"
    assert {s.header.frame_id for _, s in skel} == {"camera_optical_frame"}
    assert [list(s.k) for _, s in skel] == [
        list(_K(w, h).ravel()) for w, h in [(640, 480)] * 2 + [(480, 360)]
    ]
    # one decoded skeleton against the JSON of the same run
    s = skel[0][1].skeletons[0]
    p = next(q for q in frames[0]["persons"] if q["id"] == s.id)
    assert list(skel[0][1].joint_names)[:3] == ["pelvis", "right_hip", "right_knee"]
    np.testing.assert_allclose(
        [s.positions[0].x, s.positions[0].y, s.positions[0].z], p["joints"]["pelvis"], atol=1e-3
    )
    assert 0.5 < s.positions[0].z < 8.0
    tf = by_topic["/tf"]
    assert len(tf) == sum(1 for f in frames if f["persons"])
    assert tf[0][1].transforms[0].header.frame_id == "camera_optical_frame"
    assert {t.child_frame_id for t in tf[0][1].transforms} == {
        f"body_{q['id']}" for q in frames[0]["persons"]
    }
    if copy:
        assert len(by_topic[image_topic]) == 3 and len(by_topic[info_topic]) == 3


def test_bad_messages_are_skipped_and_counted_and_no_camera_info_gives_the_prior(tmp_path, capsys):
    """A message that cannot be converted (an unsupported encoding, data shorter than its size)
    is skipped and counted, not fatal; without CameraInfo the prior is used, flagged."""
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_JAZZY)
    t = ts.types
    bag = str(tmp_path / "bad")
    rgb = _rgb(SAMPLES[0])
    with Writer(bag, version=9) as w:
        c = w.add_connection("/cam/image", "sensor_msgs/msg/Image", typestore=ts)
        for i, (enc, data) in enumerate(
            [("rgb8", rgb.ravel()), ("bayer_grbg8", rgb.ravel()), ("rgb8", rgb.ravel()[:99])]
        ):
            hdr = t["std_msgs/msg/Header"](
                stamp=t["builtin_interfaces/msg/Time"](sec=1, nanosec=i), frame_id="cam"
            )
            msg = t["sensor_msgs/msg/Image"](
                header=hdr,
                height=480,
                width=640,
                encoding=enc,
                is_bigendian=0,
                step=1920,
                data=data,
            )
            w.write(c, 10 + i, ts.serialize_cdr(msg, "sensor_msgs/msg/Image"))
    code, out, err = _run(["estimate", bag, "--quiet"], capsys)
    assert code == 0, err
    assert "1 frame(s)" in out and "2 bad message(s) skipped" in out and "K estimated" in out
    assert "2 bag message(s) skipped" in err and "unsupported image encoding" in err
    assert "image data has 99 bytes" in err
    assert "field-of-view prior" in err


def _tamper(path, kind):
    """A broken copy of a good bag folder `path`, as `kind` says."""
    mcap = os.path.join(path, os.path.basename(path) + ".mcap")
    if kind == "truncated":
        data = open(mcap, "rb").read()
        open(mcap, "wb").write(data[: len(data) // 2])
    elif kind == "corrupt":
        open(mcap, "wb").write(b"\x89MCAP0\r\n" + os.urandom(4000))
    elif kind == "unknown_storage":
        meta = os.path.join(path, "metadata.yaml")
        text = open(meta).read().replace("storage_identifier: mcap", "storage_identifier: foo")
        open(meta, "w").write(text)
    return path


@pytest.mark.parametrize(
    "case, needle",
    [
        ("truncated", "cannot read bag"),
        ("corrupt", "cannot read bag"),
        ("truncated_db3", "cannot read bag"),
        ("unknown_storage", "Storage plugin 'foo' not supported"),
        ("missing_topic", "has no topic /nope; its topics: /camera/camera_info"),
        ("not_an_image_topic", "carries sensor_msgs/msg/CameraInfo, not image"),
        ("empty", "is empty: it has no topics"),
        ("no_messages", "has no messages on /camera/image_raw"),
        ("output_is_input", "--bag-out {bag} is the input"),
        ("output_exists", "exists already; bags are never overwritten"),
        ("json_output_with_bag_suffix", "--output writes JSON, not a bag"),
        ("bag_out_without_bag", "--bag-out and --copy-input need a bag input"),
        ("two_intrinsics", "--camera-info-topic and --intrinsics/--camera-info"),
    ],
)
def test_bad_bags_are_one_line_and_exit_2(case, needle, tmp_path, capsys):
    """Each bad bag, topic or output: one line, exit 2, nothing written, the input unchanged."""
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    storage = "sqlite3" if case == "truncated_db3" else "mcap"
    frames = [_rgb(SAMPLES[0], (320, 240))]
    bag = str(tmp_path / "in")
    if case in ("empty", "no_messages"):
        ts = get_typestore(Stores.ROS2_JAZZY)
        with Writer(bag, version=9) as w:
            if case == "no_messages":
                w.add_connection("/camera/image_raw", "sensor_msgs/msg/Image", typestore=ts)
    else:
        write_camera_bag(bag, frames, storage=storage, K_of=_K)
    if case == "truncated_db3":
        db = os.path.join(bag, "in.db3")
        sqlite3.connect(db).execute("DROP TABLE messages").connection.commit()
    else:
        _tamper(bag, case)
    before = _digest(bag)
    out = str(tmp_path / "out")
    args = ["estimate", bag, "--bag-out", out, "--quiet"]
    if case == "missing_topic":
        args += ["--image-topic", "/nope"]
    elif case == "not_an_image_topic":
        args += ["--image-topic", "/camera/camera_info"]
    elif case == "output_is_input":
        args[3] = bag
    elif case == "output_exists":
        os.mkdir(out)
    elif case == "json_output_with_bag_suffix":
        args += ["--output", str(tmp_path / "x.mcap")]
    elif case == "bag_out_without_bag":
        args[1] = SAMPLES[0]
    elif case == "two_intrinsics":
        args += ["--camera-info-topic", "/camera/camera_info", "--intrinsics", "1", "1", "1", "1"]
    code, _, err = _run(args, capsys)
    err = err.strip()
    assert code == 2 and needle.format(bag=bag) in err and "\n" not in err, err
    assert _digest(bag) == before
    assert not os.path.exists(out) or case == "output_exists"
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")], "no temporary left"


def test_without_rosbags_a_bag_is_one_line_naming_the_install(tmp_path, capsys, monkeypatch):
    """The rest of the product runs without rosbags; a bag command then says how to get it."""
    import sys

    bag = str(tmp_path / "x.mcap")
    open(bag, "wb").write(b"")
    monkeypatch.setitem(sys.modules, "rosbags", None)
    code, _, err = _run(["estimate", bag, "--quiet"], capsys)
    assert code == 2 and "pip install 'rosbags" in err and "\n" not in err.strip(), err


def test_adapt_from_a_bag_and_from_its_keypoints(tmp_path, capsys):
    """`adapt BAG` runs the detector over the image topic and adapts (the focal length refined
    where the bag has no CameraInfo), prints check figures on the user's 2D; the result loads
    as the nodes load a checkpoint; the keypoints it kept adapt again without the bag."""
    from pose_lifting_core.lifter import Lifter
    from pose_lifting_core.pipeline import PipelineConfig

    bag, (image_topic, _) = _bag(tmp_path, "in", camera_info=False, frames=FRAMES[:2] * 2)
    out, kp = str(tmp_path / "adapted.pt"), str(tmp_path / "kp.npz")
    code, stdout, err = _run(
        [
            "adapt",
            bag,
            "--image-topic",
            image_topic,
            "--output",
            out,
            "--keypoints-out",
            kp,
            "--epochs",
            "1",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, err
    assert "the focal length is refined" in err and "focal length:" in stdout
    assert "check on your 2D" in stdout and "reprojection" in stdout and "symmetry" in stdout
    lifter = Lifter.load(out, "cpu")
    assert lifter.info["extra"]["adaptation"]["inputs"] == ["in"]
    assert PipelineConfig(checkpoint=out).validate().checkpoint == out
    code, stdout, err = _run(
        [
            "adapt",
            kp,
            "--output",
            str(tmp_path / "again.pt"),
            "--epochs",
            "1",
            "--holdout",
            "0.3",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0 and "held out" in stdout, err


def test_bag_messages_match_the_node_builders_field_by_field():
    """The bag's Skeleton3DArray, MarkerArray (with a DELETEALL when someone left) and
    TFMessage equal, field by field, what the nodes' rclpy builders make of the same frames
    (serialized by rclpy, decoded by rosbags), and the project's types hash as the built ones."""
    pytest.importorskip("rclpy", reason="needs rclpy and the built messages")
    try:
        from rclpy.serialization import serialize_message
        from std_msgs.msg import Header
        from builtin_interfaces.msg import Time

        from pose_lifting_ros import visualization
        from pose_lifting_ros.conversions import frame_to_msg
    except ImportError as exc:
        pytest.skip(f"needs the built messages: {exc}")
    from pose_lifting_core.camera import Intrinsics
    from pose_lifting_core.pipeline import FrameResult, Person3D
    from pose_lifting_ros.bag import messages
    from pose_lifting_ros.bag.types import typestore

    from conftest import STANDING

    rng = np.random.default_rng(0)

    def person(pid, x):
        J = STANDING + [x, 0.0, 3.0]
        kp = rng.uniform(0, 600, (17, 2))
        return Person3D(pid, 0.9, np.zeros(4), kp, rng.uniform(0, 1, 17), J, 1.5)

    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    frames = [
        FrameResult(0, 0.0, Intrinsics.from_K(K), (640, 480), [person(1, -0.5), person(2, 0.7)]),
        FrameResult(1, 0.1, Intrinsics.from_K(K, True), (640, 480), [person(2, 0.6)]),
        FrameResult(2, 0.2, Intrinsics.from_K(K), (640, 480), []),
    ]
    ts = typestore()
    ros_markers, bag_markers = visualization.MarkerBuilder(), messages.MarkerBuilder()
    for i, frame in enumerate(frames):
        stamp = (1_700_000_000, 5000 + i)
        rh = Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id="cam")
        bh = messages.header(stamp[0] * 10**9 + stamp[1], "cam")
        pairs = [
            (frame_to_msg(frame, rh), messages.skeleton_array(frame, bh), messages.SKELETONS),
            (ros_markers(frame, rh), bag_markers(frame, bh), messages.MARKERS),
        ]
        ros_tf = visualization.transforms(frame, rh)
        bag_tf = messages.transforms(frame, bh)
        assert (bag_tf is None) == (not ros_tf)
        if ros_tf:
            from tf2_msgs.msg import TFMessage

            pairs.append((TFMessage(transforms=ros_tf), bag_tf, messages.TF))
        for ros, ours, msgtype in pairs:
            theirs = ts.deserialize_cdr(bytes(serialize_message(ros)), msgtype)
            _assert_same(theirs, ours, msgtype)
    share = os.path.join(ROOT, ".venv", "share", "pose_lifting", "msg", "Skeleton3DArray.json")
    if os.path.isfile(share):
        assert ts.hash_rihs01(messages.SKELETONS) in open(share).read()


def _assert_same(a, b, where):
    """Two rosbags messages equal field by field (floats to float32 precision)."""
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, (list, tuple)) and not isinstance(a, str):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, (np.ndarray, float)):
        np.testing.assert_allclose(
            np.asarray(a, float), np.asarray(b, float), rtol=1e-6, atol=1e-6, err_msg=where
        )
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_copying_a_ros1_bag_is_refused_without_leaving_a_temporary(tmp_path, capsys):
    """--copy-input of a ROS 1 bag (its messages are not CDR) is one line, exit 2, and leaves
    neither the output nor its temporary folder (the writer was open when the copy failed)."""
    bag, (image_topic, _) = _bag(tmp_path, "in.bag", "ros1", False)
    out = tmp_path / "out"
    code, _, err = _run(
        ["estimate", bag, "--image-topic", image_topic, "--bag-out", str(out)]
        + ["--copy-input", "used", "--quiet"],
        capsys,
    )
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and len(errors) == 1 and "ROS 1" in errors[0], err
    assert not out.exists()
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")], "no temporary left"
