"""A camera's bag made from RGB frames: what the tests and benchmarks replay.

Owns: writing frames as a ROS 2 camera driver records them (`ros2 bag record`): a
sensor_msgs/Image (rgb8) or CompressedImage (jpeg) topic and, when intrinsics are given, a
CameraInfo topic beside it with the same header, one pair per frame, in a rosbag2 bag (mcap or
sqlite3) or a ROS 1 bag. Frames may differ in size; each CameraInfo then has its frame's size.

Units: K (3, 3) pixels; stamps nanoseconds since the epoch.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional, Tuple

import numpy as np

START_NS = 1_700_000_000_000_000_000  # the first frame's stamp


def write_camera_bag(
    path: str,
    frames: Iterable[np.ndarray],
    fps: float = 10.0,
    storage: str = "mcap",
    compressed: bool = False,
    K_of: Optional[Callable[[int, int], np.ndarray]] = None,
    frame_id: str = "camera_optical_frame",
    topic: str = "/camera/image_raw",
) -> Tuple[str, str]:
    """Write `frames` (RGB uint8 (H, W, 3)) at `fps` to a new bag at `path`: storage mcap or
    sqlite3 (rosbag2 folders) or ros1 (a .bag file); images on `topic` (`topic`/compressed,
    jpeg, with `compressed`); with K_of(width, height) -> K, a CameraInfo on
    `<namespace>/camera_info` for each frame (distortion-free, P = [K | 0]). Returns the image
    and CameraInfo topics ("" for none)."""
    import cv2
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS1_NOETIC if storage == "ros1" else Stores.ROS2_JAZZY)
    image_topic = topic + "/compressed" if compressed else topic
    info_topic = topic.rsplit("/", 1)[0] + "/camera_info" if K_of else ""
    image_type = "sensor_msgs/msg/" + ("CompressedImage" if compressed else "Image")
    with _writer(path, storage) as (w, add):
        conn_image = add(image_topic, image_type, ts)
        conn_info = add(info_topic, "sensor_msgs/msg/CameraInfo", ts) if K_of else None
        for i, rgb in enumerate(frames):
            ns = START_NS + int(round(i * 1e9 / fps))
            hdr = _header(ts, ns, frame_id, i)
            h, w_ = rgb.shape[:2]
            if compressed:
                ok, jpg = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]))
                msg = ts.types[image_type](header=hdr, format="jpeg", data=jpg.ravel())
            else:
                msg = ts.types[image_type](
                    header=hdr,
                    height=h,
                    width=w_,
                    encoding="rgb8",
                    is_bigendian=0,
                    step=w_ * 3,
                    data=np.ascontiguousarray(rgb).reshape(-1),
                )
            if conn_info is not None:
                info = _camera_info(ts, hdr, np.asarray(K_of(w_, h), float), w_, h, storage)
                w.write(conn_info, ns + 1000, _serialize(ts, info, conn_info.msgtype, storage))
            w.write(conn_image, ns + 2000, _serialize(ts, msg, image_type, storage))
    return image_topic, info_topic


def _serialize(ts, msg, msgtype: str, storage: str) -> bytes:
    if storage == "ros1":
        return ts.serialize_ros1(msg, msgtype)
    return ts.serialize_cdr(msg, msgtype)


def _header(ts, ns: int, frame_id: str, seq: int):
    t = ts.types
    stamp = t["builtin_interfaces/msg/Time"](sec=ns // 10**9, nanosec=ns % 10**9)
    if "seq" in t["std_msgs/msg/Header"].__dataclass_fields__:  # ROS 1
        return t["std_msgs/msg/Header"](seq=seq, stamp=stamp, frame_id=frame_id)
    return t["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def _camera_info(ts, hdr, K: np.ndarray, w: int, h: int, storage: str):
    t = ts.types
    P = np.zeros((3, 4))
    P[:, :3] = K
    roi = t["sensor_msgs/msg/RegionOfInterest"](
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
    )
    fields = dict(
        header=hdr,
        height=h,
        width=w,
        distortion_model="plumb_bob",
        binning_x=0,
        binning_y=0,
        roi=roi,
    )
    arrays = dict(d=np.zeros(5), k=K.ravel(), r=np.eye(3).ravel(), p=P.ravel())
    if storage == "ros1":
        arrays = {k.upper(): v for k, v in arrays.items()}
    return t["sensor_msgs/msg/CameraInfo"](**fields, **arrays)


class _writer:
    """(writer, add_connection(topic, msgtype, typestore)) of a new rosbag2 or ROS 1 bag."""

    def __init__(self, path: str, storage: str) -> None:
        from rosbags.rosbag1 import Writer as Writer1
        from rosbags.rosbag2 import StoragePlugin, Writer

        if storage == "ros1":
            self.w = Writer1(path)
        else:
            plugin = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[storage]
            self.w = Writer(path, version=9, storage_plugin=plugin)

    def __enter__(self):
        self.w.open()
        return self.w, lambda topic, msgtype, ts: self.w.add_connection(
            topic, msgtype, typestore=ts
        )

    def __exit__(self, *exc) -> None:
        self.w.close()
