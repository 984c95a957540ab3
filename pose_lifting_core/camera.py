"""The pinhole camera in the optical frame (REP-103/105: x right, y down, z forward).

Owns: intrinsics (fx, fy, cx, cy in pixels), K matrices, normalisation by K⁻¹, projection and
back-projection, and the field-of-view prior used when K is unknown.

Shapes: points (..., 3) in metres in the camera optical frame; pixels (..., 2); K (3, 3) or
(N, 3, 3), broadcast against the leading axis of the points when it is N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_HFOV_DEG = 60.0
"""Default horizontal field-of-view prior (degrees) when no calibration is given: typical of
webcams and robot RGB cameras (RealSense D435 colour 69°, Logitech C920 70°, Kinect v2 84°,
narrower industrial lenses). See docs/CAMERA.md for what the prior costs."""


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


def K_is_valid(K: np.ndarray) -> bool:
    """True for a finite K with positive focal lengths (the all-zero K of uncalibrated drivers,
    NaN or negative focal lengths are invalid)."""
    K = np.asarray(K, dtype=np.float64)
    return K.shape == (3, 3) and bool(np.isfinite(K).all()) and K[0, 0] > 0 and K[1, 1] > 0


_DIAG2 = ([0, 1], [0, 1])


def _focal_centre(K: np.ndarray, ndim_points: int):
    """(fx, fy) and (cx, cy) of K, shaped to broadcast against (..., 2) pixel arrays with a
    leading N axis when K is (N, 3, 3)."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim == 2:
        return K[_DIAG2], K[:2, 2]
    shape = (len(K),) + (1,) * (ndim_points - 2) + (2,)
    return K[:, [0, 1], [0, 1]].reshape(shape), K[:, :2, 2].reshape(shape)


def normalize(pixels: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) -> normalised image coordinates K⁻¹[u, v, 1] (..., 2) (tangents, unitless).

    With K (N, 3, 3), pixels must have a leading N axis (N, ..., 2)."""
    px = np.asarray(pixels, dtype=np.float64)
    f, c = _focal_centre(K, px.ndim)
    return (px - c) / f


def denormalize(xy: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Inverse of `normalize`: normalised coordinates (..., 2) -> pixels (..., 2)."""
    xy = np.asarray(xy, dtype=np.float64)
    f, c = _focal_centre(K, xy.ndim)
    return xy * f + c


def project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Camera-frame points (..., 3) metres -> pixels (..., 2). Points need z > 0."""
    p = np.asarray(points, dtype=np.float64)
    return denormalize(p[..., :2] / p[..., 2:3], K)


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
    if not K_is_valid(K):
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
