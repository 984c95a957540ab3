import numpy as np

from pose_lifting_core.camera import project
from pose_lifting_core.data import synth
from pose_lifting_core.skeleton import JOINT_NAMES

J = {n: i for i, n in enumerate(JOINT_NAMES)}


def _tpose(n=200, seed=0):
    """A standing skeleton (metres, Y up, facing +Z) with small random variation."""
    base = np.array([[0, 0.95, 0], [-0.065, 0.95, 0], [-0.07, 0.52, 0.02], [-0.07, 0.1, 0],
                     [0.065, 0.95, 0], [0.07, 0.52, 0.02], [0.07, 0.1, 0], [0, 1.1, 0], [0, 1.35, 0],
                     [0, 1.42, 0], [0, 1.55, 0.02], [0.1, 1.35, 0], [0.35, 1.35, 0], [0.58, 1.35, 0],
                     [-0.1, 1.35, 0], [-0.35, 1.35, 0], [-0.58, 1.35, 0]], dtype=float)
    rng = np.random.default_rng(seed)
    return base[None] + rng.normal(0, 0.01, (n, 17, 3))


def _bone_lengths(P):
    return np.linalg.norm(synth._bones(P), axis=-1)


def test_pose_augmentation_keeps_bone_lengths():
    P = _tpose()
    out = synth.augment_pose(P, np.random.default_rng(1), synth.AugmentConfig(p_flex=0.5, p_limb_swap=1.0))
    np.testing.assert_allclose(_bone_lengths(out), _bone_lengths(P), atol=1e-9)
    assert np.abs(out - P).max() > 0.05      # it did change poses


def test_flexion_makes_sitting_poses():
    P = _tpose(50)
    cfg = synth.AugmentConfig(p_flex=1.0, p_limb_swap=0.0, p_limb_perturb=0.0, hip_flex_deg=(90, 90),
                              knee_flex_extra_deg=(0, 0))
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
    np.testing.assert_allclose(_bone_lengths(v.joints_cam), _bone_lengths(P[v.extra["kept"]]), atol=1e-9)


def test_corrupt_2d_noise_and_layouts():
    kp = np.zeros((4000, 17, 2))
    cfg = synth.AugmentConfig(p_detector_layout=1.0, p_drop=0.0)
    out, conf = synth.corrupt_2d(kp, np.random.default_rng(5), cfg, noise_px=3.0)
    assert abs(out.std() - 3.0) < 0.1 and (conf == 1).all()
    out, conf = synth.corrupt_2d(kp, np.random.default_rng(5), cfg)
    assert (conf[:, J["spine"]] == 0).all() and (conf[:, J["neck"]] == 0).all()
