"""Message <-> array conversions (no DDS needed)."""

import math

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy wheels) is not installed")
pytest.importorskip(
    "pose_lifting.msg", reason="pose_lifting messages not built (run scripts/setup.sh)"
)

from sensor_msgs.msg import CompressedImage, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from pose_lifting.msg import Skeleton3D  # noqa: E402

from pose_lifting_core.camera import Intrinsics  # noqa: E402
from pose_lifting_core.pipeline import FrameResult, Person3D  # noqa: E402
from pose_lifting_core.skeleton import JOINT_NAMES  # noqa: E402
from pose_lifting_ros.conversions import (
    ConversionError,
    K_to_camera_info,
    camera_info_problem,  # noqa: E402
    compressed_to_rgb,
    frame_to_msg,
    image_to_rgb,
    keypoints_from_msg,
    msg_to_frame,
    rgb_to_image,
)


def _img(arr, enc, step=None):
    m = Image()
    m.height, m.width = arr.shape[:2]
    m.encoding = enc
    m.step = step if step is not None else arr.strides[0]
    m.data = arr.tobytes()
    return m


RGB = np.random.default_rng(0).integers(0, 255, (4, 5, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "enc,arr,expect",
    [
        ("rgb8", RGB, RGB),
        ("bgr8", RGB[..., ::-1].copy(), RGB),
        ("rgba8", np.dstack([RGB, np.full((4, 5), 9, np.uint8)]), RGB),
        ("bgra8", np.dstack([RGB[..., ::-1], np.full((4, 5), 9, np.uint8)]), RGB),
        ("mono8", RGB[..., 0].copy(), np.repeat(RGB[..., :1], 3, 2)),
        ("mono16", (RGB[..., 0].astype(np.uint16) << 8), np.repeat(RGB[..., :1], 3, 2)),
    ],
)
def test_encodings(enc, arr, expect):
    np.testing.assert_array_equal(image_to_rgb(_img(arr, enc)), expect)


def test_padded_rows_and_yuv():
    padded = np.zeros((4, 20), np.uint8)
    padded[:, :15] = RGB.reshape(4, 15)
    np.testing.assert_array_equal(image_to_rgb(_padded(padded)), RGB)
    grey = np.full((2, 4, 2), 128, np.uint8)
    out = image_to_rgb(_img(grey, "uyvy"))
    assert out.shape == (2, 4, 3)
    for enc in (
        "uyvy",
        "yuv422",
        "yuyv",
        "yuv422_yuy2",
    ):  # two pixels per 4 bytes: odd widths refused
        with pytest.raises(ConversionError, match=f"{enc} images need an even width, got 3"):
            image_to_rgb(_img(np.full((2, 3, 2), 128, np.uint8), enc))


def _padded(padded):
    m = Image()
    m.height, m.width, m.encoding, m.step = 4, 5, "rgb8", 20
    m.data = padded.tobytes()
    return m


@pytest.mark.parametrize(
    "mutate,match",
    [
        (
            lambda m: setattr(m, "encoding", "bayer_rggb8"),
            "unsupported image encoding 'bayer_rggb8'",
        ),
        (lambda m: (setattr(m, "height", 0), setattr(m, "width", 0)), "empty image"),
        (lambda m: setattr(m, "step", 3), "step 3 is smaller than a row"),
        (lambda m: setattr(m, "data", m.data[:10]), "image data has 10 bytes"),
    ],
)
def test_bad_images(mutate, match):
    m = _img(RGB, "rgb8")
    mutate(m)
    with pytest.raises(ConversionError, match=match):
        image_to_rgb(m)


def test_compressed():
    import cv2

    ok, png = cv2.imencode(".png", RGB[..., ::-1])
    m = CompressedImage(format="png", data=png.tobytes())
    np.testing.assert_array_equal(compressed_to_rgb(m), RGB)
    with pytest.raises(ConversionError, match="cannot decode"):
        compressed_to_rgb(CompressedImage(format="jpeg", data=b"xx"))


def test_camera_info_problems():
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    info = K_to_camera_info(K, 640, 480, Header())
    assert camera_info_problem(info, (640, 480)) is None
    assert "all zero" in camera_info_problem(
        K_to_camera_info(np.zeros((3, 3)), 640, 480, Header())
    )
    nan = K.copy()
    nan[0, 0] = math.nan
    assert "NaN" in camera_info_problem(K_to_camera_info(nan, 640, 480, Header()))
    assert "1280x720" in camera_info_problem(K_to_camera_info(K, 1280, 720, Header()), (640, 480))


def test_round_trip_image():
    h = Header(frame_id="cam")
    np.testing.assert_array_equal(image_to_rgb(rgb_to_image(RGB, h)), RGB)


def test_frame_to_msg_carries_everything():
    p = Person3D(
        7,
        0.9,
        np.zeros(4),
        np.ones((17, 2)),
        np.full(17, 0.8),
        np.arange(51.0).reshape(17, 3),
        2.5,
    )
    f = FrameResult(0, 0.0, Intrinsics(500, 501, 320, 240, True), (640, 480), [p])
    h = Header(frame_id="cam")
    h.stamp.sec = 12
    m = frame_to_msg(f, h)
    assert m.header.frame_id == "cam" and m.header.stamp.sec == 12
    assert (
        m.intrinsics_estimated
        and list(m.k[:3]) == [500, 0, 320]
        and (m.width, m.height) == (640, 480)
    )
    assert list(m.joint_names) == list(JOINT_NAMES)
    s = m.skeletons[0]
    assert s.id == 7 and s.positions[1].x == 3.0
    assert s.positions[Skeleton3D.LEFT_WRIST].z == 3.0 * Skeleton3D.LEFT_WRIST + 2
    assert (
        len(s.keypoints_2d) == len(s.positions) == len(s.confidence) == Skeleton3D.NUM_JOINTS
        and abs(s.confidence[0] - 0.8) < 1e-6
        and abs(s.reprojection_error_px - 2.5) < 1e-6
    )
    back = msg_to_frame(m)
    np.testing.assert_array_equal(back.persons[0].joints_3d, p.joints_3d)
    assert back.intrinsics.estimated and back.image_size == (640, 480)
    m.joint_names = list(reversed(JOINT_NAMES))
    with pytest.raises(ConversionError, match="joint_names"):
        msg_to_frame(m)


def test_skeleton3d_joint_constants_are_joint_names():
    """The built message's index constants (Skeleton3D.LEFT_WRIST, ...) and NUM_JOINTS are
    JOINT_NAMES' order; test/test_docs.py checks the same on msg/Skeleton3D.msg itself."""
    for i, name in enumerate(JOINT_NAMES):
        assert getattr(Skeleton3D, name.upper()) == i, name
    assert Skeleton3D.NUM_JOINTS == len(JOINT_NAMES)
    assert "names" not in Skeleton3D.get_fields_and_field_types()


def test_keypoints_from_msg():
    from pose_lifting.msg import Keypoint2D, Keypoints2D, Keypoints2DArray

    m = Keypoints2DArray(layout="coco17", width=640, height=480)
    m.people = [
        Keypoints2D(
            id=3,
            score=0.9,
            keypoints=[Keypoint2D(x=float(i), y=2.0, confidence=0.5) for i in range(17)],
        )
    ]
    m.people[0].keypoints[4].x = math.nan
    kp, sc, ids, person_scores, layout, size = keypoints_from_msg(m)
    assert kp.shape == (1, 17, 2) and ids.tolist() == [3] and size == (640, 480)
    assert person_scores.tolist() == pytest.approx([0.9])
    assert sc[0, 4] == 0.0 and sc[0, 5] == 0.5
    m.layout = "openpose"
    with pytest.raises(ConversionError, match="unknown keypoint layout"):
        keypoints_from_msg(m)
    m.layout = "blazepose33"
    with pytest.raises(ConversionError, match="needs 33"):
        keypoints_from_msg(m)


def test_images_over_the_size_limit_are_refused_before_decoding():
    import io

    from PIL import Image as PILImage
    from sensor_msgs.msg import CompressedImage, Image

    huge = Image(width=10000, height=5000, encoding="rgb8", step=30000)  # no data needed
    with pytest.raises(
        ConversionError, match="image 10000x5000 has 50 megapixels; the limit is 40"
    ):
        image_to_rgb(huge)
    buf = io.BytesIO()
    PILImage.new("L", (9000, 5000)).save(buf, format="PNG")
    with pytest.raises(ConversionError, match="image 9000x5000 has 45 megapixels"):
        compressed_to_rgb(CompressedImage(format="png", data=buf.getvalue()))
