"""Fuzzing the message-to-array conversions: the only outcomes are a clean result or a
ConversionError (never another exception, never a wrong-shaped array)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy wheels) is not installed")
pytest.importorskip(
    "pose_lifting.msg", reason="pose_lifting messages not built (run scripts/setup.sh)"
)

from sensor_msgs.msg import CameraInfo, CompressedImage, Image  # noqa: E402

from pose_lifting_ros.conversions import (
    SUPPORTED_ENCODINGS,
    ConversionError,
    camera_info_problem,  # noqa: E402
    compressed_to_rgb,
    image_to_rgb,
    keypoints_from_msg,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    enc=st.one_of(st.sampled_from(SUPPORTED_ENCODINGS), st.text(max_size=12)),
    h=st.integers(0, 9),
    w=st.integers(0, 9),
    step=st.integers(0, 80),
    data=st.binary(max_size=400),
    big=st.booleans(),
)
def test_image_to_rgb(enc, h, w, step, data, big):
    m = Image(height=h, width=w, step=step, encoding=enc, is_bigendian=int(big))
    m.data = data
    try:
        out = image_to_rgb(m)
    except ConversionError:
        return
    assert out.shape == (h, w, 3) and out.dtype == np.uint8


@FUZZ
@given(fmt=st.sampled_from(["jpeg", "png", "", "bmp"]), data=st.binary(max_size=300))
def test_compressed_to_rgb(fmt, data):
    try:
        out = compressed_to_rgb(CompressedImage(format=fmt, data=data))
    except ConversionError:
        return
    assert out.ndim == 3 and out.shape[2] == 3


finite_or_not = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.just(0.0))


@FUZZ
@given(
    k=st.lists(finite_or_not, min_size=9, max_size=9),
    w=st.integers(0, 5000),
    h=st.integers(0, 5000),
)
def test_camera_info_problem_never_raises(k, w, h):
    info = CameraInfo(width=w, height=h)
    info.k = k
    r = camera_info_problem(info, (640, 480))
    assert r is None or isinstance(r, str)


@FUZZ
@given(
    layout=st.sampled_from(["coco17", "blazepose33", "h36m17", "x", ""]),
    people=st.lists(
        st.lists(st.tuples(finite_or_not, finite_or_not, finite_or_not), max_size=35), max_size=4
    ),
)
def test_keypoints_from_msg(layout, people):
    from pose_lifting.msg import Keypoint2D, Keypoints2D, Keypoints2DArray

    msg = Keypoints2DArray(layout=layout, width=640, height=480)
    msg.people = [
        Keypoints2D(keypoints=[Keypoint2D(x=a, y=b, confidence=c) for a, b, c in p])
        for p in people
    ]
    try:
        kp, sc, ids, _, lay, size = keypoints_from_msg(msg)
    except ConversionError:
        return
    assert np.isfinite(kp).all() and ((sc >= 0) & (sc <= 1)).all() and len(kp) == len(people)
