"""The output skeleton and the 2D input layouts, as data.

Owns: the 17 joint names and their order (the one source of truth for every message, file and
render), parents, left/right pairs, and the conversion of detector layouts (`coco17`,
`blazepose33`, `h36m17`) into the 17-joint layout with per-joint confidences.

A joint that an input layout lacks is derived where that is geometrically sound (pelvis = mid-hips,
thorax = mid-shoulders, head = mid-ears) and otherwise given confidence 0 (spine, neck for COCO and
BlazePose). Derived joints take the minimum confidence of the joints they come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree: joint names in order, each joint's parent index (-1 for the root)."""

    names: Tuple[str, ...]
    parents: Tuple[int, ...]
    left: Tuple[int, ...]
    right: Tuple[int, ...]

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    @property
    def bones(self) -> List[Tuple[int, int]]:
        """(parent, child) index pairs, in joint order (parents come before children)."""
        return [(p, c) for c, p in enumerate(self.parents) if p >= 0]

    def flip_permutation(self) -> np.ndarray:
        """Index permutation that swaps left and right joints (for mirroring)."""
        perm = np.arange(self.num_joints)
        perm[list(self.left)] = self.right
        perm[list(self.right)] = self.left
        return perm

    def mirror(self, joints: np.ndarray) -> np.ndarray:
        """Joints (..., J, 3) mirrored through the y-z plane (x -> -x) with left and right
        swapped, so that the result is again a body: what a mirror shows. Its own inverse."""
        return np.asarray(joints)[..., self.flip_permutation(), :] * np.array([-1.0, 1.0, 1.0])


JOINT_NAMES: Tuple[str, ...] = (
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
)
_PARENT_NAMES = {
    "pelvis": None,
    "right_hip": "pelvis",
    "right_knee": "right_hip",
    "right_ankle": "right_knee",
    "left_hip": "pelvis",
    "left_knee": "left_hip",
    "left_ankle": "left_knee",
    "spine": "pelvis",
    "thorax": "spine",
    "neck": "thorax",
    "head": "neck",
    "left_shoulder": "thorax",
    "left_elbow": "left_shoulder",
    "left_wrist": "left_elbow",
    "right_shoulder": "thorax",
    "right_elbow": "right_shoulder",
    "right_wrist": "right_elbow",
}


def _build() -> Skeleton:
    parents = tuple(
        -1 if _PARENT_NAMES[n] is None else JOINT_NAMES.index(_PARENT_NAMES[n])
        for n in JOINT_NAMES
    )
    left = tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith("left_"))
    right = tuple(JOINT_NAMES.index("right_" + JOINT_NAMES[i][5:]) for i in left)
    return Skeleton(JOINT_NAMES, parents, left, right)


SKELETON: Skeleton = _build()
ROOT: int = SKELETON.index("pelvis")

# --- input layouts --------------------------------------------------------------------------
COCO17_NAMES: Tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
BLAZEPOSE33_NAMES: Tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

# How each of the 17 joints is obtained from a layout: a tuple of source joint names whose mean it
# is (one name: copied), or () when the layout cannot provide it (confidence 0).
_DERIVED_COMMON: Dict[str, Tuple[str, ...]] = {
    "pelvis": ("left_hip", "right_hip"),
    "thorax": ("left_shoulder", "right_shoulder"),
    "head": ("left_ear", "right_ear"),
    "spine": (),
    "neck": (),
}


def _recipe(source_names: Sequence[str]) -> List[Tuple[int, ...]]:
    recipe = []
    for name in JOINT_NAMES:
        if name in source_names:
            recipe.append((list(source_names).index(name),))
        else:
            recipe.append(tuple(list(source_names).index(s) for s in _DERIVED_COMMON[name]))
    return recipe


LAYOUTS: Dict[str, Tuple[str, ...]] = {
    "coco17": COCO17_NAMES,
    "blazepose33": BLAZEPOSE33_NAMES,
    "h36m17": JOINT_NAMES,
}
_RECIPES = {name: _recipe(names) for name, names in LAYOUTS.items()}


def _tables(
    recipe: List[Tuple[int, ...]], n_src: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised form of a recipe: averaging matrix (17, n_src), two source indices per joint
    (the same one twice for copied joints) and a mask of the joints the layout provides."""
    avg = np.zeros((len(recipe), n_src))
    pair = np.zeros((len(recipe), 2), dtype=np.int64)
    for j, src in enumerate(recipe):
        if src:
            avg[j, list(src)] = 1.0 / len(src)
            pair[j] = (src[0], src[-1])
    return avg, pair, np.array([bool(src) for src in recipe])


_TABLES = {name: _tables(_RECIPES[name], len(LAYOUTS[name])) for name in LAYOUTS}


def layout_num_joints(layout: str) -> int:
    """Number of keypoints a layout carries. Raises ValueError for an unknown layout."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown keypoint layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return len(LAYOUTS[layout])


def to_skeleton17(
    keypoints: np.ndarray, scores: np.ndarray | None = None, layout: str = "coco17"
) -> Tuple[np.ndarray, np.ndarray]:
    """Convert keypoints of `layout` into the 17-joint layout.

    keypoints: (..., J_layout, 2) pixels. scores: (..., J_layout) in [0, 1] or None (all 1).
    Returns (keypoints17 (..., 17, 2), confidence17 (..., 17)). Joints the layout lacks get
    position 0 and confidence 0; non-finite keypoints get confidence 0.
    """
    n = layout_num_joints(layout)
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape[-2:] != (n, 2):
        raise ValueError(
            f"layout {layout!r} needs keypoints of shape (..., {n}, 2), got {kp.shape}"
        )
    sc = np.ones(kp.shape[:-1]) if scores is None else np.asarray(scores, dtype=np.float64)
    if sc.shape != kp.shape[:-1]:
        raise ValueError(f"scores shape {sc.shape} does not match keypoints {kp.shape[:-1]}")
    bad = ~(np.isfinite(kp).all(-1) & np.isfinite(sc))
    sc = np.where(bad, 0.0, np.clip(sc, 0.0, 1.0))
    kp = np.where(bad[..., None], 0.0, kp)
    avg, pair, provided = _TABLES[layout]
    out = avg @ kp  # (17, J_layout) @ (..., J_layout, 2)
    conf = np.where(provided, np.minimum(sc[..., pair[:, 0]], sc[..., pair[:, 1]]), 0.0)
    out = np.where(conf[..., None] > 0, out, 0.0)
    return out, conf
