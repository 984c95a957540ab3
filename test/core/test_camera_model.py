"""camera_model: the one intrinsics and distortion rule of both nodes and the CLI."""

import numpy as np
import pytest

from pose_lifting_core.camera_model import Calibration, camera_model

K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
STRONG = [-0.35, 0.12, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "model, D, applied, problem",
    [
        ("plumb_bob", [0.0] * 5, False, None),
        ("plumb_bob", [], False, None),
        ("plumb_bob", STRONG, True, None),
        ("rational_polynomial", STRONG + [0.0, 0.0, 0.0], True, None),
        ("equidistant", [0.1, 0.02, 0.0, 0.0], True, None),
        ("plumb_bob", [np.nan, 0, 0, 0, 0], False, "contain NaN or infinity"),
        ("kannala", [0.1, 0, 0, 0], False, "unsupported distortion model 'kannala'"),
        ("equidistant", STRONG, False, "takes 4 coefficients, got 5"),
        ("plumb_bob", [1e6, 0, 0, 0, 0], False, "would move an image corner"),
    ],
)
def test_raw_image_K_and_every_distortion_model_or_bad_value(model, D, applied, problem):
    """K is used as given; a D that can be applied is, with its model; one that cannot (an
    unknown model, NaN, a wrong count, an absurd size) is named and not applied, K still used."""
    cam = camera_model(Calibration(K, np.array(D), model, 640, 480), (640, 480))
    np.testing.assert_array_equal(cam.K, K)
    assert cam.image_size == (640, 480)
    if applied:
        assert cam.distortion[0] == model and list(cam.distortion[1]) == D and not cam.problems
    else:
        assert cam.distortion is None
    if problem is None:
        assert cam.problems == ()
    else:
        (text,) = cam.problems
        assert problem in text and text.endswith("keypoints not undistorted"), text


@pytest.mark.parametrize(
    "K_given, size, problem",
    [
        (np.zeros((3, 3)), (640, 480), "CameraInfo K is all zero"),
        (np.where(K == 500, np.nan, K), (640, 480), "CameraInfo K contains NaN"),
        (K * [[1e-9], [1e-9], [1]], (640, 480), "implausible"),
        (K, (1280, 720), "CameraInfo is for 640x480 but the image is 1280x720"),
    ],
)
def test_an_unusable_K_gives_the_prior_named(K_given, size, problem):
    cam = camera_model(Calibration(K_given, np.array(STRONG), "plumb_bob", 640, 480), size, 70.0)
    assert cam.K is None and cam.distortion is None
    (text,) = cam.problems
    assert problem in text and text.endswith("estimated from a 70 deg field of view"), text


def test_the_image_size_comes_from_the_calibration_where_the_image_gives_none():
    cam = camera_model(Calibration(K, np.zeros(5), "plumb_bob", 640, 480), (0, 0))
    assert cam.image_size == (640, 480) and cam.K is not None and not cam.problems
    unsized = camera_model(Calibration(K), None)  # no size anywhere: K's own checks only
    assert unsized.image_size == (0, 0) and unsized.K is not None


def test_a_frame_id_other_than_the_input_s_is_named_and_the_calibration_used():
    calib = Calibration(K, np.zeros(5), "plumb_bob", 640, 480, frame_id="left_optical")
    cam = camera_model(calib, (640, 480), frame_id="right_optical", input_name="Keypoints2DArray")
    np.testing.assert_array_equal(cam.K, K)
    (text,) = cam.problems
    assert "CameraInfo frame_id 'left_optical' is not the Keypoints2DArray's 'right_optical'" in (
        text
    )
    for a, b in (("left_optical", "left_optical"), ("", "right_optical"), ("left_optical", "")):
        calib = Calibration(K, np.zeros(5), "plumb_bob", 640, 480, frame_id=a)
        assert camera_model(calib, (640, 480), frame_id=b).problems == ()  # "": not stated


P = np.array([[430.0, 0, 300, 0], [0, 432, 250, 0], [0, 0, 1, 0]])  # differs from K


def test_a_rectified_image_takes_P_and_no_distortion():
    """image_geometry's rule: a raw image K and D; a rectified one (image_proc's image_rect,
    whose CameraInfo keeps the raw D) the left 3x3 of P and no distortion, without a warning."""
    calib = Calibration(K, np.array(STRONG), "plumb_bob", 640, 480, P=P)
    raw = camera_model(calib, (640, 480))
    np.testing.assert_array_equal(raw.K, K)
    assert raw.distortion[0] == "plumb_bob" and list(raw.distortion[1]) == STRONG
    rect = camera_model(calib, (640, 480), rectified=True)
    np.testing.assert_array_equal(rect.K, P[:, :3])
    assert rect.distortion is None and rect.problems == ()
    stereo_right = P + [[0, 0, 0, -43.0], [0, 0, 0, 0], [0, 0, 0, 0]]  # Tx = -fx * baseline
    np.testing.assert_array_equal(
        camera_model(Calibration(K, P=stereo_right), (640, 480), rectified=True).K, P[:, :3]
    )


@pytest.mark.parametrize(
    "P_given, problem",
    [
        (None, "CameraInfo has no 3x4 projection matrix P"),
        (np.zeros((3, 4)), "CameraInfo P's left 3x3 is all zero"),
        (np.where(P == 430, np.nan, P), "CameraInfo P's left 3x3 contains NaN"),
        (P * [[1e-9], [1e-9], [1]], "CameraInfo P's left 3x3's focal lengths"),
    ],
)
def test_a_rectified_image_with_an_unusable_P_gives_the_prior_named(P_given, problem):
    calib = Calibration(K, np.array(STRONG), "plumb_bob", 640, 480, P=P_given)
    cam = camera_model(calib, (640, 480), rectified=True)
    assert cam.K is None and cam.distortion is None
    (text,) = cam.problems
    assert text.startswith(problem) and "field of view" in text, text


def test_load_calibration_yaml_reads_P(tmp_path):
    from pose_lifting_core.camera_model import load_calibration_yaml

    y = tmp_path / "cam.yaml"
    base = (
        "image_width: 640\nimage_height: 480\n"
        "camera_matrix:\n  data: [500, 0, 320, 0, 500, 240, 0, 0, 1]\n"
        "distortion_model: equidistant\ndistortion_coefficients:\n  data: [0.1, 0, 0, 0]\n"
    )
    y.write_text(base + "projection_matrix:\n  data: [" + ", ".join(map(str, P.ravel())) + "]\n")
    calib = load_calibration_yaml(str(y))
    np.testing.assert_array_equal(calib.K, K)
    np.testing.assert_array_equal(calib.P, P)
    assert (calib.width, calib.height, calib.distortion_model) == (640, 480, "equidistant")
    y.write_text(base)
    assert load_calibration_yaml(str(y)).P is None
    y.write_text(base + "projection_matrix:\n  data: [1, 2, 3]\n")
    with pytest.raises(ValueError, match="projection_matrix whose data is not 3x4"):
        load_calibration_yaml(str(y))
