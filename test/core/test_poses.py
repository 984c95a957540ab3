"""Pose categories and stature from 3D skeletons built by hand (world frame, metres, Y up)."""

import numpy as np
import pytest

from pose_lifting_core.tooling.data.poses import (
    CATEGORIES,
    category_counts,
    leg_length_m,
    pose_categories,
    stature_m,
)
from pose_lifting_core.skeleton import JOINT_NAMES
from conftest import T_POSE_WORLD

J = {n: i for i, n in enumerate(JOINT_NAMES)}
STANDING = T_POSE_WORLD  # facing +Z, left = +X, arms out; legs 0.43 + 0.42 m


def _pose(**joints):
    """STANDING with some joints moved; an upper body given as 'torso_at' moves rigidly."""
    P = STANDING.copy()
    shift = joints.pop("torso_at", None)
    if shift is not None:
        upper = [
            J[n]
            for n in JOINT_NAMES
            if n
            not in (
                "right_hip",
                "right_knee",
                "right_ankle",
                "left_hip",
                "left_knee",
                "left_ankle",
            )
        ]
        P[upper] += np.asarray(shift) - STANDING[J["pelvis"]]
        P[J["left_hip"]] += np.asarray(shift) - STANDING[J["pelvis"]]
        P[J["right_hip"]] += np.asarray(shift) - STANDING[J["pelvis"]]
    for name, xyz in joints.items():
        P[J[name]] = xyz
    return P


def _rotate_x(P, deg, about):
    a = np.radians(deg)
    R = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    return (P - about) @ R.T + about


CASES = {
    "standing": STANDING,
    "seated": _pose(
        torso_at=(0, 0.5, 0),
        right_knee=(-0.07, 0.5, 0.43),
        left_knee=(0.07, 0.5, 0.43),
        right_ankle=(-0.07, 0.08, 0.45),
        left_ankle=(0.07, 0.08, 0.45),
    ),
    "squat": _pose(
        torso_at=(0, 0.45, -0.15),
        right_knee=(-0.1, 0.5, 0.25),
        left_knee=(0.1, 0.5, 0.25),
        right_ankle=(-0.1, 0.08, 0.05),
        left_ankle=(0.1, 0.08, 0.05),
    ),
    "kneeling": _pose(
        torso_at=(0, 0.55, 0),
        right_knee=(-0.08, 0.1, 0.1),
        left_knee=(0.08, 0.1, 0.1),
        right_ankle=(-0.08, 0.08, -0.32),
        left_ankle=(0.08, 0.08, -0.32),
    ),
    "floor": _rotate_x(STANDING, -90.0, STANDING[J["pelvis"]]),
    "bending": np.concatenate(
        [STANDING[:7], _rotate_x(STANDING[7:], 70.0, STANDING[J["pelvis"]])]
    ),
    "one_leg": _pose(right_knee=(-0.07, 0.55, 0.15), right_ankle=(-0.07, 0.35, -0.2)),
}


@pytest.mark.parametrize("name", CATEGORIES)
def test_each_category_from_a_hand_made_pose(name):
    assert CATEGORIES[pose_categories(CASES[name][None])[0]] == name


def test_categories_do_not_depend_on_position_heading_or_floor_height():
    P = np.stack([CASES[n] for n in CATEGORIES])
    a = np.radians(130.0)
    R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])  # about Y
    moved = P @ R.T + np.array([3.0, 0.7, -2.0])
    np.testing.assert_array_equal(pose_categories(moved), pose_categories(P))


def test_category_thresholds_scale_with_the_body():
    P = np.stack([CASES[n] for n in CATEGORIES])
    np.testing.assert_array_equal(pose_categories(P * 1.2), pose_categories(P))


def test_stature_from_legs_is_pose_independent():
    np.testing.assert_allclose(leg_length_m(STANDING[None]), [0.43 + 0.42], atol=2e-3)
    np.testing.assert_allclose(stature_m(STANDING[None]), [1.70], atol=5e-3)
    lying = CASES["floor"][None]
    np.testing.assert_allclose(stature_m(lying), stature_m(STANDING[None]), atol=1e-12)


def test_category_counts_name_every_category():
    counts = category_counts(np.array([0, 0, 4]))
    assert list(counts) == list(CATEGORIES)
    assert counts["standing"] == 2 and counts["floor"] == 1 and counts["seated"] == 0
