"""Frames streamed from a bag: an image topic, and the calibration of each frame by its stamp.

Owns: opening a bag with rosbags (rosbag2 mcap or sqlite3, as a folder or a single storage
file, and ROS 1 .bag), choosing and checking the topics (one-line errors that list the topics
there are), the CameraInfo of each image by header stamp, and streaming the images as RGB
frames in recorded order. Memory stays bounded: messages are read one at a time; only the
CameraInfo stamps (8 bytes each) and the distinct calibrations are kept. A message that cannot
be decoded or converted is skipped and counted (`skipped`), never fatal; a bag that cannot be
read is a BagError. The bag is opened read-only and never modified.

Images: sensor_msgs/Image in every encoding the nodes take (conversions.image_to_rgb) and
sensor_msgs/CompressedImage (jpeg, png). Times: seconds; stamps and log times: nanoseconds.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from pose_lifting_ros.bag import BagError, require_rosbags

IMAGE = ("sensor_msgs/msg/Image", "sensor_msgs/Image")
COMPRESSED = ("sensor_msgs/msg/CompressedImage", "sensor_msgs/CompressedImage")
CAMERA_INFO = ("sensor_msgs/msg/CameraInfo", "sensor_msgs/CameraInfo")


@dataclass(frozen=True)
class BagFrame:
    """Where one image came from: its header stamp (ns; the log time where the header's is 0),
    frame_id, log time (ns, when it was recorded) and calibration (camera_model.Calibration of
    the CameraInfo nearest in stamp; None where the bag gives none)."""

    stamp_ns: int
    frame_id: str
    log_time_ns: int
    calibration: Optional[object]


def topic_list(topics: dict) -> str:
    """'/a (sensor_msgs/msg/Image, 10 messages), /b (...)', or 'none' for an empty bag."""
    return ", ".join(f"{n} ({i.msgtype}, {i.msgcount} messages)" for n, i in topics.items()) or (
        "none"
    )


def _open_reader(path: str):
    """An open rosbags AnyReader on `path`; BagError for anything that is not a readable bag."""
    require_rosbags()
    from rosbags.highlevel import AnyReader, AnyReaderError
    from rosbags.typesys import Stores, get_typestore

    if not os.path.exists(path):
        raise BagError(f"input not found: {path}")
    p = Path(path)
    if p.is_dir() and not (p / "metadata.yaml").is_file():
        raise BagError(f"{path} is a folder without metadata.yaml: not a rosbag2 bag")
    default = get_typestore(Stores.ROS1_NOETIC if p.suffix == ".bag" else Stores.ROS2_JAZZY)
    reader = AnyReader([p], default_typestore=default)
    try:
        reader.open()
    except (AnyReaderError, ValueError, KeyError, OSError, EOFError) as exc:
        why = _one_line(exc).replace("; please report issue.", "")
        if "Storage plugin" in why:  # metadata.yaml names a storage rosbags cannot read
            why += " (readable storage formats: mcap, sqlite3)"
        raise BagError(
            f"cannot read bag {path} (corrupt, truncated or not a bag?): {why}"
        ) from None
    return reader


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _pick_topic(topics: dict, given: Optional[str], types: tuple, what: str, path: str) -> str:
    """The topic named `given` (checked to carry one of `types`), or the only one that does."""
    if given is not None:
        if given not in topics:
            raise BagError(f"bag {path} has no topic {given}; its topics: {topic_list(topics)}")
        if topics[given].msgtype not in types:
            raise BagError(
                f"topic {given} of {path} carries {topics[given].msgtype}, not {what} "
                f"({' or '.join(t for t in types if '/msg/' in t)})"
            )
        return given
    found = [n for n, i in topics.items() if i.msgtype in types]
    if len(found) != 1:
        raise BagError(
            f"bag {path} has {'no' if not found else len(found)} {what} topics; name one with "
            f"--image-topic (its topics: {topic_list(topics)})"
        )
    return found[0]


def sibling_camera_info(topics: dict, image_topic: str) -> Optional[str]:
    """The CameraInfo topic beside an image topic by the image_transport convention
    (/cam/image_raw and /cam/image_raw/compressed -> /cam/camera_info), if the bag has it."""
    base = (
        image_topic[: -len("/compressed")] if image_topic.endswith("/compressed") else image_topic
    )
    name = base.rsplit("/", 1)[0] + "/camera_info"
    return name if name in topics and topics[name].msgtype in CAMERA_INFO else None


@dataclass
class BagSource:
    """An image topic of a bag, as pose-lifting estimate's frame source (media.Source's fields):
    kind "bag", num_frames (image messages), fps (their mean rate), size (width, height) of the
    first image, skipped ((what, reason) of each message skipped; `skipped_count` counts all).
    `frames` yields (index, time_s, RGB uint8 (H, W, 3), BagFrame)."""

    path: str
    image_topic: str
    camera_info_topic: Optional[str]
    num_frames: int
    fps: Optional[float]
    size: Tuple[int, int]
    topics: dict
    kind: str = "bag"
    skipped: list = field(default_factory=list)
    skipped_count: int = 0
    _reader: object = None
    _calibrations: Tuple[np.ndarray, List[int], list] = (np.zeros(0, np.int64), [], [])

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def connections(self, topics) -> list:
        return [c for c in self._reader.connections if c.topic in topics]

    def _skip(self, what: str, reason: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < 20:  # named one by one up to here; counted past it
            self.skipped.append((what, reason))

    def index_camera_info(self) -> None:
        """Read every CameraInfo of `camera_info_topic` (one pass, images untouched): their
        stamps, and each distinct calibration once."""
        from pose_lifting_ros.conversions import calibration_from_camera_info

        stamps, which, distinct, keys = [], [], [], {}
        for conn, log_ns, raw in self._messages([self.camera_info_topic]):
            try:
                msg = _ros2_camera_info(self._reader.deserialize(raw, conn.msgtype))
                calib = calibration_from_camera_info(msg)
            except Exception as exc:  # noqa: BLE001 - a bad message is skipped, counted
                self._skip(f"{self.camera_info_topic} at {log_ns} ns", _one_line(exc))
                continue
            key = _calibration_key(calib)
            if key not in keys:
                keys[key] = len(distinct)
                distinct.append(calib)
            stamps.append(_stamp_ns(msg.header, log_ns))
            which.append(keys[key])
        order = np.argsort(np.asarray(stamps, dtype=np.int64), kind="stable")
        self._calibrations = (
            np.asarray(stamps, dtype=np.int64)[order],
            [which[i] for i in order],
            distinct,
        )

    def calibration_at(self, stamp_ns: int):
        """The calibration of the CameraInfo nearest to `stamp_ns` (the same stamp where there is
        one), None where the topic gave none."""
        stamps, which, distinct = self._calibrations
        if not len(stamps):
            return None
        i = int(np.searchsorted(stamps, stamp_ns))
        near = [j for j in (i - 1, i) if 0 <= j < len(stamps)]
        j = min(near, key=lambda j: abs(int(stamps[j]) - stamp_ns))
        return distinct[which[j]]

    def frames(
        self, copy: Optional[Callable[[object, int, bytes], None]] = None, copy_topics=()
    ) -> Iterator[Tuple[int, float, np.ndarray, BagFrame]]:
        """The images in recorded order. `copy(connection, log_time_ns, raw)` is called for every
        message of `copy_topics` (the image topic among them or not) as it passes."""
        index = 0
        for conn, log_ns, raw in self._messages({self.image_topic, *copy_topics}):
            if copy is not None and conn.topic in copy_topics:
                copy(conn, log_ns, raw)
            if conn.topic != self.image_topic:
                continue
            try:
                msg = self._reader.deserialize(raw, conn.msgtype)
                rgb = _to_rgb(msg, conn.msgtype)
            except Exception as exc:  # noqa: BLE001 - a bad message is skipped, counted
                self._skip(f"{self.image_topic} message at {log_ns} ns", _one_line(exc))
                continue
            stamp = _stamp_ns(msg.header, log_ns)
            info = BagFrame(stamp, str(msg.header.frame_id), log_ns, self.calibration_at(stamp))
            if index == 0:
                self.size = (rgb.shape[1], rgb.shape[0])
            yield index, stamp * 1e-9, rgb, info
            index += 1

    def _messages(self, topics) -> Iterator[tuple]:
        """(connection, log time ns, raw bytes) of `topics` in recorded order; a bag that
        cannot be read on (truncated, corrupt) ends it with a BagError."""
        it = iter(self._reader.messages(self.connections(topics)))
        while True:
            try:
                item = next(it)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - rosbags, sqlite, lz4, zstd, struct errors
                raise read_error(exc, self.path) from None
            yield item


def _stamp_ns(hdr, log_ns: int) -> int:
    """A header's stamp in nanoseconds; the log time where the stamp is zero (unset)."""
    ns = int(hdr.stamp.sec) * 10**9 + int(hdr.stamp.nanosec)
    return ns if ns else int(log_ns)


def _calibration_key(c) -> tuple:
    P = None if c.P is None else np.asarray(c.P).tobytes()
    return (
        np.asarray(c.K).tobytes(),
        np.asarray(c.D).tobytes(),
        c.distortion_model,
        c.width,
        c.height,
        c.frame_id,
        P,
    )


def _ros2_camera_info(msg):
    """A ROS 1 CameraInfo (fields K, D, P) under the ROS 2 names (k, d, p); ROS 2 ones as
    they are."""
    if hasattr(msg, "k"):
        return msg
    from types import SimpleNamespace

    return SimpleNamespace(
        k=msg.K,
        d=msg.D,
        p=msg.P,
        distortion_model=msg.distortion_model,
        width=msg.width,
        height=msg.height,
        header=msg.header,
    )


def _to_rgb(msg, msgtype: str) -> np.ndarray:
    """An Image or CompressedImage message -> RGB uint8 (H, W, 3) (conversions, as the nodes)."""
    from pose_lifting_ros.conversions import compressed_to_rgb, image_to_rgb

    return compressed_to_rgb(msg) if msgtype in COMPRESSED else image_to_rgb(msg)


def open_bag(
    path: str,
    image_topic: Optional[str] = None,
    camera_info_topic: Optional[str] = None,
    want_camera_info: bool = True,
) -> BagSource:
    """Open `path` and check the topics before any work: the image topic (`image_topic`, or the
    only Image/CompressedImage topic), and with `want_camera_info` the CameraInfo topic
    (`camera_info_topic`, or the image topic's sibling camera_info where the bag has one;
    indexed by stamp). Raises BagError: not a bag, unreadable, corrupt, an unknown storage
    format, a missing topic (naming those there are), no image messages."""
    reader = _open_reader(path)
    try:
        topics = reader.topics
        if not topics:
            raise BagError(f"bag {path} is empty: it has no topics")
        image_topic = _pick_topic(topics, image_topic, IMAGE + COMPRESSED, "image", path)
        if camera_info_topic is not None:
            _pick_topic(topics, camera_info_topic, CAMERA_INFO, "sensor_msgs CameraInfo", path)
        elif want_camera_info:
            camera_info_topic = sibling_camera_info(topics, image_topic)
        n = topics[image_topic].msgcount
        if n == 0:
            raise BagError(f"bag {path} has no messages on {image_topic}")
        span = reader.duration * 1e-9
        src = BagSource(
            path,
            image_topic,
            camera_info_topic if want_camera_info else None,
            n,
            (n - 1) / span if n > 1 and span > 0 else None,
            (0, 0),
            topics,
            _reader=reader,
        )
        if src.camera_info_topic:
            src.index_camera_info()
        return src
    except BaseException:
        reader.close()
        raise


def read_error(exc: BaseException, path: str) -> BagError:
    """The one-line BagError of a failure while streaming (a truncated or corrupt bag)."""
    return BagError(f"cannot read bag {path}: {_one_line(exc)}")


def counts_by_reason(skipped: list) -> Dict[str, int]:
    """How many skipped messages had each reason."""
    return dict(collections.Counter(r for _, r in skipped))
