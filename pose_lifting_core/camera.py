"""The pinhole camera in the optical frame (REP-103/105: x right, y down, z forward).

Owns: intrinsics (fx, fy, cx, cy in pixels), K matrices, normalisation by K⁻¹, projection and
back-projection, and the field-of-view prior used when K is unknown.

Shapes: points (..., 3) in metres in the camera optical frame; pixels (..., 2); K (3, 3) or
(N, 3, 3), broadcast against the leading axis of the points when it is N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

DEFAULT_HFOV_DEG = 60.0
"""Default horizontal field-of-view prior (degrees) when no calibration is given: typical of
webcams and robot RGB cameras (RealSense D435 colour 69°, Logitech C920 70°, Kinect v2 84°,
narrower industrial lenses). See docs/CAMERA.md for what the prior costs."""

HFOV_RANGE_DEG = (10.0, 170.0)
"""The fields of view (degrees) a user may give the prior: the CLI's `--hfov` and the nodes'
`fallback_hfov_deg`. Outside it a "prior" is a unit mistake (0.0001 placed people kilometres
away)."""

IMAGE_SIDE_RANGE_PX = (16, 100_000)
"""Plausible image sides (pixels) where an image size is stated rather than measured (the `lift`
input's image_size, a Keypoints2DArray's width and height): smaller holds no person, larger is
no camera's image (a 1x1 or 1e15 px "image" made the prior's focal length absurd)."""


def stated_image_size_problem(width: float, height: float) -> Optional[str]:
    """Why a stated image size (width, height) pixels cannot be a camera image's, or None: each
    side must be finite and within IMAGE_SIDE_RANGE_PX."""
    lo, hi = IMAGE_SIDE_RANGE_PX
    if all(np.isfinite([width, height])) and lo <= width <= hi and lo <= height <= hi:
        return None
    return f"image size {width:g}x{height:g} px is implausible: each side must be {lo}-{hi:g} px"


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels; `estimated` is True when they come from a prior/estimate."""

    fx: float
    fy: float
    cx: float
    cy: float
    estimated: bool = False

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @staticmethod
    def from_K(K: np.ndarray, estimated: bool = False) -> "Intrinsics":
        K = np.asarray(K, dtype=np.float64)
        return Intrinsics(
            float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), estimated
        )


def intrinsics_from_fov(width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> Intrinsics:
    """The field-of-view prior: square pixels, principal point at the image centre, flagged
    estimated. width/height in pixels, hfov_deg the horizontal field of view in (0, 180)."""
    if not (width > 0 and height > 0):
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if not (0.0 < hfov_deg < 180.0):
        raise ValueError(f"field of view must be in (0, 180) degrees, got {hfov_deg}")
    f = 0.5 * width / math.tan(math.radians(hfov_deg) / 2.0)
    return Intrinsics(f, f, width / 2.0, height / 2.0, estimated=True)


FOCAL_RANGE_PER_WIDTH = (0.05, 20.0)
"""Plausible focal lengths, in image widths: about 170 degrees of horizontal field of view down
to about 3 degrees. A K outside this is a unit or calibration error, not a lens."""

MAX_CORNER_SHIFT = 0.25
"""Largest plausible move of an image corner by undistortion, as a fraction of the diagonal."""


def _form_problem(K: np.ndarray) -> Optional[str]:
    """Why K cannot be a pinhole camera matrix of any image, or None: the shape, all zero,
    non-finite, non-positive focal lengths, skew or a last row other than (0, 0, 1)."""
    if K.shape != (3, 3):
        return f"K has shape {K.shape}, not (3, 3)"
    if not K.any():
        return "K is all zero (uncalibrated camera)"
    if not np.isfinite(K).all():
        return "K contains NaN or infinity"
    fx, fy = K[0, 0], K[1, 1]
    if fx <= 0 or fy <= 0:
        return f"K has non-positive focal lengths fx={fx:g}, fy={fy:g}"
    if K[0, 1] != 0 or K[1, 0] != 0 or tuple(K[2]) != (0.0, 0.0, 1.0):
        return "K has skew or a last row other than (0, 0, 1)"
    return None


def intrinsics_problem(K: np.ndarray, width: int, height: int) -> Optional[str]:
    """Why K (3, 3) cannot be the camera of a width x height image, or None when it can. Checks
    that K is finite, not all zero, has the form [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (no skew),
    focal lengths within FOCAL_RANGE_PER_WIDTH image widths, and the principal point at most
    half the image size outside the image.

    Without an image size (width or height 0) K is judged against the image its principal point
    implies, 2 cx x 2 cy pixels: cx and cy must be positive, that image's sides within
    IMAGE_SIDE_RANGE_PX and the focal lengths within FOCAL_RANGE_PER_WIDTH of its width (a K
    with cx = 1e9 or fx = 1e-6 is no camera's, size or not)."""
    K = np.asarray(K, dtype=np.float64)
    bad = _form_problem(K)
    if bad is not None:
        return bad
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    implied = not (width > 0 and height > 0)
    if implied:
        if not (cx > 0 and cy > 0):
            return (
                f"K's principal point ({cx:g}, {cy:g}) is not inside an image, and no image "
                "size is given to judge it by"
            )
        width, height = 2.0 * cx, 2.0 * cy
        if stated_image_size_problem(width, height) is not None:
            return (
                f"K's principal point ({cx:g}, {cy:g}) implies an implausible "
                f"{width:g}x{height:g} px image"
            )
    lo, hi = FOCAL_RANGE_PER_WIDTH
    if not (lo * width <= fx <= hi * width and lo * width <= fy <= hi * width):
        what = (
            f"the {width:g} px wide image its principal point implies"
            if implied
            else f"a {width:g} px wide image"
        )
        return (
            f"K's focal lengths fx={fx:g}, fy={fy:g} px are implausible for {what} "
            f"(expected {lo:g}-{hi:g} image widths)"
        )
    if not (-0.5 * width <= cx <= 1.5 * width and -0.5 * height <= cy <= 1.5 * height):
        return (
            f"K's principal point ({cx:g}, {cy:g}) is more than half the image size outside a "
            f"{width:g}x{height:g} image"
        )
    return None


def distortion_problem(
    model: str, D: np.ndarray, K: np.ndarray, width: int, height: int
) -> Optional[str]:
    """Why distortion `model` with coefficients D cannot be applied (None when it can): an
    unsupported model, non-finite coefficients, a count the model does not take, or
    undistortion that would move an image corner by more than MAX_CORNER_SHIFT of the diagonal."""
    D = np.asarray(D, dtype=np.float64).ravel()
    if model not in DISTORTION_MODELS:
        return (
            f"unsupported distortion model {model!r} (supported: {', '.join(DISTORTION_MODELS)})"
        )
    if not np.isfinite(D).all():
        return "distortion coefficients contain NaN or infinity"
    sizes = (4,) if model == "equidistant" else (4, 5, 8, 12, 14)
    if D.size not in sizes:
        return f"{model} distortion takes {', '.join(map(str, sizes))} coefficients, got {D.size}"
    corners = np.array([[0.0, 0.0], [width, 0.0], [0.0, height], [width, height]])
    import cv2

    try:
        moved = undistort_pixels(corners, K, D, model)
    except (ValueError, cv2.error) as exc:
        return f"distortion cannot be applied: {exc}"
    shift = np.linalg.norm(moved - corners, axis=-1).max() if np.isfinite(moved).all() else np.inf
    if shift > MAX_CORNER_SHIFT * np.hypot(width, height):
        return (
            f"distortion {D.tolist()} would move an image corner by {shift:.0f} px "
            f"(more than {MAX_CORNER_SHIFT:g} of the image diagonal)"
        )
    return None


def K_is_valid(K: np.ndarray, width: int = 0, height: int = 0) -> bool:
    """True when `intrinsics_problem` finds nothing (image size 0: judged against the image the
    principal point implies)."""
    return intrinsics_problem(K, width, height) is None


_DIAG2 = ([0, 1], [0, 1])


def _float(a):
    """`a` as a float64 numpy array, unless it is already a torch tensor (self-supervised
    adaptation differentiates through these functions), which passes through unchanged."""
    return a if type(a).__module__.startswith("torch") else np.asarray(a, dtype=np.float64)


def _focal_centre(K, ndim_points: int):
    """(fx, fy) and (cx, cy) of K, shaped to broadcast against (..., 2) pixel arrays with a
    leading N axis when K is (N, 3, 3)."""
    K = _float(K)
    if K.ndim == 2:
        return K[_DIAG2], K[:2, 2]
    shape = (len(K),) + (1,) * (ndim_points - 2) + (2,)
    return K[:, [0, 1], [0, 1]].reshape(shape), K[:, :2, 2].reshape(shape)


def normalize(pixels: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) -> normalised image coordinates K⁻¹[u, v, 1] (..., 2) (tangents, unitless).

    With K (N, 3, 3), pixels must have a leading N axis (N, ..., 2). numpy or torch in, the
    same out."""
    px = _float(pixels)
    f, c = _focal_centre(K, px.ndim)
    return (px - c) / f


def denormalize(xy: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Inverse of `normalize`: normalised coordinates (..., 2) -> pixels (..., 2)."""
    xy = _float(xy)
    f, c = _focal_centre(K, xy.ndim)
    return xy * f + c


def mirror_pixels(pixels: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) mirrored about the camera's vertical plane (u -> 2 cx - u): where the
    scene mirrored through the optical frame's y-z plane (x -> -x) would be seen. Its own
    inverse. K as in `normalize`."""
    return denormalize(normalize(pixels, K) * np.array([-1.0, 1.0]), K)


def project(points: np.ndarray, K: np.ndarray, min_depth: Optional[float] = None) -> np.ndarray:
    """Camera-frame points (..., 3) metres -> pixels (..., 2). Points need z > 0, or depths are
    raised to `min_depth` when it is given (a point behind the camera then gives no inf)."""
    p = _float(points)
    z = p[..., 2:3] if min_depth is None else p[..., 2:3].clip(min=min_depth)
    return denormalize(p[..., :2] / z, K)


def backproject(pixels: np.ndarray, depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) and depths z (...,) metres -> camera-frame points (..., 3) metres."""
    xy = normalize(pixels, K)
    z = np.asarray(depth, dtype=np.float64)[..., None]
    return np.concatenate([xy * z, z], -1)


def load_camera_info_yaml(path: str) -> tuple:
    """Read the camera_info YAML that ROS camera_calibration writes.

    Returns (Intrinsics, (width, height), distortion_model, D (k,)). Raises ValueError naming
    the problem for an unreadable file, missing fields or an invalid camera matrix."""
    import yaml

    try:
        with open(path) as fh:
            doc = yaml.safe_load(fh)
    except OSError as exc:
        raise ValueError(f"cannot read camera_info {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"camera_info {path} is not valid YAML") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"camera_info {path} is not a YAML mapping")
    try:
        K = np.asarray(doc["camera_matrix"]["data"], dtype=np.float64).reshape(3, 3)
        size = (int(doc["image_width"]), int(doc["image_height"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"camera_info {path} lacks a 3x3 camera_matrix.data or image_width/height"
        ) from exc
    if _form_problem(K) is not None:  # the file's size is checked against K by camera_model
        raise ValueError(
            f"camera_info {path} has an invalid camera matrix "
            "(zero, NaN or non-positive focal length)"
        )
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"camera_info {path} has a non-positive image size {size}")
    dist = doc.get("distortion_coefficients") or {}
    D = np.asarray(dist.get("data", []) if isinstance(dist, dict) else [], dtype=np.float64)
    return Intrinsics.from_K(K), size, str(doc.get("distortion_model", "plumb_bob")), D


DISTORTION_MODELS = ("plumb_bob", "rational_polynomial", "equidistant")


def undistort_pixels(
    pixels: np.ndarray, K: np.ndarray, D: np.ndarray, model: str = "plumb_bob"
) -> np.ndarray:
    """Remove lens distortion from pixel positions (..., 2): returns where each point would be
    seen by the ideal pinhole camera with the same K. `model` is the CameraInfo distortion_model:
    plumb_bob / rational_polynomial (OpenCV's radial-tangential model, 4-8+ coefficients) or
    equidistant (fisheye, 4 coefficients). Raises ValueError for another model or a bad D."""
    import cv2

    D = np.asarray(D, dtype=np.float64).reshape(-1)
    px = np.asarray(pixels, dtype=np.float64)
    if D.size == 0 or not D.any():
        return px.copy()
    if not np.isfinite(D).all():
        raise ValueError("distortion coefficients contain NaN or infinity")
    if model not in DISTORTION_MODELS:
        raise ValueError(
            f"unsupported distortion model {model!r} (supported: {', '.join(DISTORTION_MODELS)})"
        )
    K = np.asarray(K, dtype=np.float64)
    pts = px.reshape(-1, 1, 2)
    if model == "equidistant":
        if D.size != 4:
            raise ValueError(f"equidistant distortion needs 4 coefficients, got {D.size}")
        out = cv2.fisheye.undistortPoints(pts, K, D, P=K)
    else:
        if D.size not in (4, 5, 8, 12, 14):
            raise ValueError(
                f"{model} distortion needs 4, 5, 8, 12 or 14 coefficients, got {D.size}"
            )
        out = cv2.undistortPoints(pts, K, D, P=K)
    return out.reshape(px.shape)
