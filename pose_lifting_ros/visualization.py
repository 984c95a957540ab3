"""RViz markers and TF frames from a frame's skeletons.

Owns: MarkerArray building (`MarkerBuilder`: per person joint spheres, bone lines, a text
label, in the track id's colour; a DELETEALL first when someone has gone) and TransformStamped
building, REP-155's tree: `body_<id>` under the camera frame at the pelvis, oriented by
pose_lifting_core.frames (x forward, y left, z up), and optionally one frame per joint named
`<joint>_<id>` under that body frame. Everything is stamped with the image's stamp; markers and
body frames carry its frame_id.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

from pose_lifting_core.frames import (
    body_rotations,
    joints_in_body_frames,
    matrix_from_quaternion,
    quaternion_from_matrix,
)
from pose_lifting_core.skeleton import JOINT_NAMES, SKELETON
from pose_lifting_core.tracking import colour
from pose_lifting_ros.conversions import person_points
from pose_lifting_ros.hri import body_id

LABEL_HEIGHT_M = 0.12  # text height of a person's label
LABEL_ABOVE_HEAD_M = 0.2  # the label sits this far above the head (-y in the optical frame)
_HEAD = JOINT_NAMES.index("head")
_PELVIS = JOINT_NAMES.index("pelvis")  # the body frame's origin
_BONE_ENDS = [i for pair in SKELETON.bones for i in pair]  # LINE_LIST: both ends of every bone


class MarkerBuilder:
    """Builds the MarkerArray of each frame for one topic: per person joint spheres, bone lines
    and a text label, in the track id's colour. It remembers which ids it drew last: when one is
    gone, the array starts with a DELETEALL (so vanished skeletons disappear from RViz); when
    none is gone, only the current markers are sent. The Marker objects of each id are kept and
    refilled, since building a Marker costs more than filling one."""

    def __init__(self, lifetime_s: float = 0.0) -> None:
        self.lifetime_s = lifetime_s
        self._lifetime = (int(lifetime_s), int((lifetime_s % 1) * 1e9))
        self._drawn: set = set()
        self._cache: dict = {}

    def _update_drawn(self, frame) -> bool:
        """Remember this frame's ids; True when someone drawn last time is gone (DELETEALL)."""
        ids = {int(p.id) for p in frame.persons}
        gone = self._drawn - ids
        for pid in gone:
            self._cache.pop(pid, None)
        self._drawn = ids
        return bool(gone)

    def _person_markers(self, pid: int) -> tuple:
        from builtin_interfaces.msg import Duration
        from std_msgs.msg import ColorRGBA
        from visualization_msgs.msg import Marker

        life = Duration(sec=self._lifetime[0], nanosec=self._lifetime[1])
        r, g, b, _ = _rgba(pid)
        out = []
        for ns, mtype in (
            ("joints", Marker.SPHERE_LIST),
            ("bones", Marker.LINE_LIST),
            ("labels", Marker.TEXT_VIEW_FACING),
        ):
            m = Marker(
                ns=ns,
                id=int(pid),
                type=mtype,
                action=Marker.ADD,
                lifetime=life,
                color=ColorRGBA(r=r, g=g, b=b, a=1.0),
            )
            m.pose.orientation.w = 1.0
            out.append(m)
        out[2].scale.z = LABEL_HEIGHT_M
        return tuple(out)

    def __call__(
        self,
        frame,
        header,
        joint_diameter_m: float = 0.05,
        line_width_m: float = 0.02,
        positions: Optional[list] = None,
    ):
        """visualization_msgs/MarkerArray for every person of a FrameResult, stamped with header;
        joint spheres of joint_diameter_m, bone lines line_width_m wide (metres). positions:
        conversions.person_points(frame) when the caller has it already."""
        from geometry_msgs.msg import Point
        from visualization_msgs.msg import Marker, MarkerArray

        out = MarkerArray()
        if self._update_drawn(frame):
            out.markers.append(Marker(header=header, action=Marker.DELETEALL))
        if positions is None:
            positions = person_points(frame)
        for p, pts in zip(frame.persons, positions):
            pid = int(p.id)
            if pid not in self._cache:
                self._cache[pid] = self._person_markers(pid)
            joints, bones, label = self._cache[pid]
            joints.scale.x = joints.scale.y = joints.scale.z = joint_diameter_m
            bones.scale.x = line_width_m
            joints.points = pts
            bones.points = [pts[i] for i in _BONE_ENDS]
            head = pts[_HEAD]
            label.pose.position = Point(x=head.x, y=head.y - LABEL_ABOVE_HEAD_M, z=head.z)
            label.text = _label(pid, pts[0].z)
            for m in (joints, bones, label):
                m.header = header
            out.markers.extend((joints, bones, label))
        return out


def _rgba(pid: int) -> tuple:
    """A person's marker colour: the track id's colour (tracking.colour), opaque, channels in
    [0, 1]."""
    return tuple(v / 255.0 for v in colour(pid)) + (1.0,)


def _label(pid: int, depth_m: float) -> str:
    """A person's label: track id and pelvis depth in metres."""
    return f"#{pid} {depth_m:.1f} m"


_IDENTITY = (0.0, 0.0, 0.0, 1.0)  # a joint frame's rotation: the body frame's axes


def transforms(
    frame, header, joint_frames: bool = False, prefix: str = "", id_prefix: str = ""
) -> List:
    """geometry_msgs/TransformStamped list for every person of a FrameResult, stamped with the
    image's stamp (REP-155's tree):
    - `<prefix>body_<id>` under header.frame_id (the camera), at the pelvis with the body axes
      (pose_lifting_core.frames: x forward, y left, z up);
    - with joint_frames, `<prefix><joint>_<id>` for each of the 17 joints under that person's
      body frame: the joint's position in the body frame, the body's axes.
    `prefix` keeps several cameras' frames apart (params.frame_prefix); `<id>` is
    `<id_prefix><track id>` (hri.body_id: the ROS4HRI body id where `hri` is on)."""
    from geometry_msgs.msg import TransformStamped
    from std_msgs.msg import Header

    if not frame.persons:
        return []
    J = np.stack([p.joints_3d for p in frame.persons])
    q = quaternion_from_matrix(body_rotations(J))
    if joint_frames:  # in the rotation the TF carries, so camera -> body -> joint is the joint
        local = joints_in_body_frames(J, matrix_from_quaternion(q)).tolist()
    ql, pelvis = q.tolist(), J[:, _PELVIS].tolist()
    data = []
    for i, p in enumerate(frame.persons):
        pid = body_id(p.id, id_prefix)
        body = f"{prefix}body_{pid}"
        data.append((header, body, pelvis[i], ql[i]))
        if joint_frames:
            parent = Header(stamp=header.stamp, frame_id=body)
            data.extend(
                (parent, f"{prefix}{name}_{pid}", local[i][j], _IDENTITY)
                for j, name in enumerate(JOINT_NAMES)
            )
    out = []
    for parent, child, xyz, quat in data:
        t = TransformStamped(header=parent, child_frame_id=child)
        tr, rot = t.transform.translation, t.transform.rotation
        tr.x, tr.y, tr.z = xyz
        rot.x, rot.y, rot.z, rot.w = quat
        out.append(t)
    return out
