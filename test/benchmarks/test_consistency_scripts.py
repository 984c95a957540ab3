"""The label-free benchmarks (real_consistency.py, error_parts.py): their measures on bodies with
known answers, and their refusals in one line."""

import os
import subprocess
import sys

import numpy as np

from conftest import T_POSE_WORLD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))


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
    r = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "benchmarks", "error_parts.py"),
            "--dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert "no DIR/<lab>/lifter.pt under" in r.stderr
