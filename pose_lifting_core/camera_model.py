"""The camera model a frame is lifted with, chosen from a calibration by one rule.

Owns: the intrinsics and distortion policy that pose_lifter, keypoint_lifter and
`pose-lifting estimate --camera-info` share (`camera_model`): which numbers of a calibration (a
ROS CameraInfo or a camera_calibration YAML, both read into a `Calibration`) are used, and a
warning line naming every part that is not used and why. image_geometry's semantics:
  - A raw image: K and the distortion D. D of the models plumb_bob, rational_polynomial and
    equidistant, non-zero, is applied (keypoints are undistorted before lifting).
  - A rectified image (image_proc's image_rect): the left 3x3 of the projection matrix P, and no
    distortion (D describes the raw image). R and P's fourth column (a stereo baseline) are not
    used: positions are in the rectified image's own optical frame.
  - A K (or P) that cannot be this image's camera (camera.intrinsics_problem: all zero, NaN,
    skew, implausible focal length or principal point) or a calibration for another image size:
    the field-of-view prior instead (the pipeline flags it estimated).
  - A D that cannot be applied (camera.distortion_problem: an unknown model, NaN or infinity, a
    coefficient count the model does not take, one that would move an image corner by more than
    a quarter of the diagonal): no undistortion; K is still used.
  - A calibration whose frame_id is not the input's (both stated): used, and named.

Shapes and units: K (3, 3) and P (3, 4) pixels; D (k,) unitless; image sizes (width, height)
pixels. Pure: numpy (and OpenCV through camera.distortion_problem); no ROS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from pose_lifting_core.camera import DEFAULT_HFOV_DEG, distortion_problem, intrinsics_problem


@dataclass(frozen=True)
class Calibration:
    """A camera calibration as sensor_msgs/CameraInfo and camera_calibration YAML hold it.

    K (3, 3) pixels; D (k,) distortion coefficients of `distortion_model`; width and height in
    pixels, 0 where not stated; frame_id the camera's optical frame, "" where not stated; P
    (3, 4) pixels, the projection matrix of the rectified image, None where not given."""

    K: np.ndarray
    D: np.ndarray = field(default_factory=lambda: np.zeros(0))
    distortion_model: str = "plumb_bob"
    width: int = 0
    height: int = 0
    frame_id: str = ""
    P: Optional[np.ndarray] = None


@dataclass(frozen=True)
class CameraModel:
    """What a frame is lifted with. K (3, 3) pixels, or None: the field-of-view prior (the
    calibration, or part of it, cannot be used); distortion (model, D (k,)) to undistort the
    keypoints with, or None; image_size (width, height) pixels: the image's, or the
    calibration's where the image's is not known; problems: one warning line per part of the
    calibration that is not used as given, naming why and what is done instead."""

    K: Optional[np.ndarray]
    distortion: Optional[Tuple[str, np.ndarray]]
    image_size: Tuple[int, int]
    problems: Tuple[str, ...] = ()


def camera_model(
    calib: Calibration,
    image_size: Optional[Tuple[int, int]] = None,
    hfov_deg: float = DEFAULT_HFOV_DEG,
    name: str = "CameraInfo",
    frame_id: str = "",
    input_name: str = "image",
    rectified: bool = False,
) -> CameraModel:
    """The camera model of a frame of `image_size` (width, height) pixels (None or zeros: not
    known, the calibration's is taken), in optical frame `frame_id` ("": not stated), seen with
    calibration `calib`, by the module's rule: `rectified` False, a raw image (K and D); True, a
    rectified one (P's left 3x3, no D). `hfov_deg` (the prior's field of view), `name`
    (what the calibration is called) and `input_name` (what the frame is) only word the
    problems. Never raises for bad numbers: it names them."""
    prior = f"intrinsics estimated from a {hfov_deg:g} deg field of view"
    problems = []
    if frame_id and calib.frame_id and calib.frame_id != frame_id:
        problems.append(
            f"{name} frame_id {calib.frame_id!r} is not the {input_name}'s {frame_id!r}: "
            "its intrinsics are used anyway"
        )
    cw, ch = int(calib.width), int(calib.height)
    known = image_size is not None and all(image_size)
    w, h = (int(image_size[0]), int(image_size[1])) if known else (cw, ch)
    if known and cw and ch and (cw, ch) != (w, h):
        problems.append(f"{name} is for {cw}x{ch} but the {input_name} is {w}x{h}: {prior}")
        return CameraModel(None, None, (w, h), tuple(problems))
    if rectified:
        P = None if calib.P is None else np.asarray(calib.P, dtype=np.float64)
        if P is None or P.size != 12:
            problems.append(
                f"{name} has no 3x4 projection matrix P, which a rectified image needs: {prior}"
            )
            return CameraModel(None, None, (w, h), tuple(problems))
        K = P.reshape(3, 4)[:, :3]
        bad = intrinsics_problem(K, w, h)  # "K is ...": named "P's left 3x3 is ..." below
        bad = None if bad is None else f"P's left 3x3{bad[1:]}"
    else:
        K = np.asarray(calib.K, dtype=np.float64)
        bad = intrinsics_problem(K, w, h)
    if bad is not None:
        problems.append(f"{name} {bad}: {prior}")
        return CameraModel(None, None, (w, h), tuple(problems))
    D = np.asarray(calib.D, dtype=np.float64).ravel()
    distortion = None
    if not rectified and D.size and D.any():  # NaN counts as some distortion
        model = str(calib.distortion_model)
        bad = distortion_problem(model, D, K, w, h)
        if bad is None:
            distortion = (model, D)
        else:
            problems.append(f"{name} distortion unusable ({bad}): keypoints not undistorted")
    return CameraModel(K, distortion, (w, h), tuple(problems))


def load_calibration_yaml(path: str) -> Calibration:
    """The camera_info YAML that ROS camera_calibration writes, as a Calibration: K, D, the
    distortion model and size (camera.load_camera_info_yaml, with its checks) and P from
    `projection_matrix` (None when the file has none). Raises ValueError naming the problem for
    an unreadable file, missing fields, an invalid camera matrix or a P that is not 3x4."""
    import yaml

    from pose_lifting_core.camera import load_camera_info_yaml

    intr, (width, height), model, D = load_camera_info_yaml(path)
    with open(path) as fh:
        doc = yaml.safe_load(fh)
    P = None
    if doc.get("projection_matrix") is not None:
        try:
            P = np.asarray(doc["projection_matrix"]["data"], dtype=np.float64).reshape(3, 4)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"camera_info {path} has a projection_matrix whose data is not 3x4 numbers"
            ) from exc
    return Calibration(intr.K, D, model, width, height, P=P)
