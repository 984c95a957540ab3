import numpy as np
import pytest

from pose_lifting_core.camera import project, undistort_pixels
from conftest import STANDING

K = np.array([[600.0, 0, 320], [0, 600, 240], [0, 0, 1]])


def _distort(xy_norm, D):
    """OpenCV's radial-tangential model applied to normalised points (N, 2)."""
    k1, k2, p1, p2, k3 = D
    x, y = xy_norm[:, 0], xy_norm[:, 1]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd * K[0, 0] + K[0, 2], yd * K[1, 1] + K[1, 2]], -1)


def test_undistort_inverts_plumb_bob():
    rng = np.random.default_rng(0)
    X = np.stack([rng.uniform(-1, 1, 50), rng.uniform(-0.7, 0.7, 50), rng.uniform(2, 5, 50)], -1)
    ideal = project(X, K)
    D = np.array([-0.28, 0.07, 0.001, -0.0005, 0.0])
    seen = _distort(X[:, :2] / X[:, 2:], D)
    assert np.abs(seen - ideal).max() > 5  # the distortion is visible
    np.testing.assert_allclose(undistort_pixels(seen, K, D, "plumb_bob"), ideal, atol=0.05)


def test_zero_distortion_is_identity_and_bad_models_are_named():
    px = np.array([[[10.0, 20.0]]])
    np.testing.assert_array_equal(undistort_pixels(px, K, np.zeros(5)), px)
    with pytest.raises(ValueError, match="unsupported distortion model 'weird'"):
        undistort_pixels(px, K, np.ones(5), "weird")
    with pytest.raises(ValueError, match="NaN"):
        undistort_pixels(px, K, np.array([np.nan, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="4 coefficients"):
        undistort_pixels(px, K, np.ones(5) * 0.1, "equidistant")


def test_pipeline_honours_distortion():
    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator

    base = STANDING.copy()
    X = base + np.array([1.2, 0.3, 3.0])
    D = np.array([-0.3, 0.1, 0.0, 0.0, 0.0])
    seen = _distort(X[:, :2] / X[:, 2:], D)[None]
    est = PoseEstimator(PipelineConfig(device="cpu", track=False))
    with_d = est.process_keypoints(
        seen, None, "h36m17", (640, 480), K, distortion=("plumb_bob", D)
    ).persons[0]
    without = est.process_keypoints(seen, None, "h36m17", (640, 480), K).persons[0]

    def ray_error(p):  # angle between the estimated and the true pelvis direction
        a, b = p.joints_3d[0] / np.linalg.norm(p.joints_3d[0]), X[0] / np.linalg.norm(X[0])
        return np.degrees(np.arccos(np.clip(a @ b, -1, 1)))

    assert ray_error(with_d) < 0.5 < ray_error(without)
