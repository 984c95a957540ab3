"""Serialized Skeleton3DArray, MarkerArray and TFMessage, written straight from a frame's arrays.

Owns: the CDR bytes of the three outputs, for rclpy's `Publisher.publish(bytes)`. Building
Python message objects and rclpy's conversion of them cost about 0.5 ms per frame right after
the detector (docs/BENCHMARKS.md, "end to end"); writing the bytes from the arrays skips both.
Subscribers receive ordinary messages: the bytes are what rclpy.serialization.serialize_message
gives for the same message, which `matches_rclpy()` checks on a sample frame. The nodes publish
these bytes only when that check passes (a ROS distro whose Marker has other fields fails it, and
the nodes then publish message objects); tests compare the two for many frames.

Format: CDR, little endian, as rmw serializes ROS 2 messages: a 4-byte encapsulation header, then
the fields in declaration order. Each number is aligned to its own size (counted from the end of
the header), a string is a uint32 length (with the NUL) then its bytes and a NUL, and a sequence
is a uint32 count then its elements.
"""
from __future__ import annotations

import struct
from typing import List, Optional, Sequence, Tuple

import numpy as np

from pose_lifting_core.skeleton import JOINT_NAMES

_ENCAPSULATION = b"\x00\x01\x00\x00"    # CDR, little endian
_U32 = struct.Struct("<I")
_STAMP = struct.Struct("<iI")
_K_SIZE_FLAG = struct.Struct("<9dII?")                       # k, width, height, intrinsics_estimated
_ID_TYPE_ACTION = struct.Struct("<iii")
_POSE_SCALE = struct.Struct("<10d")                          # position, orientation, scale
_COLOUR_LIFETIME_LOCKED = struct.Struct("<4fiI?")           # color, lifetime, frame_locked
_SCORES = struct.Struct("<ff")                               # reprojection_error_px, score
_TRANSFORM = struct.Struct("<7d")                            # translation, rotation (x, y, z, w)

# visualization_msgs/Marker's types and actions used here (matches_rclpy checks them too)
LINE_LIST, SPHERE_LIST, TEXT_VIEW_FACING = 5, 7, 9
ADD, DELETEALL = 0, 3


class _Cdr:
    """A CDR byte string under construction: pieces and the offset the next one starts at."""

    __slots__ = ("parts", "off", "padding")

    def __init__(self, padding: Optional[list] = None) -> None:
        self.parts: List[bytes] = [_ENCAPSULATION]
        self.off = 0
        self.padding = padding       # when a list: gets (start, end) of each padding, in bytes

    def align(self, n: int) -> None:
        pad = -self.off % n
        if pad:
            if self.padding is not None:
                start = len(_ENCAPSULATION) + self.off
                self.padding.append((start, start + pad))
            self.parts.append(b"\x00" * pad)
            self.off += pad

    def put(self, data: bytes, alignment: int = 1) -> None:
        """Append data whose first element needs `alignment`."""
        if alignment > 1:
            self.align(alignment)
        self.parts.append(data)
        self.off += len(data)

    def string(self, text: bytes) -> None:
        """A UTF-8 string (bytes without the NUL)."""
        self.put(_U32.pack(len(text) + 1), 4)
        self.put(text + b"\x00")

    def count(self, n: int) -> None:
        self.put(_U32.pack(n), 4)

    def header(self, stamp: bytes, frame_id: bytes) -> None:
        """std_msgs/Header from `_header_fields`: stamp (sec, nanosec), frame_id."""
        self.put(stamp, 4)
        self.string(frame_id)

    def value(self) -> bytes:
        return b"".join(self.parts)


def _utf8(text: str) -> bytes:
    """A string field's UTF-8 bytes, ending at a NUL as rclpy's conversion does."""
    return text.split("\x00", 1)[0].encode()


def _header_fields(header) -> Tuple[bytes, bytes]:
    """A std_msgs/Header's packed stamp and UTF-8 frame_id, once per message (every Marker of an
    array repeats them)."""
    return _STAMP.pack(header.stamp.sec, header.stamp.nanosec), _utf8(header.frame_id)


def _int32(value: int) -> int:
    """An int wrapped into int32 as rclpy's conversion does (a uint32 track id of 2**31 or more
    becomes a negative Marker id)."""
    return (int(value) + 2 ** 31) % 2 ** 32 - 2 ** 31


def _float32s(layout: struct.Struct, *values: float) -> bytes:
    """Floats packed as float32; a finite value beyond float32's range becomes +-inf, as in
    rclpy's conversion (struct refuses it)."""
    try:
        return layout.pack(*values)
    except OverflowError:
        with np.errstate(over="ignore"):
            return np.array(values, dtype="<f4").tobytes()


def _strings(texts: Sequence[str]) -> Tuple[bytes, List[Tuple[int, int]]]:
    """A string[] that starts 4-aligned (then every string does, so the bytes are fixed), and
    its padding ranges relative to its start."""
    pads: list = []
    out = _Cdr(pads)
    out.count(len(texts))
    for t in texts:
        out.string(t.encode())
    skip = len(_ENCAPSULATION)
    return out.value()[skip:], [(a - skip, b - skip) for a, b in pads]


_NAMES, _NAMES_PADDING = _strings(JOINT_NAMES)


def skeleton_array(frame, header, padding: Optional[list] = None) -> bytes:
    """pose_lifting/Skeleton3DArray of a FrameResult (as conversions.frame_to_msg builds it).
    padding: a list that gets the (start, end) byte ranges of the alignment padding."""
    out = _Cdr(padding)
    out.header(*_header_fields(header))
    intr = frame.intrinsics
    out.put(_K_SIZE_FLAG.pack(intr.fx, 0.0, intr.cx, 0.0, intr.fy, intr.cy, 0.0, 0.0, 1.0, int(frame.image_size[0]),
                              int(frame.image_size[1]), bool(intr.estimated)), 8)
    out.count(len(frame.persons))
    for p in frame.persons:
        conf = np.asarray(p.confidence, dtype="<f4")
        out.put(_U32.pack(int(p.id)), 4)
        if padding is not None:
            start = len(_ENCAPSULATION) + out.off
            padding.extend((start + a, start + b) for a, b in _NAMES_PADDING)
        out.put(_NAMES)
        out.count(len(p.joints_3d))
        out.put(np.asarray(p.joints_3d, dtype="<f8").tobytes(), 8)
        out.count(len(conf))
        out.put(conf.tobytes())
        kp = np.empty((len(conf), 3), dtype="<f4")
        kp[:, :2] = p.keypoints_2d
        kp[:, 2] = conf
        out.count(len(kp))
        out.put(kp.tobytes())
        out.put(_float32s(_SCORES, p.reprojection_error_px, p.score), 4)
    return out.value()


def _marker(out: _Cdr, header: Tuple[bytes, bytes], ns: bytes, mid: int, mtype: int, action: int, pose_scale: Sequence[float],
            rgba: Sequence[float], lifetime: Sequence[int], points: Optional[np.ndarray], text: bytes) -> None:
    """One visualization_msgs/Marker (Jazzy's fields) with no per-point colours, texture or mesh;
    header: `_header_fields`."""
    out.header(*header)
    out.string(ns)
    out.put(_ID_TYPE_ACTION.pack(_int32(mid), mtype, action), 4)
    out.put(_POSE_SCALE.pack(*pose_scale), 8)
    out.put(_COLOUR_LIFETIME_LOCKED.pack(*rgba, *lifetime, False), 4)
    if points is None or not len(points):
        out.count(0)
    else:
        out.count(len(points))
        out.put(np.asarray(points, dtype="<f8").tobytes(), 8)
    out.count(0)                             # colors
    out.string(b"")                          # texture_resource
    out.put(_STAMP.pack(0, 0), 4)            # texture: sensor_msgs/CompressedImage header,
    out.string(b"")                          # its frame_id,
    out.string(b"")                          # format
    out.count(0)                             # and data
    out.count(0)                             # uv_coordinates
    out.string(text)
    out.string(b"")                          # mesh_resource
    out.string(b"")                          # mesh_file: filename
    out.count(0)                             # and data
    out.put(b"\x00")                         # mesh_use_embedded_materials


def marker_array(header, clear: bool, people: Sequence[tuple], padding: Optional[list] = None) -> bytes:
    """visualization_msgs/MarkerArray: a DELETEALL first when `clear`, then for each person of
    `people`, (ns, id, type, pose_scale (10,), rgba (4,), lifetime (sec, nanosec), points (M, 3)
    or None, text) for each of its markers (all ADD). padding: as for skeleton_array."""
    out = _Cdr(padding)
    header = _header_fields(header)
    out.count(int(clear) + len(people))
    if clear:
        _marker(out, header, b"", 0, 0, DELETEALL, (0.0,) * 6 + (1.0, 0.0, 0.0, 0.0), (0.0,) * 4, (0, 0), None, b"")
    for ns, mid, mtype, pose_scale, rgba, lifetime, points, text in people:
        _marker(out, header, ns, mid, mtype, ADD, pose_scale, rgba, lifetime, points, text)
    return out.value()


def tf_message(header, transforms: Sequence[Tuple[str, Sequence[float], Sequence[float]]],
               padding: Optional[list] = None) -> bytes:
    """tf2_msgs/TFMessage: one geometry_msgs/TransformStamped per (child_frame_id, translation
    (3,) metres, rotation quaternion (x, y, z, w)), each with `header`. padding: as for
    skeleton_array."""
    out = _Cdr(padding)
    head = _header_fields(header)
    out.count(len(transforms))
    for child, xyz, quat in transforms:
        out.header(*head)
        out.string(_utf8(child))
        out.put(_TRANSFORM.pack(*xyz, *quat), 8)
    return out.value()


def differs_from_rclpy(ours: bytes, padding: Sequence[tuple], reference: bytes) -> Optional[int]:
    """The first byte at which `ours` differs from rclpy's serialization `reference`, ignoring
    the alignment padding (rclpy leaves it uninitialised), or None when they agree."""
    if len(ours) != len(reference):
        return min(len(ours), len(reference))
    a, b = bytearray(ours), bytearray(reference)
    for start, end in padding:
        a[start:end] = b[start:end]
    return None if a == b else next(k for k, (x, y) in enumerate(zip(a, b)) if x != y)


def matches_rclpy() -> Optional[str]:
    """None when the bytes written here equal rclpy's serialization of the message objects
    (conversions.frame_to_msg, visualization.MarkerBuilder, visualization.transforms, with and
    without joint frames) for `sample_frames()`, padding
    aside; otherwise the first difference, in words."""
    from rclpy.serialization import serialize_message
    from std_msgs.msg import Header
    from tf2_msgs.msg import TFMessage

    from pose_lifting_ros.conversions import frame_to_msg
    from pose_lifting_ros.visualization import MarkerBuilder, transforms, transforms_serialized

    objects, serial = MarkerBuilder(0.5), MarkerBuilder(0.5)
    for i, frame in enumerate(sample_frames()):
        header = Header(frame_id="camera_optical_frame"[: 5 + i])
        header.stamp.sec, header.stamp.nanosec = 1700000000 + i, 123456789
        pads_s, pads_m, pads_t = [], [], []
        try:
            pairs = (("Skeleton3DArray", skeleton_array(frame, header, pads_s), pads_s, frame_to_msg(frame, header)),
                     ("MarkerArray", serial.serialized(frame, header, 0.07, 0.03, pads_m), pads_m,
                      objects(frame, header, 0.07, 0.03)),
                     ("TFMessage", transforms_serialized(frame, header, i % 2 == 1, pads_t), pads_t,
                      TFMessage(transforms=transforms(frame, header, i % 2 == 1))))
            for name, ours, pads, theirs in pairs:
                ref = serialize_message(theirs)
                at = differs_from_rclpy(ours, pads, ref)
                if at is not None:
                    return (f"{name} of sample frame {i}: {len(ours)} bytes written here, {len(ref)} from rclpy, "
                            f"first difference at byte {at}")
        except Exception as exc:  # a message definition this module does not know: never fatal
            return f"sample frame {i}: {type(exc).__name__}: {exc}"
    return None


def sample_frames(seed: int = 0) -> list:
    """FrameResults that use every case of the two encoders: two people, one of them gone (a
    DELETEALL), nobody, three people with large ids, estimated and given intrinsics, NaN and
    zero confidences."""
    from pose_lifting_core.camera import Intrinsics, intrinsics_from_fov
    from pose_lifting_core.pipeline import FrameResult, Person3D

    rng = np.random.default_rng(seed)

    def person(pid: int) -> Person3D:
        conf = rng.uniform(0, 1, 17)
        conf[rng.integers(0, 17, 3)] = 0.0
        return Person3D(pid, float(rng.uniform()), rng.uniform(0, 640, 4), rng.uniform(0, 640, (17, 2)), conf,
                        rng.normal(0, 0.5, (17, 3)) + [0.0, 0.0, 4.0], float(rng.uniform(0, 9)))

    given = Intrinsics(612.3, 611.9, 320.5, 241.25)
    frames = [FrameResult(0, 0.0, given, (640, 480), [person(1), person(2)]),
              FrameResult(1, 0.1, intrinsics_from_fov(1280, 720), (1280, 720), [person(2)]),
              FrameResult(2, 0.2, given, (640, 480), []),
              FrameResult(3, 0.3, given, (640, 480), [person(7), person(123456), person(2 ** 31 - 1)])]
    frames[3].persons[0].confidence[4] = np.nan
    return frames
