import numpy as np
import pytest

from conftest import T_POSE_WORLD
from pose_lifting_core.camera import project
from pose_lifting_core.skeleton import JOINT_NAMES
from pose_lifting_core.tooling.data import synth

J = {n: i for i, n in enumerate(JOINT_NAMES)}


def _tpose(n=200, seed=0):
    """A standing skeleton (metres, Y up, facing +Z) with small random variation."""
    base = T_POSE_WORLD.copy()
    rng = np.random.default_rng(seed)
    return base[None] + rng.normal(0, 0.01, (n, 17, 3))


def _bone_lengths(P):
    return np.linalg.norm(synth._bones(P), axis=-1)


def test_pose_augmentation_keeps_bone_lengths():
    P = _tpose()
    out = synth.augment_pose(
        P, np.random.default_rng(1), synth.AugmentConfig(p_flex=0.5, p_limb_swap=1.0)
    )
    np.testing.assert_allclose(_bone_lengths(out), _bone_lengths(P), atol=1e-9)
    assert np.abs(out - P).max() > 0.05  # it did change poses


def test_flexion_makes_sitting_poses():
    P = _tpose(50)
    cfg = synth.AugmentConfig(
        p_flex=1.0,
        p_limb_swap=0.0,
        p_limb_perturb=0.0,
        hip_flex_deg=(90, 90),
        knee_flex_extra_deg=(0, 0),
    )
    out = synth.augment_pose(P, np.random.default_rng(2), cfg)
    thigh = out[:, J["left_knee"]] - out[:, J["left_hip"]]
    # thigh swings forward (+Z, the facing direction) to roughly horizontal; the shin hangs down
    assert (thigh[:, 2] > 0.3).all() and (np.abs(thigh[:, 1]) < 0.15).all()
    shin = out[:, J["left_ankle"]] - out[:, J["left_knee"]]
    assert (shin[:, 1] < -0.3).all()


def test_proportions_widen_hips_within_range():
    P = _tpose()
    cfg = synth.AugmentConfig(p_proportions=1.0, global_scale_sd=0.0, hip_width_scale=(1.5, 1.5))
    out = synth.augment_proportions(P, np.random.default_rng(3), cfg)
    w0 = np.linalg.norm(P[:, J["left_hip"]] - P[:, J["right_hip"]], axis=-1)
    w1 = np.linalg.norm(out[:, J["left_hip"]] - out[:, J["right_hip"]], axis=-1)
    np.testing.assert_allclose(w1 / w0, 1.5, rtol=0.05)
    np.testing.assert_allclose(out[:, J["pelvis"]], P[:, J["pelvis"]])


def test_trunk_and_head_lengths_follow_their_ranges_and_leave_the_legs():
    """Labs put pelvis to thorax 0.38-0.53 m apart: --trunk-scale and --head-scale vary the
    trunk and the neck and head, while the legs (which the stature prior follows) keep their
    lengths."""
    P = _tpose()
    cfg = synth.AugmentConfig(
        p_proportions=1.0, global_scale_sd=0.0, trunk_scale=(0.7, 0.7), head_scale=(1.4, 1.4)
    )
    out = synth.augment_proportions(P, np.random.default_rng(5), cfg)
    L0, L1 = _bone_lengths(P), _bone_lengths(out)
    trunk = [J["spine"], J["thorax"]]
    head = [J["neck"], J["head"]]
    np.testing.assert_allclose(L1[:, trunk].sum(1) / L0[:, trunk].sum(1), 0.7, rtol=0.035)
    np.testing.assert_allclose(L1[:, head] / L0[:, head], 1.4, rtol=1e-9)
    legs = [J[n] for n in ("left_knee", "left_ankle", "right_knee", "right_ankle")]
    ratio = L1[:, legs] / L0[:, legs]
    assert ((ratio > 0.9) & (ratio < 1.1)).all()  # bone_scale only, not the trunk's


def test_views_respect_ranges_and_project_exactly():
    P = _tpose(500)
    rng = np.random.default_rng(4)
    r = synth.CAMERA_RANGES["train"]
    v = synth.sample_views(P, rng, r)
    assert len(v.joints_cam) > 450
    assert (v.elevation_deg >= r["elevation_deg"][0] - 1e-6).all()
    assert (v.elevation_deg <= r["elevation_deg"][1] + 1e-6).all()
    assert (v.joints_cam[..., 2] > 0.3).all()
    np.testing.assert_allclose(project(v.joints_cam, v.K), v.keypoints, atol=1e-6)
    f = v.K[:, 0, 0]
    assert f.min() >= 300 and f.max() <= 3000
    # the camera-frame skeleton is a rigid transform of the world one: bone lengths agree
    np.testing.assert_allclose(
        _bone_lengths(v.joints_cam), _bone_lengths(P[v.extra["kept"]]), atol=1e-9
    )
    # extra["R"] is that transform's rotation: it maps the world skeleton, pelvis-relative, onto
    # the camera-frame one, and its middle column is world up (+Y) seen from the camera
    R, Pk = v.extra["R"], P[v.extra["kept"]]
    np.testing.assert_allclose(
        np.einsum("nij,njk->nik", R, R.transpose(0, 2, 1)),
        np.eye(3)[None].repeat(len(R), 0),
        atol=1e-9,
    )
    rel = Pk - Pk[:, :1]
    np.testing.assert_allclose(
        np.einsum("nij,nkj->nki", R, rel), v.joints_cam - v.joints_cam[:, :1], atol=1e-9
    )
    # up seen from a camera looking down by the elevation e: its optical-axis part is -sin(e)
    np.testing.assert_allclose(R[:, 2, 1], -np.sin(np.radians(v.elevation_deg)), atol=1e-9)


def test_corrupt_2d_noise_and_layouts():
    kp = np.zeros((4000, 17, 2))
    cfg = synth.AugmentConfig(p_detector_layout=1.0, p_drop=0.0)
    out, conf = synth.corrupt_2d(kp, np.random.default_rng(5), cfg, noise_px=3.0)
    assert abs(out.std() - 3.0) < 0.1 and (conf == 1).all()
    out, conf = synth.corrupt_2d(kp, np.random.default_rng(5), cfg)
    assert (conf[:, J["spine"]] == 0).all() and (conf[:, J["neck"]] == 0).all()


# --- the augmentations added for several labs (issue 13) -------------------------------------
def _only(**p):
    """An AugmentConfig with every probabilistic augmentation off except those given."""
    off = dict(
        p_kneel=0.0,
        p_half_kneel=0.0,
        p_chair=0.0,
        p_floor_sit=0.0,
        p_recombine=0.0,
        p_lie=0.0,
        p_joint_offsets=0.0,
        p_stature=0.0,
    )
    return synth.AugmentConfig(**(off | p))


@pytest.mark.parametrize(
    "prob, category, at_least",
    [("p_kneel", "kneeling", 1.0), ("p_chair", "seated", 0.8), ("p_floor_sit", "floor", 0.8)],
)
def test_synthetic_legs_make_their_pose_and_keep_bone_lengths(prob, category, at_least):
    from pose_lifting_core.tooling.data.poses import CATEGORIES, pose_categories

    P = _tpose()
    Q = synth.refloor(synth.synthesize_legs(P, np.random.default_rng(1), _only(**{prob: 1.0})))
    np.testing.assert_allclose(_bone_lengths(Q), _bone_lengths(P), atol=1e-9)
    share = (pose_categories(Q) == CATEGORIES.index(category)).mean()
    assert share >= at_least, share


def test_synthetic_legs_leave_bodies_that_are_not_upright():
    P = synth.lie_down(_tpose(50), np.random.default_rng(2), _only(p_lie=1.0))
    Q = synth.synthesize_legs(P, np.random.default_rng(3), _only(p_kneel=1.0))
    np.testing.assert_array_equal(Q, P)


def test_lying_down_turns_the_whole_body_onto_the_floor():
    from pose_lifting_core.tooling.data.poses import CATEGORIES, pose_categories

    P = _tpose()
    for side in ("left", "right"):  # arms down the sides: a body can lie on them
        sign = 1.0 if side == "left" else -1.0
        P[:, J[f"{side}_elbow"]] = P[:, J[f"{side}_shoulder"]] + [0.02 * sign, -0.25, 0.0]
        P[:, J[f"{side}_wrist"]] = P[:, J[f"{side}_elbow"]] + [0.01 * sign, -0.23, 0.0]
    Q = synth.refloor(synth.lie_down(P, np.random.default_rng(4), _only(p_lie=1.0)))
    assert (pose_categories(Q) == CATEGORIES.index("floor")).all()
    d = lambda X: np.linalg.norm(X[:, :, None] - X[:, None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(Q), d(P), atol=1e-9)  # a rigid motion


def test_recombined_upper_bodies_keep_this_bodys_lengths_and_the_hip_limit():
    P = synth.augment_pose(_tpose(), np.random.default_rng(5), synth.AugmentConfig())
    Q = synth.recombine_upper_bodies(P, np.random.default_rng(6), _only(p_recombine=1.0))
    np.testing.assert_allclose(_bone_lengths(Q), _bone_lengths(P), atol=1e-9)
    assert (np.abs(Q - P).max((1, 2)) > 1e-6).mean() > 0.5
    legs = [
        J[n]
        for n in ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")
    ]
    np.testing.assert_allclose(Q[:, legs], P[:, legs], atol=1e-12)  # the lower body stays
    refused = synth.recombine_upper_bodies(
        P, np.random.default_rng(6), _only(p_recombine=1.0, min_trunk_thigh_deg=181.0)
    )
    np.testing.assert_array_equal(refused, P)


def test_joint_definition_offsets_move_hips_and_pelvis_along_the_trunk():
    P = _tpose(20)
    cfg = _only(
        p_joint_offsets=1.0,
        hip_shift_m=(0.04, 0.04),
        spine_shift_m=(0.0, 0.0),
        shoulder_shift_m=(0.0, 0.0),
        neck_shift_m=(0.0, 0.0),
        head_shift_m=(0.0, 0.0),
    )
    Q = synth.augment_joint_definitions(P, np.random.default_rng(7), cfg)
    axis = P[:, J["thorax"]] - P[:, J["pelvis"]]
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    for name in ("pelvis", "left_hip", "right_hip"):
        np.testing.assert_allclose(Q[:, J[name]] - P[:, J[name]], 0.04 * axis, atol=1e-12)
    np.testing.assert_allclose(Q[:, J["thorax"]], P[:, J["thorax"]])


def test_stature_prior_sets_height_and_keeps_proportions():
    from pose_lifting_core.tooling.data.poses import stature_m

    P = _tpose(20_000)
    cfg = synth.AugmentConfig()
    Q = synth.apply_stature_prior(P, np.random.default_rng(8), cfg)
    h = stature_m(Q)
    assert h.min() >= 1.50 - 1e-9 and h.max() <= 1.95 + 1e-9
    assert h.mean() == pytest.approx(1.69, abs=0.01) and h.std() == pytest.approx(0.093, abs=0.01)
    ratio = _bone_lengths(Q)[:, 1:] / _bone_lengths(P)[:, 1:]  # joint 0 is the root
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones_like(ratio), rtol=1e-9)
    kept = synth.apply_stature_prior(P, np.random.default_rng(8), _only(p_stature=0.0))
    np.testing.assert_array_equal(kept, P)


def test_refloor_puts_the_lowest_joint_at_ankle_height():
    P = _tpose(10) + np.array([0.0, 2.5, 0.0])
    np.testing.assert_allclose(synth.refloor(P)[..., 1].min(1), 0.08)


def test_every_augmentation_together_is_seeded():
    P = _tpose(200)
    a = synth.augment_all(P, np.random.default_rng(9), synth.AugmentConfig())
    b = synth.augment_all(P, np.random.default_rng(9), synth.AugmentConfig())
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all()


def test_mirrored_bodies_swap_sides_and_keep_their_lengths():
    """A raised left arm becomes a raised right arm at -x; left joints stay on the +x side
    (the body still faces +z); lengths are kept; mirroring twice gives the body back."""
    P = _tpose(50)
    P[:, J["left_wrist"]] += [0.0, 0.4, 0.0]  # the left hand raised
    every = synth.AugmentConfig(p_mirror=1.0)
    M = synth.mirror_bodies(P, np.random.default_rng(0), every)
    assert (M[:, J["right_wrist"], 1] > M[:, J["left_wrist"], 1] + 0.3).all()
    assert (M[:, J["left_hip"], 0] > M[:, J["right_hip"], 0]).all()
    np.testing.assert_allclose(M[:, J["right_wrist"]], P[:, J["left_wrist"]] * [-1, 1, 1])
    np.testing.assert_allclose(
        _bone_lengths(M), _bone_lengths(P)[:, synth.SKELETON.flip_permutation()]
    )
    np.testing.assert_allclose(synth.mirror_bodies(M, np.random.default_rng(1), every), P)
    none = synth.mirror_bodies(P, np.random.default_rng(0), synth.AugmentConfig(p_mirror=0.0))
    np.testing.assert_array_equal(none, P)
    Q = np.repeat(P[:1], 4000, 0)
    half = synth.mirror_bodies(Q, np.random.default_rng(2), synth.AugmentConfig(p_mirror=0.3))
    raised_right = half[:, J["right_wrist"], 1] > half[:, J["left_wrist"], 1]
    assert abs(raised_right.mean() - 0.3) < 0.03


def test_detector_errors_jump_single_joints_and_swap_sides():
    """Outliers move single joints by a share of the person's height; a side swap exchanges
    the left and right elbows and wrists (or knees and ankles) exactly; all off: unchanged."""
    rng = np.random.default_rng(3)
    kp = np.repeat(rng.uniform(100, 400, (1, 17, 2)), 2000, 0)
    height = np.ptp(kp[0, :, 1])
    jumps = synth.AugmentConfig(p_outlier_joint=0.1, outlier_rel=(0.1, 0.2))
    moved = np.linalg.norm(synth.detector_errors(kp, rng, jumps) - kp, axis=-1)
    assert abs((moved > 0).mean() - 0.1) < 0.01
    assert (moved[moved > 0] >= 0.1 * height - 1e-9).all() and moved.max() <= 0.2 * height
    out = synth.detector_errors(kp, rng, synth.AugmentConfig(p_side_swap=1.0))
    arms = [J[n] for n in ("left_elbow", "left_wrist", "right_elbow", "right_wrist")]
    mirror = [J[n] for n in ("right_elbow", "right_wrist", "left_elbow", "left_wrist")]
    swapped_arms = (out[:, arms] == kp[:, mirror]).all((1, 2))
    legs = [J[n] for n in ("left_knee", "left_ankle", "right_knee", "right_ankle")]
    legs_m = [J[n] for n in ("right_knee", "right_ankle", "left_knee", "left_ankle")]
    swapped_legs = (out[:, legs] == kp[:, legs_m]).all((1, 2))
    assert (swapped_arms ^ swapped_legs).all() and 0.4 < swapped_arms.mean() < 0.6
    np.testing.assert_array_equal(synth.detector_errors(kp, rng, synth.AugmentConfig()), kp)
    noisy, _ = synth.corrupt_2d(kp, rng, synth.AugmentConfig(noise_rel=(0.02, 0.02), p_noise=0))
    np.testing.assert_allclose((noisy - kp).std(), 0.02 * height, rtol=0.05)


def test_bending_turns_the_upper_body_forward_within_the_hip_limit():
    """Standing bodies bent by 80-90 deg: the trunk points forward (+z), lengths are kept, the
    legs stay; in half of them the hands hang below the elbows and shoulders. Seated bodies
    (thighs forward) are refused a bend that would fold the trunk onto the thighs."""
    P = _tpose(400)
    cfg = synth.AugmentConfig(p_bend=1.0, bend_deg=(80.0, 90.0))
    out = synth.bend_forward(P, np.random.default_rng(4), cfg)
    trunk = out[:, J["thorax"]] - out[:, J["pelvis"]]
    assert (trunk[:, 2] > 0.9 * np.linalg.norm(trunk, axis=-1)).all()
    np.testing.assert_allclose(_bone_lengths(out), _bone_lengths(P), atol=1e-9)
    legs = [J[n] for n in ("left_knee", "left_ankle", "right_knee", "right_ankle")]
    np.testing.assert_allclose(out[:, legs], P[:, legs], atol=1e-9)
    hanging = (out[:, J["left_wrist"], 1] < out[:, J["left_elbow"], 1] - 0.15) & (
        out[:, J["left_elbow"], 1] < out[:, J["left_shoulder"], 1] - 0.15
    )
    assert 0.35 < hanging.mean() < 0.65
    seated = synth.augment_pose(
        P, np.random.default_rng(5), synth.AugmentConfig(p_flex=1.0, hip_flex_deg=(90, 90))
    )
    kept = synth.bend_forward(seated, np.random.default_rng(6), cfg)
    np.testing.assert_array_equal(kept, seated)
