import numpy as np
import pytest

from pose_lifting_core.skeleton import (
    BLAZEPOSE33_NAMES,
    COCO17_NAMES,
    JOINT_NAMES,
    SKELETON,
    to_skeleton17,
)

EXPECTED = [
    "pelvis",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "spine",
    "thorax",
    "neck",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
]


def test_joint_names_and_order():
    assert list(JOINT_NAMES) == EXPECTED


def test_parents_form_a_tree_rooted_at_pelvis():
    assert SKELETON.parents[0] == -1
    for child, parent in enumerate(SKELETON.parents[1:], start=1):
        assert 0 <= parent < child
    assert SKELETON.names[SKELETON.parents[SKELETON.index("left_wrist")]] == "left_elbow"
    assert SKELETON.names[SKELETON.parents[SKELETON.index("head")]] == "neck"


def test_left_right_pairs_mirror_names():
    for left, right in zip(SKELETON.left, SKELETON.right):
        assert SKELETON.names[left].replace("left_", "") == SKELETON.names[right].replace(
            "right_", ""
        )
    perm = SKELETON.flip_permutation()
    assert sorted(perm) == list(range(17))
    assert perm[SKELETON.index("left_knee")] == SKELETON.index("right_knee")


def test_mirror_negates_x_swaps_sides_and_is_its_own_inverse():
    X = np.random.default_rng(3).normal(size=(4, 2, 17, 3))
    M = SKELETON.mirror(X)
    left, right = SKELETON.index("left_wrist"), SKELETON.index("right_wrist")
    np.testing.assert_array_equal(M[..., right, :], X[..., left, :] * [-1, 1, 1])
    np.testing.assert_array_equal(M[..., 0, :], X[..., 0, :] * [-1, 1, 1])
    np.testing.assert_array_equal(SKELETON.mirror(M), X)


def test_coco17_derives_pelvis_thorax_head_and_zeroes_spine_neck():
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 500, (3, 17, 2))
    sc = rng.uniform(0.5, 1.0, (3, 17))
    out, conf = to_skeleton17(kp, sc, "coco17")
    c = {n: i for i, n in enumerate(COCO17_NAMES)}
    j = {n: i for i, n in enumerate(JOINT_NAMES)}
    np.testing.assert_allclose(
        out[:, j["pelvis"]], (kp[:, c["left_hip"]] + kp[:, c["right_hip"]]) / 2
    )
    np.testing.assert_allclose(
        conf[:, j["pelvis"]], np.minimum(sc[:, c["left_hip"]], sc[:, c["right_hip"]])
    )
    np.testing.assert_allclose(
        out[:, j["thorax"]], (kp[:, c["left_shoulder"]] + kp[:, c["right_shoulder"]]) / 2
    )
    np.testing.assert_allclose(
        out[:, j["head"]], (kp[:, c["left_ear"]] + kp[:, c["right_ear"]]) / 2
    )
    np.testing.assert_allclose(out[:, j["left_wrist"]], kp[:, c["left_wrist"]])
    assert (conf[:, j["spine"]] == 0).all() and (conf[:, j["neck"]] == 0).all()


def test_blazepose33_maps_by_name():
    kp = np.arange(33 * 2, dtype=float).reshape(1, 33, 2)
    out, conf = to_skeleton17(kp, None, "blazepose33")
    b = {n: i for i, n in enumerate(BLAZEPOSE33_NAMES)}
    assert np.allclose(out[0, JOINT_NAMES.index("right_knee")], kp[0, b["right_knee"]])
    assert conf[0, JOINT_NAMES.index("right_knee")] == 1.0
    assert conf[0, JOINT_NAMES.index("spine")] == 0.0


def test_h36m17_is_identity():
    kp = np.random.default_rng(1).uniform(0, 100, (2, 17, 2))
    out, conf = to_skeleton17(kp, None, "h36m17")
    np.testing.assert_allclose(out, kp)
    assert (conf == 1).all()


def test_nan_keypoints_get_zero_confidence():
    kp = np.ones((1, 17, 2))
    kp[0, COCO17_NAMES.index("left_hip")] = np.nan
    out, conf = to_skeleton17(kp, None, "coco17")
    assert conf[0, JOINT_NAMES.index("left_hip")] == 0
    assert conf[0, JOINT_NAMES.index("pelvis")] == 0  # derived from a missing joint
    assert np.isfinite(out).all()


def test_bad_layout_and_shape_raise():
    with pytest.raises(ValueError, match="unknown keypoint layout"):
        to_skeleton17(np.zeros((1, 17, 2)), None, "openpose25")
    with pytest.raises(ValueError, match=r"\(\.\.\., 33, 2\)"):
        to_skeleton17(np.zeros((1, 17, 2)), None, "blazepose33")
