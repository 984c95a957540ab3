"""RViz markers and TF frames from a frame's skeletons.

Owns: MarkerArray building (one DELETEALL first so skeletons that are gone disappear, then per
person: joint spheres, bone lines, a text label, in the track id's colour) and TransformStamped
building (`body_<id>` at the pelvis oriented by pose_lifting_core.frames, and optionally one frame
per joint named `<joint>_<id>`, REP-155 style). Everything is stamped with the image's header.
"""
from __future__ import annotations

from typing import List

import numpy as np

from pose_lifting_core.frames import body_rotations, quaternion_from_matrix
from pose_lifting_core.render import colour
from pose_lifting_core.skeleton import JOINT_NAMES, SKELETON


def markers(frame, header, joint_diameter_m: float = 0.05, line_width_m: float = 0.02,
            lifetime_s: float = 0.0):
    """visualization_msgs/MarkerArray for every person of a FrameResult."""
    from builtin_interfaces.msg import Duration
    from geometry_msgs.msg import Point
    from std_msgs.msg import ColorRGBA
    from visualization_msgs.msg import Marker, MarkerArray

    out = MarkerArray()
    clear = Marker()
    clear.header = header
    clear.action = Marker.DELETEALL
    out.markers.append(clear)
    life = Duration(sec=int(lifetime_s), nanosec=int((lifetime_s % 1) * 1e9))
    for p in frame.persons:
        r, g, b = (v / 255.0 for v in colour(p.id))
        col = ColorRGBA(r=r, g=g, b=b, a=1.0)
        pts = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in p.joints_3d]

        def base(ns: str, mtype: int) -> Marker:
            m = Marker()
            m.header = header
            m.ns, m.id, m.type, m.action = ns, int(p.id), mtype, Marker.ADD
            m.pose.orientation.w = 1.0
            m.color = col
            m.lifetime = life
            return m

        joints = base("joints", Marker.SPHERE_LIST)
        joints.scale.x = joints.scale.y = joints.scale.z = joint_diameter_m
        joints.points = pts
        bones = base("bones", Marker.LINE_LIST)
        bones.scale.x = line_width_m
        bones.points = [pts[i] for pair in SKELETON.bones for i in pair]
        label = base("labels", Marker.TEXT_VIEW_FACING)
        label.scale.z = 0.12
        label.pose.position = Point(x=pts[10].x, y=pts[10].y - 0.2, z=pts[10].z)
        label.text = f"#{p.id} {p.joints_3d[0, 2]:.1f} m"
        out.markers.extend([joints, bones, label])
    return out


def transforms(frame, header, joint_frames: bool = False) -> List:
    """geometry_msgs/TransformStamped list: body_<id> (and <joint>_<id>) under header.frame_id."""
    from geometry_msgs.msg import TransformStamped

    if not frame.persons:
        return []
    J = np.stack([p.joints_3d for p in frame.persons])
    q = quaternion_from_matrix(body_rotations(J))
    out = []

    def tf(child: str, xyz, quat) -> TransformStamped:
        t = TransformStamped()
        t.header = header
        t.child_frame_id = child
        t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = (float(v) for v in xyz)
        (t.transform.rotation.x, t.transform.rotation.y, t.transform.rotation.z,
         t.transform.rotation.w) = (float(v) for v in quat)
        return t

    for i, p in enumerate(frame.persons):
        out.append(tf(f"body_{p.id}", J[i, 0], q[i]))
        if joint_frames:
            out.extend(tf(f"{name}_{p.id}", J[i, j], (0.0, 0.0, 0.0, 1.0)) for j, name in enumerate(JOINT_NAMES))
    return out
