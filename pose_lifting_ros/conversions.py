"""Conversions between ROS messages and numpy arrays / core results.

Owns: sensor_msgs/Image -> RGB array (every common encoding, checked against size and step),
sensor_msgs/CompressedImage -> RGB array, CameraInfo -> camera_model.Calibration (what of it is
used is decided in the core), Keypoints2DArray -> arrays, FrameResult -> Skeleton3DArray, and
arrays -> Image/CameraInfo (for video_source).
Every failure raises ConversionError with a message that names the problem.
"""

from __future__ import annotations

import io
from typing import Optional, Tuple

import numpy as np

from pose_lifting_core.detection import image_size_problem

from pose_lifting_core.skeleton import JOINT_NAMES


class ConversionError(ValueError):
    """A message that cannot be converted; the text names the field and the problem."""


# encoding -> (channels, numpy dtype)
_ENCODINGS = {
    "rgb8": (3, np.uint8),
    "bgr8": (3, np.uint8),
    "rgba8": (4, np.uint8),
    "bgra8": (4, np.uint8),
    "mono8": (1, np.uint8),
    "8UC1": (1, np.uint8),
    "8UC3": (3, np.uint8),
    "mono16": (1, np.uint16),
    "16UC1": (1, np.uint16),
    "yuv422": (2, np.uint8),
    "uyvy": (2, np.uint8),
    "yuv422_yuy2": (2, np.uint8),
    "yuyv": (2, np.uint8),
}
SUPPORTED_ENCODINGS = tuple(_ENCODINGS)


def image_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) uint8 RGB. Zero-copy view for rgb8 with a tight step.

    Raises ConversionError for an unsupported encoding, zero size, an odd width in a YUV 4:2:2
    encoding, a step smaller than a row, or data shorter than height * step."""
    enc = msg.encoding
    if enc not in _ENCODINGS:
        raise ConversionError(
            f"unsupported image encoding {enc!r} (supported: {', '.join(SUPPORTED_ENCODINGS)})"
        )
    ch, dtype = _ENCODINGS[enc]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if image_size_problem(w, h):
        raise ConversionError(image_size_problem(w, h))
    if h == 0 or w == 0:
        raise ConversionError(f"empty image ({w}x{h})")
    if ch == 2 and w % 2:  # YUV 4:2:2 packs two pixels into 4 bytes
        raise ConversionError(f"{enc} images need an even width, got {w}")
    row = w * ch * np.dtype(dtype).itemsize
    if step < row:
        raise ConversionError(
            f"image step {step} is smaller than a row ({w} px x {ch} ch = {row} bytes)"
        )
    data = msg.data
    buf = (
        np.frombuffer(data, dtype=np.uint8)
        if not isinstance(data, np.ndarray)
        else data.view(np.uint8)
    )
    if buf.size < h * step:
        raise ConversionError(
            f"image data has {buf.size} bytes, expected height x step = {h * step}"
        )
    rows = buf[: h * step].reshape(h, step)[:, :row]
    img = (
        rows.view(dtype).reshape(h, w, ch)
        if dtype == np.uint8
        else rows.copy().view(dtype).reshape(h, w, ch)
    )
    if dtype == np.uint16:
        if msg.is_bigendian != (np.little_endian is False):
            img = img.byteswap()
        img = (img >> 8).astype(np.uint8)
    import cv2

    if enc in ("rgb8", "8UC3"):
        return img
    if enc == "bgr8":
        return img[..., ::-1]
    if enc == "rgba8":
        return img[..., :3]
    if enc == "bgra8":
        return img[..., 2::-1]
    if ch == 1:
        return np.repeat(img, 3, axis=2)
    code = cv2.COLOR_YUV2RGB_UYVY if enc in ("yuv422", "uyvy") else cv2.COLOR_YUV2RGB_YUY2
    return cv2.cvtColor(np.ascontiguousarray(img), code)


def compressed_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> (H, W, 3) uint8 RGB."""
    import cv2

    data = bytes(msg.data)
    if not data:
        raise ConversionError("empty compressed image")
    from pose_lifting_core.media import encoded_size_problem

    too_big = encoded_size_problem(io.BytesIO(data))  # from the header, before decoding
    if too_big:
        raise ConversionError(too_big)
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConversionError(f"cannot decode compressed image (format {msg.format!r})")
    return bgr[..., ::-1]


def calibration_from_camera_info(msg):
    """sensor_msgs/CameraInfo -> camera_model.Calibration (K (3, 3), D, distortion model, size,
    frame_id, P (3, 4)), as given: what of it is used is camera_model.camera_model's decision."""
    from pose_lifting_core.camera_model import Calibration

    return Calibration(
        K=np.asarray(msg.k, dtype=np.float64).reshape(3, 3),
        D=np.asarray(msg.d, dtype=np.float64).ravel(),
        distortion_model=str(msg.distortion_model),
        width=int(msg.width),
        height=int(msg.height),
        frame_id=str(msg.header.frame_id),
        P=np.asarray(msg.p, dtype=np.float64).reshape(3, 4),
    )


def camera_info_problem(msg, image_size: Optional[Tuple[int, int]] = None) -> Optional[str]:
    """Why a CameraInfo's K cannot be used as given (None when it can), by
    camera_model.camera_model: camera.intrinsics_problem (zero, NaN, skew, implausible focal
    length or principal point) or a size other than the image's."""
    from pose_lifting_core.camera_model import camera_model

    cam = camera_model(calibration_from_camera_info(msg), image_size)
    return None if cam.K is not None else cam.problems[0]


def keypoints_from_msg(msg) -> Tuple[np.ndarray, np.ndarray, np.ndarray, str, Tuple[int, int]]:
    """Keypoints2DArray -> (keypoints (N, J, 2), scores (N, J), ids (N,), person scores (N,),
    layout, (w, h))."""
    from pose_lifting_core.skeleton import layout_num_joints

    try:
        nj = layout_num_joints(msg.layout)
    except ValueError as exc:
        raise ConversionError(str(exc)) from exc
    n = len(msg.people)
    kp = np.zeros((n, nj, 2))
    sc = np.zeros((n, nj))
    for i, person in enumerate(msg.people):
        if len(person.keypoints) != nj:
            raise ConversionError(
                f"person {i} has {len(person.keypoints)} keypoints; layout {msg.layout} needs {nj}"
            )
        a = np.array(
            [(k.x, k.y, k.confidence) for k in person.keypoints], dtype=np.float64
        ).reshape(nj, 3)
        kp[i], sc[i] = a[:, :2], a[:, 2]
    bad = ~np.isfinite(kp).all(-1) | ~np.isfinite(sc)
    sc = np.where(bad, 0.0, np.clip(sc, 0.0, 1.0))
    kp = np.where(bad[..., None], 0.0, kp)
    ids = np.array([p.id for p in msg.people], dtype=np.int64)
    person_scores = np.array([p.score for p in msg.people], dtype=np.float64)
    return kp, sc, ids, person_scores, msg.layout, (int(msg.width), int(msg.height))


def points(xyz: np.ndarray) -> list:
    """(J, 3) metres -> [geometry_msgs/Point] (filled from a list: cheaper than per-element
    float())."""
    from geometry_msgs.msg import Point

    return [Point(x=x, y=y, z=z) for x, y, z in np.asarray(xyz, dtype=np.float64).tolist()]


def person_points(frame) -> list:
    """[points(joints_3d)] per person of a FrameResult: built once per frame and shared by the
    skeleton message and the markers (publishing copies them)."""
    return [points(p.joints_3d) for p in frame.persons]


def frame_to_msg(frame, header, positions: Optional[list] = None):
    """FrameResult -> pose_lifting/Skeleton3DArray stamped with the input's header, with
    joint_names = JOINT_NAMES (the order of every skeleton's arrays and of Skeleton3D's joint
    constants). positions: `person_points(frame)` when the caller has it already."""
    from pose_lifting.msg import Keypoint2D, Skeleton3D, Skeleton3DArray

    out = Skeleton3DArray()
    out.header = header
    out.k = np.asarray(frame.intrinsics.K, dtype=np.float64).reshape(9)
    out.width, out.height = int(frame.image_size[0]), int(frame.image_size[1])
    out.intrinsics_estimated = bool(frame.intrinsics.estimated)
    out.joint_names = list(JOINT_NAMES)
    if positions is None:
        positions = person_points(frame)
    for p, pts in zip(frame.persons, positions):
        s = Skeleton3D(
            id=int(p.id),
            reprojection_error_px=float(p.reprojection_error_px),
            score=float(p.score),
        )
        s.positions = pts
        conf = np.asarray(p.confidence, dtype=np.float64).tolist()
        s.confidence = conf
        s.keypoints_2d = [
            Keypoint2D(x=u, y=v, confidence=c)
            for (u, v), c in zip(np.asarray(p.keypoints_2d, dtype=np.float64).tolist(), conf)
        ]
        out.skeletons.append(s)
    return out


def rgb_to_image(rgb: np.ndarray, header):
    """(H, W, 3) uint8 RGB -> sensor_msgs/Image rgb8."""
    from sensor_msgs.msg import Image

    msg = Image()
    msg.header = header
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = int(rgb.shape[1] * 3)
    msg.data = np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()
    return msg


def K_to_camera_info(K: np.ndarray, width: int, height: int, header):
    """Pinhole intrinsics -> sensor_msgs/CameraInfo (no distortion, P = [K | 0])."""
    from sensor_msgs.msg import CameraInfo

    msg = CameraInfo()
    msg.header = header
    msg.width, msg.height = int(width), int(height)
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = [float(v) for v in np.asarray(K, dtype=np.float64).reshape(-1)]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    P = np.zeros((3, 4))
    P[:, :3] = K
    msg.p = [float(v) for v in P.reshape(-1)]
    return msg


def msg_to_frame(msg):
    """Skeleton3DArray -> FrameResult (for recording and rendering what a node published).

    Raises ConversionError when the message's joint_names are not JOINT_NAMES (a publisher of
    another joint order); an empty joint_names is read as JOINT_NAMES."""
    from pose_lifting_core.camera import Intrinsics
    from pose_lifting_core.pipeline import FrameResult, Person3D

    names = list(msg.joint_names)
    if names and names != list(JOINT_NAMES):
        raise ConversionError(
            f"Skeleton3DArray joint_names {names} are not this package's {list(JOINT_NAMES)}"
        )
    persons = []
    for s in msg.skeletons:
        kp = np.array([(k.x, k.y) for k in s.keypoints_2d], dtype=np.float64).reshape(-1, 2)
        conf = np.array(s.confidence, dtype=np.float64)
        valid = kp[conf > 0] if (conf > 0).any() else kp
        box = np.concatenate([valid.min(0), valid.max(0)]) if len(valid) else np.zeros(4)
        joints = np.array([(p.x, p.y, p.z) for p in s.positions], dtype=np.float64).reshape(-1, 3)
        persons.append(
            Person3D(
                int(s.id), float(s.score), box, kp, conf, joints, float(s.reprojection_error_px)
            )
        )
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    t = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
    return FrameResult(
        0,
        t,
        Intrinsics.from_K(K, bool(msg.intrinsics_estimated)),
        (int(msg.width), int(msg.height)),
        persons,
    )
