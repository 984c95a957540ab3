"""Body frames of skeletons and rotation <-> quaternion conversion (pure maths).

Owns: the orientation of each person's `body_<id>` frame, REP-103 style (and REP-155's body
frame): origin at the pelvis (the mid-point of the hips, as the training data defines it), x
forward (out of the body's front), y to the body's left (right hip -> left hip), z up (pelvis ->
thorax, made orthogonal to y), right-handed (x = y cross z); and the joints expressed in that
frame (the translations of frames parented to it). Shapes: joints (N, 17, 3) metres in the
camera frame; rotations (N, 3, 3) whose columns are the body axes in camera coordinates;
quaternions (N, 4) as (x, y, z, w).
"""

from __future__ import annotations

import numpy as np

from pose_lifting_core.skeleton import JOINT_NAMES

_J = {n: i for i, n in enumerate(JOINT_NAMES)}


_LEFT_HIP, _RIGHT_HIP, _THORAX, _PELVIS = (
    _J["left_hip"],
    _J["right_hip"],
    _J["thorax"],
    _J["pelvis"],
)
_NEXT, _AFTER = [1, 2, 0], [2, 0, 1]  # cyclic index shifts for the cross product
# 1 + these rows . (m00, m11, m22) = 4 x^2, 4 y^2, 4 z^2, 4 w^2 of the quaternion
_DIAG_TO_SQUARES = np.array(
    [[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0], [1.0, 1.0, 1.0]]
)


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows of v (..., n) scaled to unit length (a zero row stays zero)."""
    return v / np.maximum(np.sqrt((v * v).sum(-1, keepdims=True)), 1e-9)


def body_rotations(joints: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) of the body frames; columns x forward, y left, z up.
    (Written with few numpy calls: one person's frame is computed every video frame.)"""
    J = np.asarray(joints, dtype=np.float64)
    y = _unit(J[:, _LEFT_HIP] - J[:, _RIGHT_HIP])
    up = J[:, _THORAX] - J[:, _PELVIS]
    z = _unit(up - (up * y).sum(-1, keepdims=True) * y)
    x = y[:, _NEXT] * z[:, _AFTER] - y[:, _AFTER] * z[:, _NEXT]  # y x z
    return np.stack([x, y, z], -1)


def quaternion_from_matrix(R: np.ndarray) -> np.ndarray:
    """Unit quaternions (N, 4) as (x, y, z, w) from rotation matrices (N, 3, 3): magnitudes
    from the diagonal, signs of x, y, z from the antisymmetric part (w >= 0)."""
    R = np.asarray(R, dtype=np.float64).reshape(-1, 9)
    q = np.sqrt(np.maximum(1.0 + R[:, [0, 4, 8]] @ _DIAG_TO_SQUARES.T, 0.0))
    q[:, :3] = np.copysign(
        q[:, :3], R[:, [7, 2, 3]] - R[:, [5, 6, 1]]
    )  # m21-m12, m02-m20, m10-m01
    return _unit(q)


def matrix_from_quaternion(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (N, 3, 3) from quaternions (N, 4) as (x, y, z, w)."""
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    x, y, z, w = q.T
    return np.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y - z * w),
            2 * (x * z + y * w),
            2 * (x * y + z * w),
            1 - 2 * (x * x + z * z),
            2 * (y * z - x * w),
            2 * (x * z - y * w),
            2 * (y * z + x * w),
            1 - 2 * (x * x + y * y),
        ],
        -1,
    ).reshape(-1, 3, 3)


def joints_in_body_frames(joints: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """The joints (N, 17, 3) expressed in each person's body frame: R^T (p - pelvis), metres,
    for frames parented to `body_<id>`. `rotations` (N, 3, 3) are the body frames' (columns: axes
    in camera coordinates); pass the ones the TF carries (matrix_from_quaternion of the published
    quaternion), so that camera -> body -> joint composes to the joint's camera position exactly,
    even where the hips or the spine are degenerate."""
    J = np.asarray(joints, dtype=np.float64)
    R = np.asarray(rotations, dtype=np.float64)
    return np.einsum("nki,nij->nkj", J - J[:, _PELVIS : _PELVIS + 1], R)
