"""Root and focal solvers on synthetic data with known answers."""

import numpy as np
import pytest

from pose_lifting_core.camera import normalize, project
from pose_lifting_core.solvers import estimate_focal, reprojection_error_px, solve_root


def _people(n, seed=0):
    rng = np.random.default_rng(seed)
    X_rel = rng.normal(0, 0.35, (n, 17, 3))
    X_rel -= X_rel[:, :1]
    T = np.stack([rng.uniform(-2, 2, n), rng.uniform(-1, 1, n), rng.uniform(2, 10, n)], -1)
    return X_rel, T


def _K(f=1000.0, w=1280, h=720):
    return np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])


def test_root_recovers_translation_exactly():
    X_rel, T = _people(50)
    kp = project(X_rel + T[:, None], _K())
    T_hat = solve_root(X_rel, kp, np.ones((50, 17)), _K())
    np.testing.assert_allclose(T_hat, T, atol=1e-6)


def test_root_ignores_zero_weight_outliers():
    X_rel, T = _people(20, 1)
    kp = project(X_rel + T[:, None], _K())
    kp[:, 5] += 300.0
    w = np.ones((20, 17))
    w[:, 5] = 0
    np.testing.assert_allclose(solve_root(X_rel, kp, w, _K()), T, atol=1e-6)


def test_root_per_person_K_and_noise():
    X_rel, T = _people(200, 2)
    Ks = np.stack([_K(f) for f in np.linspace(400, 3000, 200)])
    kp = project(X_rel + T[:, None], Ks) + np.random.default_rng(3).normal(0, 1.0, (200, 17, 2))
    T_hat = solve_root(X_rel, kp, np.ones((200, 17)), Ks)
    rel = np.linalg.norm(T_hat - T, axis=-1) / np.linalg.norm(T, axis=-1)
    assert np.median(rel) < 0.02


def test_root_with_no_usable_joint_is_nan():
    X_rel, T = _people(2, 4)
    kp = project(X_rel + T[:, None], _K())
    w = np.ones((2, 17))
    w[1] = 0
    T_hat = solve_root(X_rel, kp, w, _K())
    assert np.isfinite(T_hat[0]).all() and np.isnan(T_hat[1]).all()
    err = reprojection_error_px(X_rel + T_hat[:, None], kp, w, _K())
    assert err[0] < 1e-6 and np.isnan(err[1])


def test_reprojection_error_in_pixels():
    X_rel, T = _people(3, 5)
    kp = project(X_rel + T[:, None], _K())
    err = reprojection_error_px(
        X_rel + T[:, None], kp + np.array([3.0, 4.0]), np.ones((3, 17)), _K()
    )
    np.testing.assert_allclose(err, 5.0)


@pytest.mark.parametrize("f_true", [500.0, 1400.0, 3000.0])
def test_focal_estimate_with_an_exact_lifter(f_true):
    """With a lifter that returns the true root-relative pose whatever K it is given, the pooled
    reprojection cost is zero only at the true focal length."""
    X_rel, T = _people(40, 6)
    T[:, 2] = np.random.default_rng(7).uniform(2.0, 5.0, 40)
    kp = project(X_rel + T[:, None], _K(f_true))

    def lift(kps, w, K):
        reps = len(kps) // 40
        return np.concatenate([X_rel] * reps)

    est = estimate_focal(lift, kp, np.ones((40, 17)), (1280, 720), num_grid=61)
    assert abs(est.f_px / f_true - 1) < 0.05
    assert est.num_samples == 40
    assert est.rel_sd < 0.1
    assert est.cost.argmin() == np.abs(np.log(est.grid / f_true)).argmin()


def test_focal_estimate_needs_people():
    with pytest.raises(ValueError, match="at least one person"):
        estimate_focal(lambda k, w, K: k, np.zeros((0, 17, 2)), np.zeros((0, 17)), (640, 480))


def test_root_with_a_single_joint_is_nan_not_an_exception():
    X_rel, T = _people(1, 8)
    kp = project(X_rel + T[:, None], _K())
    w = np.zeros((1, 17))
    w[0, 3] = 1.0
    assert np.isnan(solve_root(X_rel, kp, w, _K())).all()


def _dense_irls(X_rel, kp, w, K, iterations=3, min_depth=0.1):
    """Reference: the same IRLS with every person's 2J x 3 system solved by np.linalg.lstsq."""
    xy = normalize(kp, K)
    out = []
    for Xp, p, wp in zip(X_rel, xy, w):
        A = np.concatenate(
            [
                np.stack([np.ones(len(p)), np.zeros(len(p)), -p[:, 0]], -1),
                np.stack([np.zeros(len(p)), np.ones(len(p)), -p[:, 1]], -1),
            ]
        )
        b = np.concatenate([p[:, 0] * Xp[:, 2] - Xp[:, 0], p[:, 1] * Xp[:, 2] - Xp[:, 1]])
        s, T = wp, None
        for it in range(iterations):
            if it:
                s = wp / np.maximum(Xp[:, 2] + T[2], min_depth) ** 2
            r = np.sqrt(np.concatenate([s, s]))
            T = np.linalg.lstsq(A * r[:, None], b * r, rcond=None)[0]
            T[2] = max(T[2], min_depth)
            T[:2] = [
                (b[: len(p)] * s).sum() / s.sum() + (p[:, 0] * s).sum() / s.sum() * T[2],
                (b[len(p) :] * s).sum() / s.sum() + (p[:, 1] * s).sum() / s.sum() * T[2],
            ]
        out.append(T)
    return np.array(out)


def test_root_matches_a_dense_least_squares_reference():
    rng = np.random.default_rng(7)
    n = 40
    X = rng.normal(0, 0.3, (n, 17, 3))
    X_rel = X - X[:, :1]
    T_true = np.stack([rng.uniform(-2, 2, n), rng.uniform(-1, 1, n), rng.uniform(2, 9, n)], -1)
    K = _K()
    kp = project(X_rel + T_true[:, None], K) + rng.normal(0, 3, (n, 17, 2))
    w = rng.uniform(0, 1, (n, 17)) * (rng.uniform(size=(n, 17)) > 0.2)
    np.testing.assert_allclose(
        solve_root(X_rel, kp, w, K), _dense_irls(X_rel, kp, w, K), rtol=1e-9, atol=1e-9
    )


def test_root_needs_an_iteration():
    with pytest.raises(ValueError, match="iterations must be >= 1"):
        solve_root(
            np.zeros((1, 17, 3)), np.zeros((1, 17, 2)), np.ones((1, 17)), _K(), iterations=0
        )


def test_pooled_focal_estimation_subsamples_many_people():
    calls = []

    def lift(kp, w, K):
        calls.append(len(kp))
        return np.zeros(kp.shape[:-1] + (3,)) + np.linspace(0, 0.5, kp.shape[1])[:, None]

    kp = np.random.default_rng(0).uniform(0, 640, (5000, 17, 2))
    est = estimate_focal(lift, kp, np.ones((5000, 17)), (640, 480), num_grid=5, max_people=100)
    assert est.num_samples == 100 and calls == [5 * 100]
