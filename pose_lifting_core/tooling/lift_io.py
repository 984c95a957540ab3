"""The `lift` command's file formats: reading, validating and writing IN.npz, writing OUT.npz.

Owns: the input contract (keys, shapes, dtypes, finiteness, layouts) and the one-line error
messages that name what is wrong. Nothing here touches the network.

IN.npz:  keypoints (N, J, 2) px; layout (str, default coco17); scores (N, J) optional;
         K (3, 3) or (N, 3, 3) optional; image_size (width, height) optional, needed when K is
         absent or all zero (then K comes from the field-of-view prior), each side 16-100000 px
         (camera.IMAGE_SIDE_RANGE_PX), or (N, 2): each person's own image's size (a folder of
         images of several sizes);
         joints_3d_gt (N, 17, 3) metres optional: ground truth, compared against when present.
         `estimate --keypoints-out` writes this format (h36m17 layout) for `lift` and `adapt`.
OUT.npz: joints_3d (N, 17, 3) metres, absolute, camera optical frame; joint_names (17,);
         K (N, 3, 3) as used; K_estimated (N,) bool; reprojection_error_px (N,);
         dropped_reason (N,) str: why a row is no result (plausibility.py; its joints_3d and
         reprojection error are NaN), "" for a result.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np

from pose_lifting_core.camera import stated_image_size_problem
from pose_lifting_core.files import atomic_path
from pose_lifting_core.skeleton import JOINT_NAMES, LAYOUTS, layout_num_joints


class InputError(ValueError):
    """Bad input for the `lift` command; the message is one line naming the problem."""


@dataclass
class LiftInput:
    """The validated contents of an IN.npz file (see the module docstring for the keys)."""

    keypoints: np.ndarray  # (N, J, 2) px
    layout: str
    scores: Optional[np.ndarray]  # (N, J) or None
    K: Optional[np.ndarray]  # (N, 3, 3) or None when it must be estimated
    image_size: Optional[Tuple[float, float]]  # shared by every row; None: absent, or per row
    joints_3d_gt: Optional[np.ndarray] = None  # (N, 17, 3) metres, when the file carries it
    image_sizes: Optional[np.ndarray] = None  # (N, 2) width, height px of each row's image


def _array(z, key: str) -> np.ndarray:
    try:
        return z[key]
    except Exception as exc:
        raise InputError(f"{key!r} cannot be read: {type(exc).__name__}") from exc


def _numeric(a: np.ndarray, key: str) -> np.ndarray:
    if a.dtype.kind not in "iuf":
        raise InputError(f"{key!r} must be numeric, got dtype {a.dtype}")
    a = a.astype(np.float64)
    bad = int((~np.isfinite(a)).sum())
    if bad:
        raise InputError(f"{key!r} has {bad} NaN or infinite value(s)")
    return a


def read_lift_input(path: str) -> LiftInput:
    """Read and validate IN.npz. Raises InputError with a one-line reason."""
    if not os.path.isfile(path):
        raise InputError(f"input file not found: {path}")
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"cannot read {path} as .npz: {type(exc).__name__}") from exc
    if not hasattr(z, "files"):
        raise InputError(f"{path} is a single .npy array, not an .npz archive with named arrays")
    with z:
        if "keypoints" not in z.files:
            raise InputError(
                f"{path} has no 'keypoints' array (found: {', '.join(z.files) or 'none'})"
            )
        layout = "coco17"
        if "layout" in z.files:
            la = _array(z, "layout")
            if la.dtype.kind not in "US" or la.size != 1:
                raise InputError("'layout' must be a single string")
            layout = str(la.reshape(()).item())
            if isinstance(layout, bytes):
                layout = layout.decode("utf-8", "replace")
        if layout not in LAYOUTS:
            raise InputError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
        nj = layout_num_joints(layout)
        kp = _numeric(_array(z, "keypoints"), "keypoints")
        if kp.ndim != 3 or kp.shape[1:] != (nj, 2):
            raise InputError(
                f"'keypoints' must have shape (N, {nj}, 2) for layout {layout}, got {kp.shape}"
            )
        n = kp.shape[0]
        scores = None
        if "scores" in z.files:
            scores = _numeric(_array(z, "scores"), "scores")
            if scores.shape != (n, nj):
                raise InputError(f"'scores' must have shape ({n}, {nj}), got {scores.shape}")
            if (scores < 0).any() or (scores > 1).any():
                raise InputError("'scores' must lie in [0, 1]")
        image_size = image_sizes = None
        if "image_size" in z.files:
            s = _numeric(_array(z, "image_size"), "image_size")
            s = s.reshape(1, 2) if s.size == 2 else s  # one size shared by every row
            if s.ndim != 2 or s.shape[1] != 2 or len(s) not in (1, n) or (s <= 0).any():
                raise InputError(
                    "'image_size' must be two positive numbers (width, height), or one such "
                    f"pair per person ({n}, 2), got {s.tolist() if s.size <= 4 else s.shape}"
                )
            for w, h in np.unique(s, axis=0):
                problem = stated_image_size_problem(w, h)
                if problem is not None:
                    raise InputError(f"'image_size': {problem}")
            image_sizes = np.broadcast_to(s, (n, 2)).copy()
            if (s == s[0]).all():
                image_size = (float(s[0, 0]), float(s[0, 1]))
        K = None
        if "K" in z.files:
            K = _numeric(_array(z, "K"), "K")
            if K.shape == (3, 3):
                K = np.broadcast_to(K, (n, 3, 3)).copy()
            if K.shape != (n, 3, 3):
                raise InputError(f"'K' must have shape (3, 3) or ({n}, 3, 3), got {K.shape}")
            zero = ~K.any(axis=(1, 2))
            if zero.all():
                K = None  # uncalibrated driver: estimate it
            elif zero.any():
                raise InputError(
                    f"'K' is all zero for {int(zero.sum())} of {n} people; give all or none"
                )
            elif (K[:, 0, 0] <= 0).any() or (K[:, 1, 1] <= 0).any():
                raise InputError("'K' has a non-positive focal length (fx or fy <= 0)")
        if K is None and image_sizes is None:
            raise InputError("no usable 'K' and no 'image_size' to estimate it from")
        gt = None
        if "joints_3d_gt" in z.files:
            gt = _numeric(_array(z, "joints_3d_gt"), "joints_3d_gt")
            if gt.shape != (n, len(JOINT_NAMES), 3):
                raise InputError(
                    f"'joints_3d_gt' must have shape ({n}, {len(JOINT_NAMES)}, 3), got {gt.shape}"
                )
    return LiftInput(kp, layout, scores, K, image_size, gt, image_sizes)


def npz_path(path: str) -> str:
    """The file an npz writer writes for `path`: `path` itself when it ends in .npz, else with
    .npz appended (as numpy's savez does)."""
    return path if path.endswith(".npz") else path + ".npz"


def write_lift_output(
    path: str,
    joints_3d: np.ndarray,
    K: np.ndarray,
    K_estimated: np.ndarray,
    reprojection_error_px: np.ndarray,
    dropped_reason: Optional[np.ndarray] = None,
) -> str:
    """Write OUT.npz atomically (creating the parent folder); returns the path written,
    `npz_path(path)`. dropped_reason (N,) str: why a row is no result (plausibility.REASONS; its
    joints are NaN), "" for a result; None: every row is one."""
    path = npz_path(path)
    n = len(joints_3d)
    reasons = np.full(n, "") if dropped_reason is None else np.asarray(dropped_reason, dtype=str)
    with atomic_path(path) as tmp:
        np.savez(
            tmp,
            joints_3d=joints_3d.astype(np.float64),
            joint_names=np.array(JOINT_NAMES),
            K=K.astype(np.float64),
            K_estimated=K_estimated.astype(bool),
            reprojection_error_px=reprojection_error_px.astype(np.float64),
            dropped_reason=reasons,
        )
    return path


def write_lift_input(
    path: str,
    keypoints: np.ndarray,
    scores: np.ndarray,
    image_size: Union[Tuple[float, float], np.ndarray],
    K: Optional[np.ndarray] = None,
    layout: str = "h36m17",
) -> str:
    """Write an IN.npz that `read_lift_input` accepts (what `estimate --keypoints-out` saves for
    `lift` and `adapt`): keypoints (N, J, 2) px, scores (N, J), image_size (width, height) px,
    or (N, 2) when the people's images differ in size, and K (N, 3, 3) when
    the camera is calibrated (omitted when it is not, so readers estimate it). Returns the path
    written, `npz_path(path)`; the file is written atomically."""
    path = npz_path(path)
    arrays = {
        "keypoints": np.asarray(keypoints, dtype=np.float64),
        "scores": np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0),
        "layout": np.array(layout),
        "image_size": np.asarray(image_size, dtype=np.float64),
    }
    if K is not None:
        arrays["K"] = np.asarray(K, dtype=np.float64)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    return path
