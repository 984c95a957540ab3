"""The whole estimate as one LiteRT graph (litert_estimate.py) against the float64 numpy path
(codec.py, solvers.py), and when the Lifter uses it."""
import os

import numpy as np
import pytest

from pose_lifting_core.benchmark import synthetic_people
from pose_lifting_core.camera import project
from pose_lifting_core.codec import Codec
from pose_lifting_core.lifter import DEFAULT_CHECKPOINT, SINGLE_THREAD_MAX, Lifter
from pose_lifting_core.litert_estimate import _fold_input_layer, _fold_output_layer
from pose_lifting_core.litert_network import litert_available
from pose_lifting_core.skeleton import JOINT_NAMES, ROOT

pytestmark = pytest.mark.skipif(not litert_available(), reason="needs ai_edge_litert (LiteRT) and flatbuffers")

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "samples", "bandai_walk_keypoints.npz")


@pytest.fixture(scope="module", params=["fp32", "int8"])
def lifter(request):
    lifter = Lifter.load(DEFAULT_CHECKPOINT, "cpu", request.param)
    if lifter.precision != request.param:
        pytest.skip(f"no native {request.param} on this CPU")
    assert lifter.litert_estimate is not None
    return lifter


def _reference(lifter, kp, conf, K):
    """The float64 path: network through LiteRT, then codec decode, solve_root, reprojection."""
    return lifter.place(lifter.lift(kp, conf, K), kp, conf, K)


# Largest differences allowed, fused graph against float64 (metres, pixels). Measured on all 110
# walk frames, one at a time (the test takes every third): fp32 root-relative joints 0.0015 mm,
# root 0.0034 mm, score 0.03 mpx (0.5 mpx for the scattered synthetic people); int8 0.12 mm,
# 0.23 mm and 1.3 mpx (the graphs quantise activations per person, and a value near a rounding
# boundary can round one step differently in each). 27 m further away the root differs by up to
# 0.04 mm (fp32) and 2.1 mm (int8: the joints' rounding differences, amplified by the distance).
TOLERANCE = {"fp32": {"joints_rel": 1e-5, "root": 1e-4, "reprojection_error_px": 1e-3},
             "int8": {"joints_rel": 5e-4, "root": 5e-4, "reprojection_error_px": 5e-3}}


def _compare(lifter, kp, conf, K, root_scale=1.0):
    """Fused and float64 results agree: the same NaNs, and finite values within TOLERANCE (the
    root's times root_scale). Returns the largest differences."""
    got = lifter.litert_estimate(kp, conf, K)
    ref = _reference(lifter, kp, conf, K)
    names = ("joints_3d", "joints_rel", "root", "reprojection_error_px")
    diffs = {}
    for name, a in zip(names, got):
        b = getattr(ref, name)
        assert a.shape == b.shape and a.dtype == np.float64, name
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=name)
        fin = np.isfinite(b)
        diffs[name] = float(np.abs(a[fin] - b[fin]).max()) if fin.any() else 0.0
    tol = dict(TOLERANCE[lifter.precision])
    tol["root"] *= root_scale
    tol["joints_3d"] = tol["root"] + tol["joints_rel"]
    assert all(diffs[k] < tol[k] for k in names), (diffs, tol)
    assert np.all(got[1][:, ROOT] == 0.0)
    return diffs


def test_real_walk_one_person_per_frame_and_in_batches(lifter):
    d = np.load(SAMPLE)
    kp, conf, K = d["keypoints"], d["scores"], d["K"]
    for i in range(0, len(kp), 3):
        _compare(lifter, kp[i:i + 1], conf[i:i + 1], K)
    _compare(lifter, kp[:SINGLE_THREAD_MAX], conf[:SINGLE_THREAD_MAX], K)


def test_far_small_people_off_axis_and_per_person_intrinsics(lifter):
    """People 30 m away, up to 30 degrees off the optical axis: a few pixels tall, far from the
    image centre, the case where float32 keeps fewest digits of the solve's variance terms
    (before the rays were centred on the body, the root differed by up to 30 mm here)."""
    d = np.load(SAMPLE)
    X = d["joints_3d_gt"][:8] - d["joints_3d_gt"][:8, :1]
    X = X + np.stack([30.0 * np.tan(np.radians(np.linspace(-30, 30, 8))), np.zeros(8), np.full(8, 30.0)], -1)[:, None]
    K = np.repeat(d["K"][None], 8, 0)
    K[:, 0, 0] *= np.linspace(0.5, 2.0, 8)
    K[:, 1, 1] = K[:, 0, 0]
    _compare(lifter, project(X, K), np.ones((8, 17)), K, root_scale=10.0)


def test_missing_and_bad_joints_are_handled_as_the_reference_does(lifter):
    kp, conf, K = synthetic_people(8, seed=3)
    conf = conf * np.random.default_rng(0).uniform(0.1, 1.3, conf.shape)   # above 1: clipped in features only
    conf[0, :5] = 0.0                         # missing joints
    conf[1, ROOT] = 0.0                       # no pelvis: the weighted mean is the centre
    kp[2, 3] = np.nan                         # NaN keypoint
    kp[3, 4, 1] = np.inf                      # infinite keypoint
    conf[4, 6] = np.nan                       # NaN confidence
    conf[5, 1:] = 0.0                         # one usable joint: no root (NaN), no score
    conf[6] = 0.0                             # nobody
    _compare(lifter, kp, conf, K)
    got = lifter.litert_estimate(kp, conf, K)
    assert np.isnan(got[2][5]).all() and np.isnan(got[3][5]) and np.isnan(got[2][6]).all()
    assert np.isfinite(got[1]).all()          # root-relative joints exist for everyone


def test_batch_size_changes_between_calls(lifter):
    kp, conf, K = synthetic_people(5, seed=4)
    whole = lifter.litert_estimate(kp, conf, K)
    for i in range(5):                        # each person alone gives what it gave in the batch
        one = lifter.litert_estimate(kp[i:i + 1], conf[i:i + 1], K)
        tol = 1e-6 if lifter.precision == "fp32" else 1e-4
        np.testing.assert_allclose(one[0][0], whole[0][i], atol=tol)


def test_lifter_estimate_uses_the_graph_for_a_few_people_only(lifter, monkeypatch):
    calls = []
    real = lifter.litert_estimate
    monkeypatch.setattr(lifter, "litert_estimate", lambda kp, c, K: calls.append(len(kp)) or real(kp, c, K))
    kp, conf, K = synthetic_people(SINGLE_THREAD_MAX + 1)
    small = lifter.estimate(kp[:SINGLE_THREAD_MAX], conf[:SINGLE_THREAD_MAX], K)
    big = lifter.estimate(kp, conf, K)
    empty = lifter.estimate(kp[:0], conf[:0], K)
    assert calls == [SINGLE_THREAD_MAX]
    assert empty.joints_3d.shape == (0, 17, 3) and big.joints_3d.shape == (SINGLE_THREAD_MAX + 1, 17, 3)
    tol = TOLERANCE[lifter.precision]
    assert np.abs(small.joints_3d - big.joints_3d[:SINGLE_THREAD_MAX]).max() < tol["root"] + tol["joints_rel"]


def test_no_graph_without_litert_engine():
    assert Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32", engine="torch").litert_estimate is None


def _codec(rng, J=17):
    D = 3 * J + 3
    return Codec(JOINT_NAMES, rng.normal(0, 0.3, D), rng.uniform(0.2, 2.0, D), rng.normal(0, 0.2, 3 * J),
                 rng.uniform(0.05, 0.5, 3 * J))


def test_folded_input_layer_equals_standardise_then_layer():
    rng = np.random.default_rng(5)
    codec = _codec(rng)
    codec.in_mean[51:68], codec.in_std[51:68] = 0.0, 1.0     # confidences pass through (Codec.fit)
    J, H = 17, 12
    w, b = rng.normal(size=(H, 3 * J + 3)), rng.normal(size=H)
    raw = rng.normal(size=(6, 3 * J + 3))
    raw[:, 2 * J:3 * J] = rng.uniform(0, 1, (6, J)) * (rng.uniform(size=(6, J)) > 0.3)
    missing = raw[:, 2 * J:3 * J] <= 0
    raw[:, :2 * J] *= np.repeat(~missing, 2, axis=1)          # as features_raw leaves them
    wf, bf = _fold_input_layer(w, b, codec)
    np.testing.assert_allclose(np.concatenate([raw, missing], 1) @ wf.T + bf,
                               codec.standardize(raw).astype(np.float64) @ w.T + b, atol=1e-5)


def test_folded_output_layer_equals_decode():
    rng = np.random.default_rng(6)
    codec = _codec(rng)
    w, b = rng.normal(size=(51, 10)), rng.normal(size=51)
    h = rng.normal(size=(4, 10))
    wf, bf = _fold_output_layer(w, b, codec, ROOT)
    np.testing.assert_allclose((h @ wf.T + bf).reshape(4, 17, 3), codec.decode(h @ w.T + b), atol=1e-12)


def test_a_graph_that_fails_to_load_leaves_the_numpy_path(monkeypatch):
    import pose_lifting_core.lifter as lifter_module

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported op SELECT_V2")
    monkeypatch.setattr(lifter_module, "FusedEstimate", broken)
    with pytest.warns(UserWarning, match="LiteRT could not load the one-graph estimate .*SELECT_V2.*numpy"):
        lifter = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32")
    assert lifter.litert_estimate is None and lifter.litert_one is not None   # the network still runs on LiteRT
    kp, conf, K = synthetic_people(2)
    assert np.isfinite(lifter.estimate(kp, conf, K).joints_3d).all()


def test_values_no_image_gives_do_not_raise(lifter):
    """Beyond float32 (docstring of litert_estimate.py): a joint counts as missing or the person
    gets a non-finite root and score, never an exception; everyone else is unaffected."""
    kp, conf, K = synthetic_people(6, seed=7)
    clean = lifter.litert_estimate(kp, conf, K)
    conf[0, 5:9] = 1e38
    conf[1, :] = 1e36
    kp[2, 3] = 3e38
    kp[3, 4] = 1e39
    conf[4, 2] = 1e-39
    got = lifter.litert_estimate(kp, conf, K)
    for i in range(5):
        assert np.isfinite(got[2][i]).all() or not np.isfinite(got[3][i])
    np.testing.assert_array_equal(got[0][5], clean[0][5])


def test_the_graph_needs_one_solve_iteration_at_least():
    from pose_lifting_core.litert_estimate import estimate_flatbuffer
    from pose_lifting_core.model import FusedInference, LinearModel

    model = FusedInference(LinearModel(54, 51, width=16, num_blocks=1).eval())
    with pytest.raises(ValueError, match="iterations must be >= 1, got 0"):
        estimate_flatbuffer(model, _codec(np.random.default_rng(0)), False, ROOT, iterations=0)
