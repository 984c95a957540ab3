"""Mixing several motion-capture sets into one training stream.

Owns: the per-frame sampling probabilities from per-dataset weights and per-pose-category
weights. Within a dataset, category c gets a share proportional to count_c ** balance times its
category weight: balance 1 keeps the capture's own mix, 0 makes every present category equally
likely, and the default 0.5 lifts rare poses (lying, squatting, kneeling) well above their share
of the frames without repeating a few frames too often. Frames within a (dataset, category)
cell are equally likely.
"""

from __future__ import annotations

from typing import Dict, Mapping, Sequence

import numpy as np

from pose_lifting_core.tooling.data.poses import CATEGORIES

DEFAULT_DATASET_WEIGHTS: Dict[str, float] = {
    "bandai": 0.25,
    "accad": 0.4,
    "hdm05": 0.35,
    "cmu": 0.1,
}
"""Bandai has 3x the frames of the other two together but one retargeted body, mostly
standing; ACCAD and HDM05 bring 8 real bodies and the floor, squat and bending poses; CMU-sitting
brings 12 real people sitting, sitting down and getting up, in only 819 frames (so a small
weight: each frame is still drawn about 40 times an epoch, each time through another camera)."""

DEFAULT_CATEGORY_WEIGHTS: Dict[str, float] = {name: 1.0 for name in CATEGORIES}


def mixing_probabilities(
    dataset_ids: np.ndarray,
    categories: np.ndarray,
    dataset_names: Sequence[str],
    dataset_weights: Mapping[str, float] = DEFAULT_DATASET_WEIGHTS,
    category_weights: Mapping[str, float] = DEFAULT_CATEGORY_WEIGHTS,
    balance: float = 0.5,
) -> np.ndarray:
    """Sampling probability of every frame (N,), summing to 1.

    dataset_ids: (N,) index into dataset_names. categories: (N,) index into CATEGORIES.
    dataset_weights: relative weight per dataset name (those present are renormalised; a
    missing name weighs 0). category_weights: multiplier per category name (missing: 1).
    Raises ValueError when no frame can be drawn."""
    dataset_ids = np.asarray(dataset_ids, dtype=np.int64)
    categories = np.asarray(categories, dtype=np.int64)
    if not 0.0 <= balance <= 1.0:
        raise ValueError(f"balance must be in [0, 1], got {balance}")
    n_d, n_c = len(dataset_names), len(CATEGORIES)
    counts = np.zeros((n_d, n_c))
    np.add.at(counts, (dataset_ids, categories), 1.0)
    cw = np.array([float(category_weights.get(c, 1.0)) for c in CATEGORIES])
    share = np.where(counts > 0, counts**balance, 0.0) * cw[None]  # (D, C)
    share = share / np.maximum(share.sum(1, keepdims=True), 1e-300)
    dw = np.array([float(dataset_weights.get(name, 0.0)) for name in dataset_names])
    dw = np.where(counts.sum(1) > 0, dw, 0.0)
    if dw.sum() <= 0 or not np.isfinite(dw).all() or (dw < 0).any() or (cw < 0).any():
        raise ValueError(
            "no frame can be drawn: every dataset present has weight 0 (or a weight is negative)"
        )
    cell = dw[:, None] / dw.sum() * share / np.maximum(counts, 1.0)  # per-frame prob.
    p = cell[dataset_ids, categories]
    total = p.sum()
    if total <= 0:
        raise ValueError("no frame can be drawn: every category present has weight 0")
    return p / total
