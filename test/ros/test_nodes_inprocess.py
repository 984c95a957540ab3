"""Nodes in this process: pose_lifter on a real image, keypoint_lifter on given keypoints."""

import os

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy wheels) is not installed")
pytest.importorskip(
    "pose_lifting.msg", reason="pose_lifting messages not built (run scripts/setup.sh)"
)

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from pose_lifting.msg import Keypoint2D, Keypoints2D, Keypoints2DArray, Skeleton3DArray  # noqa: E402
from pose_lifting_core.camera import project  # noqa: E402
from pose_lifting_core.media import read_image  # noqa: E402
from pose_lifting_ros.conversions import K_to_camera_info, rgb_to_image  # noqa: E402
from rosutil import ROOT, every, ros_context, spin_until  # noqa: E402
from conftest import STANDING  # noqa: E402

K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])


@pytest.fixture()
def graph():
    with ros_context() as ctx:
        ex = SingleThreadedExecutor(context=ctx)
        nodes = []
        yield ctx, ex, nodes
        for n in nodes:
            if hasattr(n, "stop"):
                n.stop()
            n.destroy_node()
        ex.shutdown()


def _node_with_probe(graph, node_class, **overrides):
    """A node of `node_class` and a probe node in one executor; the probe records `skeletons`."""
    ctx, ex, nodes = graph
    node = node_class(
        context=ctx, parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()]
    )
    probe = rclpy.create_node("probe", context=ctx)
    nodes += [node, probe]
    ex.add_node(node)
    ex.add_node(probe)
    got = []
    probe.create_subscription(Skeleton3DArray, "skeletons", got.append, 10)
    return node, probe, ex, got


def _pose_lifter(graph, **overrides):
    from pose_lifting_ros.pose_lifter import PoseLifter

    return _node_with_probe(graph, PoseLifter, person_detector="blazepose", **overrides)


def _keypoint_lifter(graph, **overrides):
    from pose_lifting_ros.keypoint_lifter import KeypointLifter

    return _node_with_probe(graph, KeypointLifter, **overrides)


@pytest.fixture(autouse=True)
def _opencv_threads_restored():
    """pose_lifter sets OpenCV single-threaded for its process; the tests share one process."""
    import cv2

    threads = cv2.getNumThreads()
    yield
    cv2.setNumThreads(threads)


def test_pose_lifter_in_process(graph):
    import gc

    import cv2

    gc.unfreeze()  # another test's `estimate` may have frozen it
    node, probe, ex, got = _pose_lifter(graph)
    pub_img = probe.create_publisher(Image, "image", qos_profile_sensor_data)
    pub_info = probe.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
    assert spin_until(
        probe,
        ex,
        lambda: pub_img.get_subscription_count() > 0 and pub_info.get_subscription_count() > 0,
    )
    rgb = read_image(os.path.join(ROOT, "samples", "basketball1.png"))
    h = Header(frame_id="cam_optical")
    h.stamp.sec, h.stamp.nanosec = 100, 5

    def send():
        pub_info.publish(K_to_camera_info(K, 640, 480, h))
        pub_img.publish(rgb_to_image(rgb, h))

    send()
    resend = every(0.25, send)
    assert spin_until(probe, ex, lambda: bool(got) or resend(), timeout=30)
    m = got[0]
    assert m.header.frame_id == "cam_optical" and (m.header.stamp.sec, m.header.stamp.nanosec) == (
        100,
        5,
    )
    assert len(m.skeletons) >= 1
    assert all(0.5 < s.positions[0].z < 10 for s in m.skeletons)
    assert not m.intrinsics_estimated and m.k[0] == 500.0
    assert spin_until(probe, ex, lambda: node.stats()["published"] >= 1, timeout=10)
    assert node.stats()["failed"] == 0
    # after its first frame the node freezes what it loaded out of the collector's way (a full
    # collection over it stalled HD frames by 50-80 ms)
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    # and runs OpenCV single-threaded, so the background HOG search cannot take the frames' CPU
    # through OpenCV's thread pool
    assert cv2.getNumThreads() == 1


def test_keypoint_lifter_in_process(graph):
    node, probe, ex, got = _keypoint_lifter(graph)
    pub = probe.create_publisher(Keypoints2DArray, "keypoints", 10)
    assert spin_until(probe, ex, lambda: pub.get_subscription_count() > 0)
    X = STANDING.copy()
    X = X + np.array([0.2, 0.1, 4.0])
    uv = project(X, K)
    msg = Keypoints2DArray(layout="h36m17", width=640, height=480)
    msg.header.frame_id = "cam"
    msg.people = [
        Keypoints2D(
            id=0,
            score=1.0,
            keypoints=[Keypoint2D(x=float(u), y=float(v), confidence=1.0) for u, v in uv],
        )
    ]
    pub.publish(msg)
    resend = every(0.1, lambda: pub.publish(msg))
    assert spin_until(probe, ex, lambda: bool(got) or resend(), timeout=20)
    m = got[0]
    assert m.header.frame_id == "cam" and m.intrinsics_estimated  # no CameraInfo: the prior
    assert len(m.skeletons) == 1 and m.skeletons[0].id == 1


def test_runtime_parameter_updates_are_validated(graph):
    from pose_lifting_ros.keypoint_lifter import KeypointLifter

    ctx, ex, nodes = graph
    node = KeypointLifter(context=ctx)
    nodes.append(node)
    before = node.fresh_estimator()
    bad = node.set_parameters([Parameter("max_people", value=0)])[0]
    assert not bad.successful and "max_people" in bad.reason
    bad = node.set_parameters([Parameter("smoothing_alpha", value=0.0)])[0]
    assert not bad.successful and "smoothing_alpha" in bad.reason
    ro = node.set_parameters([Parameter("checkpoint", value="/tmp/x.pt")])[0]
    assert not ro.successful  # read-only at run time
    ok = node.set_parameters(
        [Parameter("max_people", value=3), Parameter("publish_tf", value=False)]
    )[0]
    assert ok.successful
    assert node.fresh_estimator().config.max_people == 3 and not node.outputs.publish_tf
    # reconfigured in place: the same estimator, lifter and tracker (ids go on, no reload)
    assert node.fresh_estimator() is before and before.tracker is node.estimator.tracker
    assert node.get_parameter("max_people").value == 3


def test_compressed_input_and_empty_frames_give_stamped_arrays(graph):
    import cv2
    from sensor_msgs.msg import CompressedImage

    node, probe, ex, got = _pose_lifter(graph, image_transport="compressed")
    pub = probe.create_publisher(CompressedImage, "image/compressed", qos_profile_sensor_data)
    assert spin_until(probe, ex, lambda: pub.get_subscription_count() > 0)
    rgb = read_image(os.path.join(ROOT, "samples", "basketball1.png"))
    for stamp, img in ((5, rgb), (6, np.full_like(rgb, 128))):  # people, then an empty grey frame
        h = Header(frame_id="cam")
        h.stamp.sec = stamp
        msg = CompressedImage(
            header=h, format="jpeg", data=cv2.imencode(".jpg", img[..., ::-1])[1].tobytes()
        )
        resend = every(0.2, lambda: pub.publish(msg))
        assert spin_until(
            probe,
            ex,
            lambda: any(m.header.stamp.sec == stamp for m in got) or resend(),
            timeout=30,
        )
    by_stamp = {m.header.stamp.sec: m for m in got}
    assert len(by_stamp[5].skeletons) >= 1
    assert (
        len(by_stamp[6].skeletons) == 0 and by_stamp[6].header.frame_id == "cam"
    )  # empty, stamped, not silence


@pytest.mark.parametrize(
    "remaps, topic",
    [
        ([], "/image/compressed"),
        (["-r", "__ns:=/cam1", "-r", "image:=image_raw"], "/cam1/image_raw/compressed"),
        (["-r", "image:=/drv/color/image_raw"], "/drv/color/image_raw/compressed"),
        (["-r", "image/compressed:=/jpeg"], "/jpeg"),
    ],
)
def test_compressed_input_follows_the_image_remapping(graph, remaps, topic):
    """The launch files remap `image` to their `image` argument; with image_transport compressed
    the node read `image/compressed`, which that remapping does not move (/image/compressed
    whatever `image:=` said). It now reads <image as remapped>/compressed, as image_transport
    does; a remapping of image/compressed itself still applies."""
    from pose_lifting_ros.pose_lifter import PoseLifter

    ctx, ex, nodes = graph
    node = PoseLifter(
        context=ctx,
        cli_args=["--ros-args", *remaps],
        parameter_overrides=[
            Parameter("image_transport", value="compressed"),
            Parameter("person_detector", value="blazepose"),
        ],
    )
    nodes.append(node)
    topics = {s.topic_name for s in node.subscriptions}
    assert topic in topics, topics


def test_a_detector_exception_skips_the_frame_and_is_counted(graph):
    node, probe, ex, got = _pose_lifter(graph)
    det = node.estimator.detector
    real, calls = det.detect, []

    def flaky(image):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("injected detector fault")
        return real(image)

    det.detect = flaky
    pub = probe.create_publisher(Image, "image", qos_profile_sensor_data)
    assert spin_until(probe, ex, lambda: pub.get_subscription_count() > 0)
    rgb = read_image(os.path.join(ROOT, "samples", "basketball1.png"))
    h = Header(frame_id="cam")
    resend = every(0.3, lambda: pub.publish(rgb_to_image(rgb, h)))
    assert spin_until(probe, ex, lambda: bool(got) or resend(), timeout=30)
    assert spin_until(probe, ex, lambda: node.stats()["published"] >= 1, timeout=10)
    assert node.stats()["failed"] == 1


def test_keypoints_without_image_size_or_camera_info_are_skipped_and_counted(graph):
    node, probe, ex, _ = _keypoint_lifter(graph)
    pub = probe.create_publisher(Keypoints2DArray, "keypoints", 10)
    assert spin_until(probe, ex, lambda: pub.get_subscription_count() > 0)
    msg = Keypoints2DArray(layout="coco17", width=0, height=0)
    msg.people = [Keypoints2D(keypoints=[Keypoint2D(x=1.0, y=2.0, confidence=1.0)] * 17)]
    resend = every(0.2, lambda: pub.publish(msg))
    assert spin_until(probe, ex, lambda: node.stats()["failed"] >= 1 or resend(), timeout=20)
    assert node.stats()["published"] == 0


def test_integers_for_float_parameters_and_misspelt_names(graph, monkeypatch):
    """A YAML `fallback_hfov_deg: 90` (an integer) starts the node with 90.0; a misspelt name
    is warned about, listed, instead of being silently ignored; strings are still refused."""
    from pose_lifting_ros.keypoint_lifter import KeypointLifter

    ctx, ex, nodes = graph
    warned = []
    import rclpy.impl.rcutils_logger as rl

    monkeypatch.setattr(rl.RcutilsLogger, "warning", lambda self, msg, **kw: warned.append(msg))
    node = KeypointLifter(
        context=ctx,
        parameter_overrides=[
            Parameter("fallback_hfov_deg", value=90),
            Parameter("max_peple", value=3),
            Parameter("smoothing_alpha", value=1),
        ],
    )
    nodes.append(node)
    assert node.values["fallback_hfov_deg"] == 90.0 and isinstance(
        node.values["fallback_hfov_deg"], float
    )
    assert node.fresh_estimator().config.hfov_deg == 90.0 and node.values["smoothing_alpha"] == 1.0
    assert any("unknown parameters ignored (misspelt?): max_peple" in w for w in warned), warned
    ok = node.set_parameters([Parameter("fallback_hfov_deg", value=75)])[0]
    assert ok.successful and node.fresh_estimator().config.hfov_deg == 75.0
    bad = node.set_parameters([Parameter("fallback_hfov_deg", value="wide")])[0]
    assert not bad.successful and "must be a number" in bad.reason
    bad = node.set_parameters([Parameter("fallback_hfov_deg", value=200)])[0]
    assert not bad.successful and "fallback_hfov_deg must be in [10, 170]" in bad.reason


def test_video_source_takes_an_integer_source_as_a_camera_index(graph, monkeypatch):
    """`-p source:=0` (an integer parameter) opens camera 0, as `source:="0"` does; it was a
    parameter type error. Other types are still refused, naming the parameter."""
    import cv2

    from pose_lifting_ros.video_source import VideoSource

    opened = []

    class Camera:  # cv2.VideoCapture of a camera that is there
        def __init__(self, source):
            opened.append(source)

        def isOpened(self):
            return True

        def read(self):
            return True, np.zeros((48, 64, 3), np.uint8)

        def get(self, prop):
            return 0.0

        def set(self, prop, value):
            return True

        def release(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", Camera)
    ctx, ex, nodes = graph
    for value in (0, "1"):
        node = VideoSource(context=ctx, parameter_overrides=[Parameter("source", value=value)])
        nodes.append(node)
        assert node.cfg.source == str(value)
    assert opened == [0, 1]
    with pytest.raises(ValueError, match="parameter source must be a string or an integer"):
        VideoSource(context=ctx, parameter_overrides=[Parameter("source", value=1.5)])


def test_diagnostics_name_is_the_fully_qualified_node_name(graph):
    from pose_lifting_ros.keypoint_lifter import KeypointLifter

    ctx, ex, nodes = graph
    node = KeypointLifter(context=ctx, namespace="/cam2")
    nodes.append(node)
    assert node.diagnostic_status().name == "/cam2/keypoint_lifter: pipeline"


def test_two_cameras_publish_distinct_tf_frames_and_diagnostics(graph):
    """Two pose_lifter nodes in /cam1 and /cam2 (as `-r __ns:=/cam2` gives): their TF frames are
    cam1/body_<id> and cam2/body_<id>, and their diagnostics are named apart."""
    from tf2_msgs.msg import TFMessage

    from pose_lifting_ros.pose_lifter import PoseLifter

    ctx, ex, nodes = graph
    lifters = [
        PoseLifter(
            context=ctx,
            namespace=ns,
            parameter_overrides=[Parameter("person_detector", value="blazepose")],
        )
        for ns in ("/cam1", "/cam2")
    ]
    probe = rclpy.create_node("probe", context=ctx)
    nodes += lifters + [probe]
    for n in lifters + [probe]:
        ex.add_node(n)
    frames = set()
    probe.create_subscription(
        TFMessage, "/tf", lambda m: frames.update(t.child_frame_id for t in m.transforms), 100
    )
    pubs = [
        (
            probe.create_publisher(Image, f"{ns}/image", qos_profile_sensor_data),
            probe.create_publisher(CameraInfo, f"{ns}/camera_info", qos_profile_sensor_data),
        )
        for ns in ("/cam1", "/cam2")
    ]
    assert spin_until(
        probe,
        ex,
        lambda: all(a.get_subscription_count() and b.get_subscription_count() for a, b in pubs),
    )
    rgb = read_image(os.path.join(ROOT, "samples", "basketball1.png"))
    h = Header(frame_id="cam_optical")

    def send():
        for img, info in pubs:
            info.publish(K_to_camera_info(K, 640, 480, h))
            img.publish(rgb_to_image(rgb, h))

    send()
    resend = every(0.25, send)
    done = lambda: {"cam1/body_1", "cam2/body_1"} <= frames or resend()  # noqa: E731
    assert spin_until(probe, ex, done, timeout=30), frames
    assert not any(f.startswith("body_") for f in frames)
    names = [n.diagnostic_status().name for n in lifters]
    assert names == ["/cam1/pose_lifter: pipeline", "/cam2/pose_lifter: pipeline"]


def test_diagnostics_tell_the_recent_truth(graph, monkeypatch):
    """The level comes from the last seconds: OK, WARN when most recent frames failed or input
    arrives without output, ERROR when every recent frame failed; rates decay to 0."""
    from diagnostic_msgs.msg import DiagnosticStatus

    from pose_lifting_ros.keypoint_lifter import KeypointLifter

    ctx, ex, nodes = graph
    node = KeypointLifter(context=ctx)
    nodes.append(node)
    t = 1000.0
    node._outcomes.extend([(t - 1, True)] * 10)
    node._in_times.extend([t - 1] * 10)
    node._out_times.extend([t - 1] * 10)
    assert node.health(t)[0] == DiagnosticStatus.OK
    assert node.stats(t)["output_rate_hz"] == pytest.approx(10 / node.RECENT_S)
    assert node.stats(t + 60)["output_rate_hz"] == 0.0  # output stopped: the rate decays
    node._outcomes.extend([(t + 0.5, False)] * 11)
    level, reason = node.health(t + 0.6)
    assert level == DiagnosticStatus.WARN and "11 of the last 21 frames failed" in reason
    assert node.health(t + 4.5)[0] == DiagnosticStatus.ERROR  # only failures left in the window
    node._outcomes.clear()
    node._in_times.append(t + 9)  # input arrives, nothing published since t - 1
    level, reason = node.health(t + 9.5)
    assert level == DiagnosticStatus.WARN and "no output" in reason
    st = node.diagnostic_status(t + 9.5)
    assert st.level == DiagnosticStatus.WARN and st.message.startswith("input arrives")


def test_warnings_are_throttled_per_category_and_the_diagnostics_period_applies(
    graph, monkeypatch
):
    import rclpy.impl.rcutils_logger as rl

    from pose_lifting_ros.keypoint_lifter import KeypointLifter

    ctx, ex, nodes = graph
    node = KeypointLifter(context=ctx)
    nodes.append(node)
    warned = []
    monkeypatch.setattr(rl.RcutilsLogger, "warning", lambda self, msg, **kw: warned.append(msg))
    for i in range(100):  # 100 slightly different truncated images: one line
        node.warn_throttled(
            f"skipped a message: image data has {i} bytes", "skipped: ConversionError"
        )
    node.warn_throttled("skipped a message: bad layout", "skipped: ValueError")
    assert len(warned) == 2
    period = node._diag_timer.timer_period_ns
    assert node.set_parameters([Parameter("diagnostics_period_s", value=0.25)])[0].successful
    assert node._diag_timer.timer_period_ns == 250_000_000 != period


def test_nodes_load_an_adapted_checkpoint(graph, tmp_path):
    """A checkpoint written by `pose-lifting adapt` goes in through the `checkpoint` parameter:
    the keypoint_lifter lifts with it (its adaptation record is there) and publishes."""
    from pose_lifting_core.checkpoint import load_model
    from pose_lifting_core.tooling.adapt import AdaptConfig, AdaptData, adapt, load_pose_prior
    from pose_lifting_core.tooling.adapt import save_adapted

    X = STANDING.copy()
    people = X[None] + np.array([[0.1 * i, 0.1, 3.0 + 0.2 * i] for i in range(16)])[:, None]
    uv = project(people, K)
    model, codec, info = load_model()
    cfg = AdaptConfig(epochs=1, batch_size=16)
    res = adapt(
        model, codec, AdaptData(uv, np.ones((16, 17)), np.tile(K, (16, 1, 1)),
                                np.ones(16, bool), None),
        load_pose_prior(), cfg, progress=False,
    )  # fmt: skip
    path = str(tmp_path / "adapted.pt")
    save_adapted(path, res, codec, info, cfg, ["test.npz"])
    node, probe, ex, got = _keypoint_lifter(graph, checkpoint=path)
    assert node.estimator.lifter.info["path"] == path
    assert node.estimator.lifter.info["extra"]["adaptation"]["poses"] == 16
    pub = probe.create_publisher(Keypoints2DArray, "keypoints", 10)
    assert spin_until(probe, ex, lambda: pub.get_subscription_count() > 0)
    msg = Keypoints2DArray(layout="h36m17", width=640, height=480)
    msg.header.frame_id = "cam"
    msg.people = [
        Keypoints2D(
            id=0,
            score=1.0,
            keypoints=[Keypoint2D(x=float(u), y=float(v), confidence=1.0) for u, v in uv[0]],
        )
    ]
    resend = every(0.1, lambda: pub.publish(msg))
    assert spin_until(probe, ex, lambda: bool(got) or resend(), timeout=20)
    assert len(got[0].skeletons) == 1


def _camera_info(D=(), model="plumb_bob", frame_id="cam", k=K, size=(640, 480)):
    """A CameraInfo of K (3, 3) with distortion `model` and coefficients D, in `frame_id`."""
    info = K_to_camera_info(k, size[0], size[1], Header(frame_id=frame_id))
    info.distortion_model, info.d = model, [float(v) for v in D]
    return info


def _keypoints_msg(uv, frame_id="cam", size=(640, 480)):
    """Keypoints2DArray of one h36m17 person at pixels uv (17, 2)."""
    msg = Keypoints2DArray(layout="h36m17", width=size[0], height=size[1])
    msg.header.frame_id = frame_id
    msg.people = [
        Keypoints2D(
            id=0,
            score=1.0,
            keypoints=[Keypoint2D(x=float(u), y=float(v), confidence=1.0) for u, v in uv],
        )
    ]
    return msg


def _recording(monkeypatch, estimator, method):
    """Record the (K, distortion) the node hands `estimator.method`; pose_lifter's detector is
    skipped (an empty frame), keypoint_lifter's keypoints are lifted."""
    calls = []
    real = getattr(estimator, method)

    def record(*args, **kwargs):
        if method == "process":
            K_, dist = args[1], args[3]
        else:
            K_, dist = args[4], kwargs.get("distortion")
        calls.append((None if K_ is None else np.array(K_), dist))
        if method == "process":
            return estimator._lift(None, None, "coco17", np.zeros((0, 4)), np.zeros(0), K_,
                                   (640, 480), None)  # fmt: skip
        return real(*args, **kwargs)

    monkeypatch.setattr(estimator, method, record)
    return calls


def _warnings(monkeypatch):
    import rclpy.impl.rcutils_logger as rl

    warned = []
    monkeypatch.setattr(rl.RcutilsLogger, "warning", lambda self, msg, **kw: warned.append(msg))
    return warned


def test_both_lifters_read_camera_info_through_one_rule(graph, monkeypatch):
    """Issue 22, item 1: keypoint_lifter ignored lens distortion (the same output for D = 0, a
    strong plumb_bob, equidistant, NaN or an unknown model, nothing logged) while pose_lifter
    applied it. Both now take K, the distortion and the warnings from camera_model."""
    import cv2

    from pose_lifting_core.camera_model import camera_model
    from pose_lifting_ros.conversions import calibration_from_camera_info
    from pose_lifting_ros.keypoint_lifter import KeypointLifter
    from pose_lifting_ros.pose_lifter import PoseLifter

    ctx, ex, nodes = graph
    warned = _warnings(monkeypatch)
    kl = KeypointLifter(context=ctx)
    pl = PoseLifter(
        context=ctx, parameter_overrides=[Parameter("person_detector", value="blazepose")]
    )
    nodes += [kl, pl]
    kl_calls = _recording(monkeypatch, kl.estimator, "process_keypoints")
    pl_calls = _recording(monkeypatch, pl.estimator, "process")
    X = STANDING + np.array([0.9, 0.2, 4.0])  # a person at 4 m seen through a barrel lens
    strong = [-0.35, 0.12, 0.0, 0.0, 0.0]
    seen = cv2.projectPoints(X, np.zeros(3), np.zeros(3), K, np.array(strong))[0][:, 0]
    image = rgb_to_image(np.zeros((480, 640, 3), np.uint8), Header(frame_id="cam"))
    cases = [
        ([0.0] * 5, "plumb_bob", True, None),
        (strong, "plumb_bob", True, None),
        ([0.1, 0.02, 0.0, 0.0], "equidistant", True, None),
        ([float("nan"), 0, 0, 0, 0], "plumb_bob", False, "contain NaN or infinity"),
        ([0.1, 0.0, 0.0, 0.0, 0.0], "kannala", False, "unsupported distortion model 'kannala'"),
    ]
    for D, model, usable, problem in cases:
        info = _camera_info(D, model)
        expected = camera_model(calibration_from_camera_info(info), (640, 480))
        for node in (kl, pl):
            node.info._keep(info)
        del warned[:]
        for _ in range(3):  # warned once, not every frame
            frame, _ = kl.process(_keypoints_msg(seen))
            pl.process(image)
        for name, calls in (("keypoint_lifter", kl_calls), ("pose_lifter", pl_calls)):
            K_used, dist = calls[-1]
            np.testing.assert_array_equal(K_used, K)
            dist = None if dist is None else (dist[0], list(dist[1]))
            want = None if expected.distortion is None else (model, D)
            assert dist == want, (name, model, D)
        assert (expected.distortion is not None) == (usable and any(D))
        if problem is None:
            assert warned == [], warned
        else:
            assert len(warned) == 2 and all(problem in w for w in warned), warned
        if D == strong:  # lifted as the core lifts it with D applied, on the true ray
            core = kl.estimator.lifter.estimate(
                cv2.undistortPoints(seen[:, None], K, np.array(strong), P=K)[:, 0][None],
                np.ones((1, 17)),
                K,
            ).joints_3d[0]
            np.testing.assert_allclose(frame.persons[0].joints_3d, core, atol=1e-3)
            ray = frame.persons[0].joints_3d[0] / np.linalg.norm(frame.persons[0].joints_3d[0])
            assert np.degrees(np.arccos(ray @ (X[0] / np.linalg.norm(X[0])))) < 0.5


def test_camera_info_problems_are_warned_once_and_on_diagnostics_until_resolved(
    graph, monkeypatch
):
    """Issue 22, item 6: a CameraInfo in another frame_id than the image's (keypoint_lifter: the
    Keypoints2DArray's) was used without a word, and /diagnostics stayed OK while a bad K was
    replaced by the prior. Now each problem is warned once when it appears, and /diagnostics is
    WARN, naming it, until a frame comes without it."""
    from diagnostic_msgs.msg import DiagnosticStatus

    from pose_lifting_ros.keypoint_lifter import KeypointLifter
    from pose_lifting_ros.pose_lifter import PoseLifter

    ctx, ex, nodes = graph
    warned = _warnings(monkeypatch)
    kl = KeypointLifter(context=ctx)
    pl = PoseLifter(
        context=ctx, parameter_overrides=[Parameter("person_detector", value="blazepose")]
    )
    nodes += [kl, pl]
    pl_calls = _recording(monkeypatch, pl.estimator, "process")
    uv = project(STANDING + np.array([0.2, 0.1, 4.0]), K)
    image = rgb_to_image(np.zeros((480, 640, 3), np.uint8), Header(frame_id="cam"))
    nan_k = np.where(K == 500, np.nan, K)
    steps = [  # (CameraInfo, the text each node must show; None: OK)
        (_camera_info(frame_id="cam"), None),
        (_camera_info(frame_id="other_frame"), "CameraInfo frame_id 'other_frame' is not the"),
        (_camera_info(frame_id="cam"), None),
        (_camera_info(frame_id="cam", k=nan_k), "CameraInfo K contains NaN or infinity"),
        (_camera_info(frame_id="cam"), None),
    ]
    for info, text in steps:
        del warned[:]
        for node in (kl, pl):
            node.info._keep(info)
        for _ in range(3):
            frame, _ = kl.process(_keypoints_msg(uv))
            pl.process(image)
        estimated = text is not None and "K contains" in text
        assert frame.intrinsics.estimated == estimated
        assert (pl_calls[-1][0] is None) == estimated  # the frame_id alone does not reject K
        for node, name in ((kl, "Keypoints2DArray's 'cam'"), (pl, "image's 'cam'")):
            st = node.diagnostic_status()
            if text is None:
                assert st.level == DiagnosticStatus.OK, st.message
            else:
                assert st.level == DiagnosticStatus.WARN and text in st.message, st.message
                if "frame_id" in text:
                    assert name in st.message, st.message
            values = {v.key: v.value for v in st.values}
            assert values["intrinsics_estimated"] == str(int(estimated))
            assert values["camera_problems"] == str(int(text is not None))
        if text is None:
            assert warned == [], warned
        else:  # once per node, not every frame
            assert len(warned) == 2 and all(text in w for w in warned), warned


def test_rectified_images_use_P_and_no_distortion(graph, monkeypatch):
    """Issue 23, item 2: D was always applied and P never used, so keypoints from image_proc's
    image_rect were undistorted twice. With `image_is_rectified: true` both nodes lift with
    CameraInfo's P (left 3x3, here not K) and no distortion; false (the default) K and D."""
    import cv2

    from pose_lifting_ros.keypoint_lifter import KeypointLifter
    from pose_lifting_ros.pose_lifter import PoseLifter

    ctx, ex, nodes = graph
    warned = _warnings(monkeypatch)
    rect = [Parameter("image_is_rectified", value=True)]
    kl = KeypointLifter(context=ctx, parameter_overrides=rect)
    pl = PoseLifter(
        context=ctx, parameter_overrides=rect + [Parameter("person_detector", value="blazepose")]
    )
    nodes += [kl, pl]
    assert "image_proc's image_rect" in kl.describe_parameter("image_is_rectified").description
    pl_calls = _recording(monkeypatch, pl.estimator, "process")
    P3 = np.array([[430.0, 0, 300], [0, 432, 250], [0, 0, 1]])
    info = _camera_info([-0.35, 0.12, 0.0, 0.0, 0.0])  # K and the raw image's strong D
    info.p = np.hstack([P3, np.zeros((3, 1))]).ravel().tolist()
    for node in (kl, pl):
        node.info._keep(info)
    X = STANDING + np.array([0.9, 0.2, 4.0])
    rectified_px = project(X, P3)  # what a detector finds in the rectified image

    def ray_error(frame):
        p = frame.persons[0].joints_3d[0]
        return np.degrees(np.arccos(p @ X[0] / np.linalg.norm(p) / np.linalg.norm(X[0])))

    frame, _ = kl.process(_keypoints_msg(rectified_px))
    pl.process(rgb_to_image(np.zeros((480, 640, 3), np.uint8), Header(frame_id="cam")))
    np.testing.assert_array_equal(frame.intrinsics.K, P3)
    assert not frame.intrinsics.estimated and ray_error(frame) < 0.5
    np.testing.assert_array_equal(pl_calls[-1][0], P3)
    assert pl_calls[-1][1] is None and warned == []
    # raw (the default; also a run-time change): K and D, on raw keypoints
    for node in (kl, pl):
        assert node.set_parameters([Parameter("image_is_rectified", value=False)])[0].successful
    raw_px = cv2.projectPoints(X, np.zeros(3), np.zeros(3), K, np.array(info.d))[0][:, 0]
    frame, _ = kl.process(_keypoints_msg(raw_px))
    pl.process(rgb_to_image(np.zeros((480, 640, 3), np.uint8), Header(frame_id="cam")))
    np.testing.assert_array_equal(frame.intrinsics.K, K)
    assert ray_error(frame) < 0.5
    np.testing.assert_array_equal(pl_calls[-1][0], K)
    assert pl_calls[-1][1][0] == "plumb_bob" and list(pl_calls[-1][1][1]) == list(info.d)
    # the rectified keypoints read as raw ones are off the ray: the two rules differ here
    frame, _ = kl.process(_keypoints_msg(rectified_px))
    assert ray_error(frame) > 2.0


def test_implausible_people_are_left_out_counted_and_named(graph, monkeypatch):
    """Issue 22, item 3: keypoint_lifter published degenerate keypoints (every joint at one
    pixel) as a skeleton at z = 0.10 m. The pipeline's rule (plausibility.py) leaves such a
    person out; the node warns naming the reason, and /diagnostics counts the people left out
    by reason."""
    warned = _warnings(monkeypatch)
    node, probe, ex, got = _keypoint_lifter(graph)
    pub = probe.create_publisher(Keypoints2DArray, "keypoints", 10)
    assert spin_until(probe, ex, lambda: pub.get_subscription_count() > 0)
    uv = project(STANDING + np.array([0.2, 0.1, 4.0]), K)
    msg = _keypoints_msg(uv)
    msg.people.append(_keypoints_msg(np.tile(uv[:1], (17, 1))).people[0])
    msg.people[1].id = 1
    resend = every(0.2, lambda: pub.publish(msg))
    assert spin_until(probe, ex, lambda: bool(got) or resend(), timeout=20)
    assert [len(m.skeletons) for m in got] == [1] * len(got)
    assert got[0].skeletons[0].positions[0].z > 3.0
    assert spin_until(probe, ex, lambda: node.stats()["published"] >= 1, timeout=10)
    why = "1 with keypoints all within 2 px of each other"
    assert any(w.startswith("left out 1 implausible person(s): " + why) for w in warned), warned
    st = node.diagnostic_status()
    values = {v.key: v.value for v in st.values}
    n = values["people_dropped"]  # one per frame published
    assert int(n) >= 1 and values["people_dropped_degenerate_2d"] == n
    assert values["people_dropped_beyond_max_distance"] == "0"
    assert f"implausible people left out: {n} with keypoints all within 2 px" in st.message


def test_a_frame_finished_after_shutdown_is_not_published_nor_warned(monkeypatch):
    """Issue 22, item 12: on SIGINT a node sometimes logged "skipped a message: Failed to
    publish: publisher's context is invalid": its worker thread published a frame after the
    signal had shut the context down, and counted it as failed. The worker now stops quietly
    once the context is shut down."""
    import time

    from rosutil import apply_env, ros_env

    from pose_lifting_ros.keypoint_lifter import KeypointLifter

    warned = _warnings(monkeypatch)
    env = ros_env()
    apply_env(env)
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=int(env["ROS_DOMAIN_ID"]))
    node = KeypointLifter(context=ctx)
    try:
        rclpy.shutdown(context=ctx)  # what SIGINT does, while the worker runs
        node.enqueue(_keypoints_msg(project(STANDING + np.array([0.2, 0.1, 4.0]), K)))
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and node._worker.is_alive() and not node.failed:
            time.sleep(0.02)
        assert not node._worker.is_alive(), "the worker stops with the context"
        assert node.failed == 0 and node.published == 0
        assert not [w for w in warned if "context" in w or "Failed to publish" in w], warned
    finally:
        node.stop()
        node.destroy_node()


def _two_people_msg(stamp: int, both: bool = True):
    """Keypoints2DArray of two standing people 1.6 m apart at 4 m (detector ids 0: the node's
    tracker numbers them), or only the one on the left."""
    msg = _keypoints_msg(project(STANDING + np.array([-0.8, 0.1, 4.0]), K))
    if both:
        msg.people += _keypoints_msg(project(STANDING + np.array([0.8, 0.1, 4.0]), K)).people
    msg.header.stamp.sec = stamp
    return msg


def test_hri_lists_the_tracked_bodies_and_drops_one_that_leaves(graph):
    """Issue 23, item 4: with `hri: true` keypoint_lifter publishes the ids of the bodies it
    tracks on /humans/bodies/tracked (hri_msgs/IdsList, stamped with the input's header), named
    <hri_id_prefix><track id> (auto: the node's fully qualified name, so two cameras never
    clash), with TF frames body_<body id>; a body that leaves is dropped from the next list."""
    from hri_msgs.msg import IdsList
    from tf2_msgs.msg import TFMessage

    from pose_lifting_ros.keypoint_lifter import KeypointLifter

    ctx, ex, nodes = graph
    with pytest.raises(ValueError, match="parameter hri_id_prefix must be"):
        KeypointLifter(
            context=ctx,
            parameter_overrides=[
                Parameter("hri", value=True),
                Parameter("hri_id_prefix", value="3"),
            ],
        )
    node = KeypointLifter(
        context=ctx, namespace="/cam2", parameter_overrides=[Parameter("hri", value=True)]
    )
    probe = rclpy.create_node("probe", context=ctx)
    nodes += [node, probe]
    ex.add_node(node)
    ex.add_node(probe)
    lists, frames = [], set()
    probe.create_subscription(IdsList, "/humans/bodies/tracked", lists.append, 10)
    probe.create_subscription(
        TFMessage, "/tf", lambda m: frames.update(t.child_frame_id for t in m.transforms), 100
    )
    pub = probe.create_publisher(Keypoints2DArray, "/cam2/keypoints", 10)
    assert spin_until(probe, ex, lambda: pub.get_subscription_count() > 0)

    def sent(both: bool, n: int):
        """The first list of n ids for a message sent after this call."""
        stamp = 100 + len(lists)
        resend = every(0.1, lambda: pub.publish(_two_people_msg(stamp, both)))
        new = lambda: [m for m in lists if m.header.stamp.sec == stamp]  # noqa: E731
        assert spin_until(
            probe, ex, lambda: (new() and len(new()[-1].ids) == n) or resend(), timeout=20
        ), [list(m.ids) for m in lists]
        return new()[-1]

    two = sent(True, 2)
    assert all(i.startswith("cam2_keypoint_lifter_") for i in two.ids), list(two.ids)
    assert two.header.frame_id == "cam" and two.header.stamp.sec >= 100
    assert spin_until(probe, ex, lambda: {f"body_{i}" for i in two.ids} <= frames), frames
    assert not any(f.startswith("cam2/") for f in frames)  # no frame_prefix with hri
    one = sent(False, 1)
    assert set(one.ids) < set(two.ids)  # the one who stayed keeps their id; the other is gone
    assert list(sent(False, 1).ids) == list(one.ids)  # stable while tracked
    empty = Keypoints2DArray(layout="h36m17", width=640, height=480)
    empty.header.frame_id = "cam"
    resend = every(0.1, lambda: pub.publish(empty))
    assert spin_until(probe, ex, lambda: list(lists[-1].ids) == [] or resend(), timeout=20)


def test_without_hri_nothing_is_published_on_humans(graph):
    """`hri` is off by default: no /humans/bodies/tracked publisher, no list, and the TF frames
    keep their names (body_<track id>)."""
    from hri_msgs.msg import IdsList

    node, probe, ex, got = _keypoint_lifter(graph)
    assert node.get_parameter("hri").value is False
    lists = []
    probe.create_subscription(IdsList, "/humans/bodies/tracked", lists.append, 10)
    pub = probe.create_publisher(Keypoints2DArray, "keypoints", 10)
    assert spin_until(probe, ex, lambda: pub.get_subscription_count() > 0)
    resend = every(0.1, lambda: pub.publish(_two_people_msg(5)))
    assert spin_until(
        probe, ex, lambda: (got and len(got[-1].skeletons) == 2) or resend(), timeout=20
    )
    spin_until(probe, ex, lambda: False, timeout=0.5)  # what was sent has had time to arrive
    assert lists == [] and probe.count_publishers("/humans/bodies/tracked") == 0
