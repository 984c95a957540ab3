"""Pose categories and body size, computed from the 3D skeleton of any dataset.

Owns: the pose categories (one list, used by sampling, evaluation and the reports), the rules
that assign a category to a world-frame skeleton, and the stature estimate from bone lengths.

Conventions: world frame of the capture, metres, Y up; skeletons (N, 17, 3) in the joint order
of `skeleton.py`. The floor is taken as the lowest joint of the frame, so the rules need no
floor height from the dataset. Thresholds are in leg lengths (thigh + shin), so they hold for
short and tall people alike.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from pose_lifting_core.skeleton import JOINT_NAMES

J = {n: i for i, n in enumerate(JOINT_NAMES)}

CATEGORIES = ("standing", "seated", "squat", "kneeling", "floor", "bending", "one_leg")
"""Pose categories, in the order the rules test them: `floor` is on the floor or lying
(lying, sitting on the floor, crawling); `squat` includes crouching; `one_leg` is standing on
one leg (a kick, a raised knee)."""

STATURE_PER_LEG = 2.0
"""Standing height over leg length (hip joint centre to ankle, thigh + shin): the mean over the
8 real actors of ACCAD and HDM05, whose heights their READMEs give (head top to toe,
1.59-1.86 m); each actor is within 3.5 % of it (docs/TRAINING.md). Legs are used because the
three labs agree on where hips, knees and ankles are far better than on the torso and head
points (Bandai's retargeted torso is 12 cm shorter than its legs suggest)."""


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (N,) in degrees between vectors a and b (N, 3)."""
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    cos = (a * b).sum(-1) / np.maximum(na * nb, 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def leg_length_m(P: np.ndarray) -> np.ndarray:
    """Mean of the two legs' thigh + shin lengths (N,) metres. P: (N, 17, 3)."""
    legs = [
        np.linalg.norm(P[:, J[f"{s}_knee"]] - P[:, J[f"{s}_hip"]], axis=-1)
        + np.linalg.norm(P[:, J[f"{s}_ankle"]] - P[:, J[f"{s}_knee"]], axis=-1)
        for s in ("left", "right")
    ]
    return 0.5 * (legs[0] + legs[1])


def stature_m(P: np.ndarray) -> np.ndarray:
    """Estimated standing height (N,) metres from leg length alone (any pose)."""
    return STATURE_PER_LEG * leg_length_m(P)


def pose_features(P: np.ndarray) -> Dict[str, np.ndarray]:
    """The quantities the category rules use, each (N,): heights above the lowest joint and
    horizontal distances in leg lengths, angles in degrees."""
    P = np.asarray(P, dtype=np.float64)
    leg = np.maximum(leg_length_m(P), 1e-6)
    floor = P[..., 1].min(1)
    up = np.array([0.0, 1.0, 0.0])
    height = {
        n: (P[:, J[n], 1] - floor) / leg
        for n in ("pelvis", "left_knee", "right_knee", "left_ankle", "right_ankle")
    }
    trunk = _angle_deg(P[:, J["thorax"]] - P[:, J["pelvis"]], up[None])
    thigh = {
        s: _angle_deg(P[:, J[f"{s}_knee"]] - P[:, J[f"{s}_hip"]], -up[None])
        for s in ("left", "right")
    }
    knee = {
        s: _angle_deg(
            P[:, J[f"{s}_hip"]] - P[:, J[f"{s}_knee"]],
            P[:, J[f"{s}_ankle"]] - P[:, J[f"{s}_knee"]],
        )
        for s in ("left", "right")
    }
    mid_ankle = 0.5 * (P[:, J["left_ankle"]] + P[:, J["right_ankle"]])
    behind = np.linalg.norm((P[:, J["pelvis"]] - mid_ankle)[:, [0, 2]], axis=-1) / leg
    return {
        "pelvis_h": height["pelvis"],
        "knee_h_min": np.minimum(height["left_knee"], height["right_knee"]),
        "ankle_h_diff": np.abs(height["left_ankle"] - height["right_ankle"]),
        "trunk_deg": trunk,
        "thigh_deg_min": np.minimum(thigh["left"], thigh["right"]),
        "knee_deg_mean": 0.5 * (knee["left"] + knee["right"]),
        "pelvis_ankle_horizontal": behind,
    }


def pose_categories(P: np.ndarray) -> np.ndarray:
    """Category index (N,) into CATEGORIES for world skeletons P (N, 17, 3), metres, Y up.

    Rules, first match wins (heights above the lowest joint, in leg lengths):
    - floor: pelvis below 0.35, or below 0.6 with the trunk more than 60 deg from vertical;
    - kneeling: a knee below 0.15 (a knee on the floor);
    - seated: both thighs at least 55 deg from vertical, pelvis 0.3 or more behind the ankles
      horizontally (on a seat, not balanced over the feet), trunk within 60 deg of vertical;
    - squat: mean knee angle below 120 deg and pelvis below 0.75;
    - bending: trunk more than 45 deg from vertical;
    - one_leg: ankles at heights differing by more than 0.2 (one foot off the floor);
    - standing: everything else (walking, running and reaching included).
    """
    f = pose_features(P)
    cat = np.full(len(f["pelvis_h"]), CATEGORIES.index("standing"))
    rules = [
        ("one_leg", f["ankle_h_diff"] > 0.2),
        ("bending", f["trunk_deg"] > 45.0),
        ("squat", (f["knee_deg_mean"] < 120.0) & (f["pelvis_h"] < 0.75)),
        (
            "seated",
            (f["thigh_deg_min"] >= 55.0)
            & (f["pelvis_ankle_horizontal"] >= 0.3)
            & (f["trunk_deg"] <= 60.0),
        ),
        ("kneeling", f["knee_h_min"] < 0.15),
        ("floor", (f["pelvis_h"] < 0.35) | ((f["pelvis_h"] < 0.6) & (f["trunk_deg"] > 60.0))),
    ]
    for name, mask in rules:  # applied in reverse priority: the last write wins
        cat[mask] = CATEGORIES.index(name)
    return cat


def category_counts(categories: np.ndarray) -> Dict[str, int]:
    """Frames per category name, every category listed (zero included)."""
    counts = np.bincount(np.asarray(categories, dtype=np.int64), minlength=len(CATEGORIES))
    return {name: int(c) for name, c in zip(CATEGORIES, counts)}
