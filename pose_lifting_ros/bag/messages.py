"""A frame's outputs as bag messages: Skeleton3DArray, MarkerArray and TFMessage.

Owns: building, from a FrameResult, the messages a lifting node publishes, as the rosbags
typestore's classes (types.typestore) instead of rclpy's, so that a bag is written without a
ROS install. Every field mirrors the node's own builders, which stay the one definition of what
the outputs hold: conversions.frame_to_msg (Skeleton3DArray), visualization.MarkerBuilder
(markers: the same colours, labels, sizes, bone list and DELETEALL rule, read from that module)
and visualization.transforms (`<prefix>body_<id>` with the body axes of
pose_lifting_core.frames).
test/core/test_bags.py compares both, field by field, where rclpy is installed.

Units: positions metres in the camera optical frame (the header's frame_id); keypoints pixels;
stamps nanoseconds.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pose_lifting_core.frames import body_rotations, quaternion_from_matrix
from pose_lifting_core.skeleton import JOINT_NAMES
from pose_lifting_ros import visualization as viz
from pose_lifting_ros.bag.types import typestore

SKELETONS = "pose_lifting/msg/Skeleton3DArray"
MARKERS = "visualization_msgs/msg/MarkerArray"
TF = "tf2_msgs/msg/TFMessage"
_PELVIS = JOINT_NAMES.index("pelvis")  # a body frame's origin


def header(stamp_ns: int, frame_id: str):
    """std_msgs/Header of a stamp (nanoseconds since the epoch) and frame."""
    t = typestore().types
    sec, nanosec = divmod(int(stamp_ns), 10**9)
    return t["std_msgs/msg/Header"](
        stamp=t["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec), frame_id=frame_id
    )


def _points(xyz: np.ndarray) -> list:
    """(J, 3) metres -> [geometry_msgs/Point]."""
    Point = typestore().types["geometry_msgs/msg/Point"]
    return [Point(x=x, y=y, z=z) for x, y, z in np.asarray(xyz, dtype=np.float64).tolist()]


def skeleton_array(frame, hdr):
    """pose_lifting/Skeleton3DArray of a FrameResult, as conversions.frame_to_msg builds it."""
    t = typestore().types
    Keypoint2D, Skeleton3D = t["pose_lifting/msg/Keypoint2D"], t["pose_lifting/msg/Skeleton3D"]
    skeletons = []
    for p in frame.persons:
        conf = np.asarray(p.confidence, dtype=np.float32)
        kp = np.asarray(p.keypoints_2d, dtype=np.float64).tolist()
        skeletons.append(
            Skeleton3D(
                id=int(p.id),
                positions=_points(p.joints_3d),
                confidence=conf,
                keypoints_2d=[
                    Keypoint2D(x=u, y=v, confidence=c) for (u, v), c in zip(kp, conf.tolist())
                ],
                reprojection_error_px=float(p.reprojection_error_px),
                score=float(p.score),
            )
        )
    return t[SKELETONS](
        header=hdr,
        k=np.asarray(frame.intrinsics.K, dtype=np.float64).reshape(9),
        width=int(frame.image_size[0]),
        height=int(frame.image_size[1]),
        intrinsics_estimated=bool(frame.intrinsics.estimated),
        joint_names=list(JOINT_NAMES),
        skeletons=skeletons,
    )


def _marker(hdr, **fields):
    """visualization_msgs/Marker with the message's defaults (identity pose) for every field not
    given."""
    t = typestore().types
    Vector3, Time = t["geometry_msgs/msg/Vector3"], t["builtin_interfaces/msg/Time"]
    empty = np.zeros(0, np.uint8)
    values = dict(
        header=hdr,
        ns="",
        id=0,
        type=0,
        action=0,
        pose=t["geometry_msgs/msg/Pose"](
            position=t["geometry_msgs/msg/Point"](x=0.0, y=0.0, z=0.0),
            orientation=t["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
        ),
        scale=Vector3(x=0.0, y=0.0, z=0.0),
        color=t["std_msgs/msg/ColorRGBA"](r=0.0, g=0.0, b=0.0, a=0.0),
        lifetime=t["builtin_interfaces/msg/Duration"](sec=0, nanosec=0),
        frame_locked=False,
        points=[],
        colors=[],
        texture_resource="",
        texture=t["sensor_msgs/msg/CompressedImage"](
            header=t["std_msgs/msg/Header"](stamp=Time(sec=0, nanosec=0), frame_id=""),
            format="",
            data=empty,
        ),
        uv_coordinates=[],
        text="",
        mesh_resource="",
        mesh_file=t["visualization_msgs/msg/MeshFile"](filename="", data=empty),
        mesh_use_embedded_materials=False,
    )
    values.update(fields)
    return t["visualization_msgs/msg/Marker"](**values)


class MarkerBuilder:
    """visualization_msgs/MarkerArray of each frame for one topic, by visualization.MarkerBuilder's
    rule: per person joint spheres, bone lines and a `#id distance` label in the id's colour;
    a DELETEALL first when someone drawn in the last array is gone."""

    def __init__(self) -> None:
        self._drawn: set = set()

    def __call__(self, frame, hdr, joint_diameter_m: float = 0.05, line_width_m: float = 0.02):
        t = typestore().types
        Marker, Vector3 = t["visualization_msgs/msg/Marker"], t["geometry_msgs/msg/Vector3"]
        ids = {int(p.id) for p in frame.persons}
        markers = [] if not self._drawn - ids else [_marker(hdr, action=Marker.DELETEALL)]
        self._drawn = ids
        for p in frame.persons:
            pid, pts = int(p.id), _points(p.joints_3d)
            r, g, b, a = viz._rgba(pid)
            common = dict(id=pid, color=t["std_msgs/msg/ColorRGBA"](r=r, g=g, b=b, a=a))
            d = joint_diameter_m
            head = pts[viz._HEAD]
            label_pose = _marker(hdr).pose
            label_pose.position = t["geometry_msgs/msg/Point"](
                x=head.x, y=head.y - viz.LABEL_ABOVE_HEAD_M, z=head.z
            )
            markers += [
                _marker(
                    hdr,
                    ns="joints",
                    type=Marker.SPHERE_LIST,
                    points=pts,
                    scale=Vector3(x=d, y=d, z=d),
                    **common,
                ),
                _marker(
                    hdr,
                    ns="bones",
                    type=Marker.LINE_LIST,
                    points=[pts[i] for i in viz._BONE_ENDS],
                    scale=Vector3(x=line_width_m, y=0.0, z=0.0),
                    **common,
                ),
                _marker(
                    hdr,
                    ns="labels",
                    type=Marker.TEXT_VIEW_FACING,
                    pose=label_pose,
                    scale=Vector3(x=0.0, y=0.0, z=viz.LABEL_HEIGHT_M),
                    text=viz._label(pid, pts[0].z),
                    **common,
                ),
            ]
        return t[MARKERS](markers=markers)


def transforms(frame, hdr, prefix: str = ""):
    """tf2_msgs/TFMessage of a FrameResult's body frames, as visualization.transforms builds
    them: `<prefix>body_<id>` under the image's frame at the pelvis, with the body axes
    (pose_lifting_core.frames: x forward, y left, z up); None when nobody is in the frame (the
    nodes send no TF then). The per-joint frames the nodes can add (publish_joint_frames) are
    not written to bags."""
    if not frame.persons:
        return None
    t = typestore().types
    J = np.stack([p.joints_3d for p in frame.persons])
    q = quaternion_from_matrix(body_rotations(J)).tolist()
    return t[TF](
        transforms=[
            _transform(hdr, f"{prefix}body_{p.id}", J[i, _PELVIS].tolist(), q[i])
            for i, p in enumerate(frame.persons)
        ]
    )


def _transform(hdr, child: str, xyz: Sequence[float], quat: Sequence[float]):
    """geometry_msgs/TransformStamped: `child` at xyz (metres) turned by quat (x, y, z, w)."""
    t = typestore().types
    return t["geometry_msgs/msg/TransformStamped"](
        header=hdr,
        child_frame_id=child,
        transform=t["geometry_msgs/msg/Transform"](
            translation=t["geometry_msgs/msg/Vector3"](x=xyz[0], y=xyz[1], z=xyz[2]),
            rotation=t["geometry_msgs/msg/Quaternion"](x=quat[0], y=quat[1], z=quat[2], w=quat[3]),
        ),
    )
