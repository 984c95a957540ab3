import math
import re

import numpy as np
import pytest

from pose_lifting_core.camera import (
    Intrinsics,
    K_is_valid,
    backproject,
    denormalize,
    intrinsics_from_fov,
    mirror_pixels,
    normalize,
    project,
)


def _K(f=800.0, cx=320.0, cy=240.0):
    return np.array([[f, 0, cx], [0, f * 1.01, cy], [0, 0, 1.0]])


def test_project_backproject_round_trip():
    rng = np.random.default_rng(0)
    X = np.stack([rng.uniform(-2, 2, 100), rng.uniform(-1, 1, 100), rng.uniform(0.5, 10, 100)], -1)
    uv = project(X, _K())
    np.testing.assert_allclose(backproject(uv, X[:, 2], _K()), X, atol=1e-12)


def test_normalize_is_inverse_K():
    rng = np.random.default_rng(1)
    uv = rng.uniform(0, 640, (5, 17, 2))
    K = _K(600, 300, 250)
    xy = normalize(uv, K)
    h = np.concatenate([uv, np.ones((5, 17, 1))], -1) @ np.linalg.inv(K).T
    np.testing.assert_allclose(xy, h[..., :2], atol=1e-12)
    np.testing.assert_allclose(denormalize(xy, K), uv, atol=1e-9)


def test_mirrored_pixels_are_the_mirrored_scene_seen():
    """The image of a scene mirrored through the optical y-z plane (x -> -x) is the image
    mirrored about the principal point's vertical; mirroring twice gives the pixels back."""
    rng = np.random.default_rng(2)
    X = np.stack([rng.uniform(-2, 2, 50), rng.uniform(-1, 1, 50), rng.uniform(0.5, 10, 50)], -1)
    K = _K(700, 300, 250)
    np.testing.assert_allclose(mirror_pixels(project(X, K), K), project(X * [-1, 1, 1], K))
    uv = rng.uniform(0, 640, (3, 17, 2))
    Ks = np.stack([_K(500, 310), _K(900, 330), _K(1500, 290)])
    np.testing.assert_allclose(mirror_pixels(mirror_pixels(uv, Ks), Ks), uv, atol=1e-9)
    np.testing.assert_allclose(mirror_pixels(uv, Ks)[1, :, 0], 660.0 - uv[1, :, 0])


def test_per_person_K_broadcasts():
    Ks = np.stack([_K(500), _K(1500)])
    X = np.array([[[0.5, 0.2, 4.0]], [[0.5, 0.2, 4.0]]])
    uv = project(X, Ks)
    assert uv.shape == (2, 1, 2)
    assert uv[0, 0, 0] == pytest.approx(320 + 500 * 0.125)
    assert uv[1, 0, 0] == pytest.approx(320 + 1500 * 0.125)


def test_optical_frame_convention_z_forward_y_down():
    uv = project(np.array([0.0, 1.0, 2.0]), _K())
    assert uv[1] > 240  # +y (down) lands below the principal point


def test_fov_prior():
    k = intrinsics_from_fov(640, 480, 90.0)
    assert k.fx == pytest.approx(320.0) and k.cx == 320 and k.cy == 240 and k.estimated
    assert intrinsics_from_fov(1000, 500, 60).fx == pytest.approx(500 / math.tan(math.radians(30)))
    with pytest.raises(ValueError, match="field of view"):
        intrinsics_from_fov(640, 480, 0.0)
    with pytest.raises(ValueError, match="image size"):
        intrinsics_from_fov(0, 480)


def test_K_validity():
    assert K_is_valid(_K())
    assert not K_is_valid(np.zeros((3, 3)))
    bad = _K()
    bad[0, 2] = np.nan
    assert not K_is_valid(bad)
    assert not K_is_valid(np.eye(2))
    assert Intrinsics.from_K(_K()).K[1, 1] == pytest.approx(808.0)


@pytest.mark.parametrize(
    "K, match",
    [
        (np.zeros((3, 3)), "all zero"),
        ([[np.nan, 0, 320], [0, 500, 240], [0, 0, 1]], "NaN or infinity"),
        ([[5e-7, 0, 320], [0, 5e-7, 240], [0, 0, 1]], "implausible for a 640 px wide image"),
        ([[1e5, 0, 320], [0, 1e5, 240], [0, 0, 1]], "implausible"),
        ([[500, 0, 1e9], [0, 500, 240], [0, 0, 1]], "principal point .* outside a 640x480 image"),
        ([[500, 3, 320], [0, 500, 240], [0, 0, 1]], "skew"),
        ([[500, 0, 320], [0, 500, 240], [0, 0, 2]], "last row"),
        ([[-500, 0, 320], [0, 500, 240], [0, 0, 1]], "non-positive focal"),
    ],
)
def test_implausible_intrinsics_are_named(K, match):
    from pose_lifting_core.camera import intrinsics_problem

    problem = intrinsics_problem(np.asarray(K, dtype=float), 640, 480)
    assert problem is not None and re.search(match, problem), problem
    assert intrinsics_problem(_K(), 640, 480) is None


@pytest.mark.parametrize(
    "model, D, match",
    [
        ("plumb_bob", [0.1, 0.01], "takes 4, 5, 8, 12, 14 coefficients, got 2"),
        ("plumb_bob", [1e6, 0, 0, 0, 0], "would move an image corner"),
        ("plumb_bob", [0.1, np.inf, 0, 0, 0], "NaN or infinity"),
        ("equidistant", [0.1, 0.0, 0.0, 0.0, 0.0], "takes 4 coefficients, got 5"),
        ("kannala", [0.1, 0.0, 0.0, 0.0], "unsupported distortion model"),
    ],
)
def test_unusable_distortion_is_named(model, D, match):
    from pose_lifting_core.camera import distortion_problem

    problem = distortion_problem(model, np.array(D), _K(), 640, 480)
    assert problem is not None and re.search(match, problem), problem
    assert distortion_problem("plumb_bob", np.array([-0.1, 0.01, 0, 0, 0]), _K(), 640, 480) is None


@pytest.mark.parametrize(
    "K, match",
    [
        ([[500, 0, 1e9], [0, 500, 240], [0, 0, 1]], r"implies an implausible 2e\+09x480 px image"),
        (
            [[1e-6, 0, 320], [0, 1e-6, 240], [0, 0, 1]],
            "implausible for the 640 px wide image its principal point implies",
        ),
        ([[500, 0, 0], [0, 500, 240], [0, 0, 1]], "not inside an image, and no image size"),
    ],
)
def test_without_an_image_size_K_is_judged_by_the_image_it_implies(K, match):
    """Issue 22, item 3: with no image size the size checks were skipped, so cx = 1e9 (48,108 km
    away) and fx = 1e-6 (0.10 m) were used as given."""
    from pose_lifting_core.camera import intrinsics_problem

    problem = intrinsics_problem(np.asarray(K, dtype=float), 0, 0)
    assert problem is not None and re.search(match, problem), problem
    assert intrinsics_problem(_K(), 0, 0) is None


def test_stated_image_sizes_are_range_checked():
    from pose_lifting_core.camera import stated_image_size_problem

    assert stated_image_size_problem(640, 480) is None
    for w, h in ((1, 1), (1e15, 1e15), (640, np.nan), (640, 8)):
        assert "implausible: each side must be 16-100000 px" in stated_image_size_problem(w, h)
