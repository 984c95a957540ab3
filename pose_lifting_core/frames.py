"""Body frames of skeletons and rotation <-> quaternion conversion (pure maths).

Owns: the orientation of each person's `body_<id>` frame, REP-103 style: origin at the pelvis,
x forward (the direction the body faces), y to the body's left (right hip -> left hip), z up
(pelvis -> thorax, made orthogonal to y). Shapes: joints (N, 17, 3) metres in the camera frame;
rotations (N, 3, 3) whose columns are the body axes in camera coordinates; quaternions (N, 4)
as (x, y, z, w).
"""
from __future__ import annotations

import numpy as np

from pose_lifting_core.skeleton import JOINT_NAMES

_J = {n: i for i, n in enumerate(JOINT_NAMES)}


def body_rotations(joints: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) of the body frames; columns x forward, y left, z up."""
    J = np.asarray(joints, dtype=np.float64)
    y = J[:, _J["left_hip"]] - J[:, _J["right_hip"]]
    y /= np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-9)
    up = J[:, _J["thorax"]] - J[:, _J["pelvis"]]
    z = up - (up * y).sum(-1, keepdims=True) * y
    z /= np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-9)
    x = np.cross(y, z)
    return np.stack([x, y, z], -1)


def quaternion_from_matrix(R: np.ndarray) -> np.ndarray:
    """Unit quaternions (N, 4) as (x, y, z, w) from rotation matrices (N, 3, 3)."""
    R = np.asarray(R, dtype=np.float64).reshape(-1, 3, 3)
    m00, m11, m22 = R[:, 0, 0], R[:, 1, 1], R[:, 2, 2]
    q = np.stack([np.sqrt(np.maximum(0, 1 + m00 - m11 - m22)) / 2,
                  np.sqrt(np.maximum(0, 1 - m00 + m11 - m22)) / 2,
                  np.sqrt(np.maximum(0, 1 - m00 - m11 + m22)) / 2,
                  np.sqrt(np.maximum(0, 1 + m00 + m11 + m22)) / 2], -1)
    q[:, 0] = np.copysign(q[:, 0], R[:, 2, 1] - R[:, 1, 2])
    q[:, 1] = np.copysign(q[:, 1], R[:, 0, 2] - R[:, 2, 0])
    q[:, 2] = np.copysign(q[:, 2], R[:, 1, 0] - R[:, 0, 1])
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def matrix_from_quaternion(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (N, 3, 3) from quaternions (N, 4) as (x, y, z, w)."""
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    x, y, z, w = q.T
    return np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
                     2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                     2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1).reshape(-1, 3, 3)
