"""A general BVH reader with vectorised forward kinematics.

Owns: parsing a BVH file (hierarchy + motion) and computing world joint positions and rotations.
Handles both OFFSET-only skeletons (CMU style: position channels on the root only) and skeletons
with per-joint position channels (Bandai style), where a joint's position channels replace its
OFFSET. Rotations compose in the order the CHANNELS line lists them (intrinsic), e.g.
`Zrotation Xrotation Yrotation` gives R = Rz @ Rx @ Ry.

Units are whatever the file uses (Bandai: centimetres); callers convert to metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np


@dataclass
class BvhJoint:
    """One joint of the hierarchy: parent index (-1 for the root), OFFSET, CHANNELS, End Site."""

    name: str
    parent: int
    offset: np.ndarray
    channels: List[str] = field(default_factory=list)
    end_site: np.ndarray | None = None


@dataclass
class BvhClip:
    """A parsed clip. motion: (F, C) channel values in file order; frame_time in seconds."""

    joints: List[BvhJoint]
    motion: np.ndarray
    frame_time: float

    @property
    def names(self) -> List[str]:
        return [j.name for j in self.joints]


class BvhError(ValueError):
    """A BVH file that cannot be parsed."""


def axis_rotation(axis: str, rad: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about a principal axis "X", "Y" or "Z", angle in radians
    (shared with the ASF/AMC reader)."""
    a = np.asarray(rad, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    if axis == "X":
        m = [one, zero, zero, zero, c, -s, zero, s, c]
    elif axis == "Y":
        m = [c, zero, s, zero, one, zero, -s, zero, c]
    else:
        m = [c, -s, zero, s, c, zero, zero, zero, one]
    return np.stack(m, -1).reshape(a.shape + (3, 3))


def parse_bvh(text: str) -> BvhClip:
    """Parse BVH text (spaces or tabs). Raises BvhError on malformed input."""
    tokens = text.split()
    try:
        motion_at = tokens.index("MOTION")
    except ValueError as exc:
        raise BvhError("no MOTION section") from exc
    joints: List[BvhJoint] = []
    stack: List[int] = []
    i, pending_end = 0, False
    head = tokens[:motion_at]
    try:
        while i < len(head):
            t = head[i]
            if t in ("ROOT", "JOINT"):
                joints.append(BvhJoint(head[i + 1], stack[-1] if stack else -1, np.zeros(3)))
                i += 2
            elif t == "End":
                pending_end = True
                i += 2
            elif t == "{":
                stack.append(-2 if pending_end else len(joints) - 1)
                i += 1
            elif t == "}":
                stack.pop()
                pending_end = False
                i += 1
            elif t == "OFFSET":
                off = np.array(head[i + 1 : i + 4], dtype=np.float64)
                if stack and stack[-1] == -2:
                    joints[[k for k in stack if k >= 0][-1]].end_site = off
                else:
                    joints[-1].offset = off
                i += 4
            elif t == "CHANNELS":
                n = int(head[i + 1])
                joints[-1].channels = head[i + 2 : i + 2 + n]
                i += 2 + n
            else:
                i += 1
        # parents: the stack held joint indices; fix parents of joints after End Sites
        n_frames = int(tokens[motion_at + 2])
        frame_time = float(tokens[motion_at + 5])
        n_ch = sum(len(j.channels) for j in joints)
        values = np.array(tokens[motion_at + 6 :], dtype=np.float64)
    except (IndexError, ValueError) as exc:
        raise BvhError(f"malformed BVH: {exc}") from exc
    if not joints:
        raise BvhError("no joints in HIERARCHY")
    if values.size != n_frames * n_ch:
        raise BvhError(
            f"motion has {values.size} values, expected {n_frames} frames x {n_ch} channels"
        )
    return BvhClip(joints, values.reshape(n_frames, n_ch), frame_time)


def forward_kinematics(clip: BvhClip) -> Tuple[np.ndarray, np.ndarray]:
    """World positions (F, J, 3) and world rotations (F, J, 3, 3) of every joint.

    A joint's local translation is its position channels when it has them, else its OFFSET.
    """
    F = clip.motion.shape[0]
    J = len(clip.joints)
    pos = np.zeros((F, J, 3))
    rot = np.zeros((F, J, 3, 3))
    col = 0
    for j, joint in enumerate(clip.joints):
        local_t = np.broadcast_to(joint.offset, (F, 3)).copy()
        local_r = np.broadcast_to(np.eye(3), (F, 3, 3)).copy()
        for ch in joint.channels:
            v = clip.motion[:, col]
            col += 1
            kind, axis = ch[1:], ch[0].upper()
            if kind == "position":
                local_t[:, "XYZ".index(axis)] = v
            elif kind == "rotation":
                local_r = local_r @ axis_rotation(axis, np.radians(v))
            else:
                raise BvhError(f"unknown channel {ch!r} on joint {joint.name!r}")
        if joint.parent < 0:
            pos[:, j] = local_t
            rot[:, j] = local_r
        else:
            pr = rot[:, joint.parent]
            pos[:, j] = pos[:, joint.parent] + np.einsum("fij,fj->fi", pr, local_t)
            rot[:, j] = pr @ local_r
    return pos, rot


def load_bvh(path: str) -> BvhClip:
    """Read and parse a BVH file from disk."""
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        return parse_bvh(fh.read())
