"""The diagnostic benchmarks (real_consistency, error_parts, lab_shift, gravity_probe): their
measures on bodies with known answers, and their refusals in one line."""

import os
import subprocess
import sys

import numpy as np

from conftest import T_POSE_WORLD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    """benchmarks/<script>.py with args, in the repository root."""
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", f"{script}.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_consistency_scores_symmetry_and_stable_bones():
    """A T-pose (left and right limbs of equal length) seen 12 times as one track scores 0 %
    asymmetry and 0 % bone variation; every left limb bone 10 % longer gives 0.1 / 1.05 =
    9.52 % asymmetry; a limb joint below MIN_CONF leaves the person unscored."""
    import real_consistency as rc
    from pose_lifting_core.skeleton import JOINT_NAMES
    from pose_lifting_core.tooling.data import synth

    X = np.repeat(T_POSE_WORLD[None], 12, 0)
    ids, conf = np.ones(12, int), np.ones((12, 17))
    s = rc.scores(ids, X, conf)
    assert s["people"] == 12 and s["tracks"] == 1
    assert s["asymmetry_pct"] < 1e-9 and s["bone_variation_pct"] < 1e-9
    assert 1.3 < s["height_m"] < 1.9
    B = synth._bones(X)
    B[:, [JOINT_NAMES.index(f"left_{j}") for j in ("elbow", "wrist", "knee", "ankle")]] *= 1.1
    longer = rc.scores(ids, synth._rebuild(X[:, 0], B), conf)
    np.testing.assert_allclose(longer["asymmetry_pct"], 0.1 / 1.05 * 100, rtol=1e-9)
    assert longer["bone_variation_pct"] < 1e-9
    low = conf.copy()
    low[:, JOINT_NAMES.index("left_wrist")] = 0.1
    none = rc.scores(ids, X, low)
    assert none["people"] == 0 and np.isnan(none["asymmetry_pct"])


def test_error_parts_without_models_is_one_line(tmp_path):
    r = _run("error_parts", "--dir", str(tmp_path))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert "no DIR/<lab>/lifter.pt under" in r.stderr


def test_lab_shift_removes_a_fixed_offset_per_joint_in_the_body_frame():
    """Lifted bodies that differ from the truth only by a fixed offset per joint, fixed in each
    body's own frame (a lab that puts its joints elsewhere), are the truth once the joint bias
    is removed, whichever way each body faces; the offsets alone cost their mean length."""
    import lab_shift
    from pose_lifting_core.tooling.data import synth

    rng = np.random.default_rng(0)
    n = 50
    R = synth.rotation_about(rng.standard_normal((n, 3)), rng.uniform(0, np.pi, n))
    G = np.einsum("nij,kj->nki", R, T_POSE_WORLD - T_POSE_WORLD[0])
    offset = rng.normal(0, 0.03, (17, 3))
    offset[0] = 0.0
    F = synth.body_frames(G)
    X = G + np.einsum("nij,kj->nki", F, offset)
    np.testing.assert_allclose(lab_shift.without_joint_bias(X, G), G, atol=1e-9)
    expected = np.linalg.norm(offset, axis=-1).mean() * 1000
    np.testing.assert_allclose(lab_shift.scores(X, G)["mpjpe_mm"], expected, rtol=1e-9)


def test_lab_shift_without_models_is_one_line(tmp_path):
    r = _run("lab_shift", "--dir", str(tmp_path), "--ensemble", "")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert "no lab has DIR/<lab>/lifter.pt" in r.stderr


def test_gravity_probe_appends_up_seen_from_the_camera():
    """The probe's sampler gives the training samples three more features: world up in each
    camera's optical frame, a unit vector whose optical-axis part is -sin(elevation)."""
    import gravity_probe
    from pose_lifting_core.tooling.train import TrainConfig, make_samples

    P = np.repeat((T_POSE_WORLD - T_POSE_WORLD[0] * [1, 0, 1])[None], 200, 0)
    cfg = TrainConfig()
    raw, _, views, *_ = make_samples(P, np.random.default_rng(1), cfg)
    raw_up, _, views_up, *_ = gravity_probe._with_up(make_samples)(
        P, np.random.default_rng(1), cfg
    )
    np.testing.assert_array_equal(raw_up[:, :-3], raw)
    up = raw_up[:, -3:]
    np.testing.assert_allclose(np.linalg.norm(up, axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(up[:, 2], -np.sin(np.radians(views_up.elevation_deg)), atol=1e-9)


def test_gravity_probe_without_baseline_is_one_line(tmp_path):
    r = _run("gravity_probe", "--baseline", str(tmp_path / "none.pt"))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert "no baseline model" in r.stderr
