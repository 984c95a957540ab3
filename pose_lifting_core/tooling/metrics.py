"""Pose metrics. Inputs in metres; reported numbers in millimetres (the only place mm appear).

Shapes: pred, gt (N, J, 3). Every function is vectorised over N.
"""

from __future__ import annotations

import numpy as np


def per_joint_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean error (N, J) in metres."""
    return np.linalg.norm(pred - gt, axis=-1)


def mpjpe_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint position error, millimetres."""
    return float(per_joint_error(pred, gt).mean() * 1000.0)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """pred (N, J, 3) aligned to gt by the best similarity transform (rotation, uniform scale,
    translation) per sample (Umeyama, reflections excluded)."""
    mp, mg = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    p, g = pred - mp, gt - mg
    H = np.einsum("nji,njk->nik", p, g)
    U, S, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", U, Vt)))
    D = np.ones_like(S)
    D[:, -1] = d
    R = np.einsum("nij,nj,njk->nik", U, D, Vt)  # maps p -> g as p @ R
    scale = (S * D).sum(-1) / np.maximum((p**2).sum((1, 2)), 1e-12)
    return scale[:, None, None] * np.einsum("nji,nik->njk", p, R) + mg


def pa_mpjpe_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE after Procrustes alignment, millimetres."""
    return mpjpe_mm(procrustes_align(pred, gt), gt)


def n_mpjpe_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE after scaling each pred by its least-squares best factor (no rotation or shift),
    millimetres: the error of the pose up to the body's size."""
    scale = (pred * gt).sum((1, 2)) / np.maximum((pred**2).sum((1, 2)), 1e-12)
    return mpjpe_mm(scale[:, None, None] * pred, gt)


def body_size(X: np.ndarray, root: int = 0) -> np.ndarray:
    """Each skeleton's size (N,) metres: the RMS distance of its joints from joint `root`.
    numpy in, numpy out; torch in, torch out (differentiable: adaptation's size-free losses)."""
    return (((X - X[:, root : root + 1]) ** 2).sum(-1).mean(-1)) ** 0.5


def size_ratio(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> float:
    """Median over samples of pred's size over gt's (`body_size`): below 1, the lifter reads
    people smaller than they are."""
    return float(np.median(body_size(pred, root) / np.maximum(body_size(gt, root), 1e-12)))


def root_error(pred_root: np.ndarray, gt_root: np.ndarray) -> np.ndarray:
    """Root position error (N,) in metres."""
    return np.linalg.norm(pred_root - gt_root, axis=-1)
