"""An Acclaim ASF/AMC reader with vectorised forward kinematics.

Owns: parsing an ASF skeleton (units, root, bone data, hierarchy) and an AMC motion (per-frame
root and bone dof values), and computing world positions of the root and of every bone's end.

Convention (CMU / AMCParser, also HDM05): a bone's local rotation is C @ M @ C^-1, where
C = R(axis angles) in the bone's `axis` order (`XYZ` gives Rz @ Ry @ Rx) and M = Rz @ Ry @ Rx from
the AMC dof angles (missing dofs are 0). The world rotation is G = G_parent @ C @ M @ C^-1, the
root's G uses the root `orientation` angles for C and RX RY RZ for M, and a bone's end is
parent end + length * G @ direction. The root sits at the AMC's TX TY TZ.

Units are whatever the file uses (lengths in file units, often inches / `length`); callers convert
to metres, e.g. with `units_to_m`. Angles are degrees unless the ASF says `angle rad` or the AMC
header says `:RADIANS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from pose_lifting_core.tooling.data.bvh import axis_rotation

_ROT_DOFS = ("rx", "ry", "rz")
_ALL_DOFS = ("rx", "ry", "rz", "tx", "ty", "tz", "l")
_ROOT_CHANNELS = ("TX", "TY", "TZ", "RX", "RY", "RZ")
_ANGLE_UNITS = {
    "deg": "deg",
    "degree": "deg",
    "degrees": "deg",
    "rad": "rad",
    "radian": "rad",
    "radians": "rad",
}


@dataclass
class AsfBone:
    """One ASF bone. direction: (3,) unit vector; length in file units; axis_deg: (3,) `axis`
    angles in the skeleton's angle unit (named for the usual case, degrees); parent: index into
    the skeleton's bones, -1 for a child of the root."""

    name: str
    direction: np.ndarray
    length: float
    axis_deg: np.ndarray
    axis_order: str = "XYZ"
    dof: List[str] = field(default_factory=list)
    parent: int = -1


@dataclass
class AsfSkeleton:
    """A parsed ASF. bones in file (bonedata) order; length_scale from `:units length`;
    angle_unit "deg" or "rad"; root_order the root's channel order; root_axis the order of
    the root's `orientation` angles (root_orientation, (3,)); root_position (3,) is kept for
    information only (the root sits at the AMC's TX TY TZ)."""

    bones: List[AsfBone]
    length_scale: float = 1.0
    angle_unit: str = "deg"
    root_order: List[str] = field(default_factory=lambda: list(_ROOT_CHANNELS))
    root_axis: str = "XYZ"
    root_orientation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    root_position: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @property
    def names(self) -> List[str]:
        """Bone names in file order."""
        return [b.name for b in self.bones]


@dataclass
class AmcMotion:
    """A parsed AMC. root: (F, len(root_order)) in the skeleton's root_order; dofs: bone name ->
    (F, n_dof) in the bone's dof-line order (zeros where the AMC never gives the bone); angle_unit
    from the AMC header (`:DEGREES` / `:RADIANS`), else the skeleton's."""

    root: np.ndarray
    dofs: Dict[str, np.ndarray]
    angle_unit: str = "deg"

    @property
    def n_frames(self) -> int:
        """Number of frames F."""
        return int(self.root.shape[0])


class AsfError(ValueError):
    """An ASF or AMC file that cannot be parsed, or a motion that does not fit its skeleton."""


def euler_matrix(angles_rad: np.ndarray, order: str = "XYZ") -> np.ndarray:
    """Rotation matrices (..., 3, 3) from angles (..., 3) given as (x, y, z) in radians.

    `order` is the Acclaim order, first letter applied first: "XYZ" gives Rz @ Ry @ Rx.
    """
    a = np.asarray(angles_rad, dtype=np.float64)
    out = np.broadcast_to(np.eye(3), a.shape[:-1] + (3, 3)).copy()
    for ax in order:
        out = axis_rotation(ax, a[..., "XYZ".index(ax)]) @ out
    return out


def _to_rad(values: np.ndarray, unit: str) -> np.ndarray:
    """Angles converted to radians from `unit` ("deg" or "rad")."""
    return np.radians(values) if unit == "deg" else np.asarray(values, dtype=np.float64)


def _floats(tokens: List[str], what: str) -> np.ndarray:
    """Parse tokens as finite floats, raising AsfError naming `what` on failure."""
    try:
        out = np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError as exc:
        raise AsfError(f"malformed number in {what}: {' '.join(tokens)!r}") from exc
    if not np.all(np.isfinite(out)):
        raise AsfError(f"non-finite number in {what}: {' '.join(tokens)!r}")
    return out


def _sections(text: str) -> Dict[str, List[Tuple[int, List[str]]]]:
    """Split ASF text into `:keyword` sections of (line number, tokens), comments dropped.

    Tokens on the keyword's own line (e.g. `:name VICON`) are the section's first entry.
    """
    sections: Dict[str, List[Tuple[int, List[str]]]] = {}
    current: List[Tuple[int, List[str]]] | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        if tokens[0].startswith(":"):
            key = tokens[0][1:].lower()
            if key in sections:
                raise AsfError(f"line {lineno}: duplicate :{key} section")
            current = sections[key] = []
            if len(tokens) > 1:
                current.append((lineno, tokens[1:]))
        elif current is not None:
            current.append((lineno, tokens))
        else:
            raise AsfError(f"line {lineno}: {raw.strip()!r} before any :section")
    return sections


def _parse_units(lines: List[Tuple[int, List[str]]]) -> Tuple[float, str]:
    """(length_scale, angle_unit) from `:units` lines, defaults 1.0 and "deg"."""
    tokens = [t for _, toks in lines for t in toks]
    length_scale, angle_unit = 1.0, "deg"
    for key, value in zip(tokens[::2], tokens[1::2]):
        if key.lower() == "length":
            length_scale = float(_floats([value], ":units length")[0])
            if length_scale <= 0:
                raise AsfError(f":units length must be positive, got {value}")
        elif key.lower() == "angle":
            if value.lower() not in _ANGLE_UNITS:
                raise AsfError(f":units angle must be deg or rad, got {value!r}")
            angle_unit = _ANGLE_UNITS[value.lower()]
    return length_scale, angle_unit


def _check_order(order: str, what: str) -> str:
    """An axis order string upper-cased and checked to be a permutation of XYZ."""
    order = order.upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise AsfError(f"{what}: axis order must be a permutation of XYZ, got {order!r}")
    return order


def _parse_bone(lines: List[Tuple[int, List[str]]], first: int) -> AsfBone:
    """One `begin ... end` block of :bonedata (lines between begin and end)."""
    where = f"bone starting line {first}"
    values: Dict[str, Tuple[int, List[str]]] = {}
    for lineno, toks in lines:
        key = toks[0].lower()
        if key in ("id", "name", "direction", "length", "axis", "dof"):
            values[key] = (lineno, toks[1:])
    if "name" not in values or len(values["name"][1]) != 1:
        raise AsfError(f"{where}: needs exactly one name")
    name = values["name"][1][0]
    where = f"bone {name!r} (line {first})"
    for key in ("direction", "length"):
        if key not in values:
            raise AsfError(f"{where}: no {key}")
    direction = _floats(values["direction"][1], f"{where} direction")
    if direction.shape != (3,):
        raise AsfError(f"{where}: direction needs 3 values, got {direction.size}")
    length_v = _floats(values["length"][1], f"{where} length")
    if length_v.shape != (1,) or length_v[0] < 0:
        raise AsfError(f"{where}: length must be one non-negative number")
    norm = float(np.linalg.norm(direction))
    if norm > 0:
        direction = direction / norm
    elif length_v[0] > 0:
        raise AsfError(f"{where}: zero direction with non-zero length")
    axis_tokens = values.get("axis", (0, ["0", "0", "0", "XYZ"]))[1]
    if len(axis_tokens) not in (3, 4):
        raise AsfError(f"{where}: axis needs 3 angles and an order, got {axis_tokens}")
    axis = _floats(axis_tokens[:3], f"{where} axis")
    order = _check_order(axis_tokens[3] if len(axis_tokens) == 4 else "XYZ", where)
    dof = [d.lower() for d in values.get("dof", (0, []))[1]]
    for d in dof:
        if d not in _ALL_DOFS:
            raise AsfError(f"{where}: unknown dof {d!r} (expected one of {', '.join(_ALL_DOFS)})")
    if len(set(dof)) != len(dof):
        raise AsfError(f"{where}: repeated dof in {dof}")
    return AsfBone(name, direction, float(length_v[0]), axis, order, dof)


def _parse_bonedata(lines: List[Tuple[int, List[str]]]) -> List[AsfBone]:
    """All bones of :bonedata in file order (parents not yet set)."""
    bones: List[AsfBone] = []
    block: List[Tuple[int, List[str]]] | None = None
    first = 0
    for lineno, toks in lines:
        key = toks[0].lower()
        if key == "begin":
            if block is not None:
                raise AsfError(f"line {lineno}: 'begin' inside a bone block (missing 'end')")
            block, first = [], lineno
        elif key == "end":
            if block is None:
                raise AsfError(f"line {lineno}: 'end' without 'begin' in :bonedata")
            bones.append(_parse_bone(block, first))
            block = None
        elif block is not None:
            block.append((lineno, toks))
        else:
            raise AsfError(f"line {lineno}: {' '.join(toks)!r} outside a begin/end bone block")
    if block is not None:
        raise AsfError(f"bone block starting line {first} has no 'end'")
    names = [b.name for b in bones]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise AsfError(f"duplicate bone names in :bonedata: {dup}")
    if "root" in names:
        raise AsfError("a bone may not be named 'root' (it is the :root segment)")
    return bones


def _set_parents(bones: List[AsfBone], lines: List[Tuple[int, List[str]]]) -> None:
    """Set each bone's parent index from :hierarchy lines (`parent child child ...`)."""
    index = {b.name: i for i, b in enumerate(bones)}
    seen: Dict[str, int] = {}
    for lineno, toks in lines:
        if toks[0].lower() in ("begin", "end"):
            continue
        parent, children = toks[0], toks[1:]
        if parent != "root" and parent not in index:
            raise AsfError(f"line {lineno}: unknown bone {parent!r} in :hierarchy")
        for child in children:
            if child not in index:
                raise AsfError(f"line {lineno}: unknown bone {child!r} in :hierarchy")
            if child in seen:
                raise AsfError(
                    f"line {lineno}: bone {child!r} already has a parent (line {seen[child]})"
                )
            seen[child] = lineno
            bones[index[child]].parent = -1 if parent == "root" else index[parent]
    missing = [b.name for b in bones if b.name not in seen]
    if missing:
        raise AsfError(f"bones not attached in :hierarchy: {missing}")
    _topological_order(bones)  # raises on cycles


def _topological_order(bones: List[AsfBone]) -> List[int]:
    """Bone indices ordered so that every parent comes before its children."""
    order: List[int] = []
    done = set()
    pending = list(range(len(bones)))
    while pending:
        rest = [i for i in pending if bones[i].parent >= 0 and bones[i].parent not in done]
        ready = [i for i in pending if i not in rest]
        if not ready:
            raise AsfError(f"cycle in :hierarchy among {[bones[i].name for i in rest]}")
        order.extend(ready)
        done.update(ready)
        pending = rest
    return order


def parse_asf(text: str) -> AsfSkeleton:
    """Parse ASF text into an AsfSkeleton. Raises AsfError on malformed input."""
    sections = _sections(text)
    if "bonedata" not in sections:
        raise AsfError("no :bonedata section")
    length_scale, angle_unit = _parse_units(sections.get("units", []))
    root_order, root_axis = list(_ROOT_CHANNELS), "XYZ"
    root_orientation, root_position = np.zeros(3), np.zeros(3)
    for lineno, toks in sections.get("root", []):
        key, rest = toks[0].lower(), toks[1:]
        if key == "order":
            root_order = [t.upper() for t in rest]
            bad = [t for t in root_order if t not in _ROOT_CHANNELS]
            if bad or len(set(root_order)) != len(root_order):
                raise AsfError(
                    f"line {lineno}: root order must list distinct channels of "
                    f"{' '.join(_ROOT_CHANNELS)}, got {' '.join(rest)!r}"
                )
        elif key == "axis":
            if len(rest) != 1:
                raise AsfError(f"line {lineno}: root axis needs one order like XYZ")
            root_axis = _check_order(rest[0], f"line {lineno}: root")
        elif key in ("orientation", "position"):
            v = _floats(rest, f"line {lineno}: root {key}")
            if v.shape != (3,):
                raise AsfError(f"line {lineno}: root {key} needs 3 values, got {v.size}")
            if key == "orientation":
                root_orientation = v
            else:
                root_position = v
    bones = _parse_bonedata(sections["bonedata"])
    if not bones:
        raise AsfError("no bones in :bonedata")
    if "hierarchy" not in sections:
        raise AsfError("no :hierarchy section")
    _set_parents(bones, sections["hierarchy"])
    return AsfSkeleton(
        bones, length_scale, angle_unit, root_order, root_axis, root_orientation, root_position
    )


def parse_amc(text: str, skeleton: AsfSkeleton) -> AmcMotion:
    """Parse AMC text for `skeleton` into an AmcMotion. Raises AsfError on malformed numbers,
    unknown bone names, wrong value counts, a bone given twice in a frame, or no frames.

    Frames are an integer line followed by `name v1 v2 ...` lines; header lines start with `#` or
    `:`. A bone missing from a frame (or from the whole file) gets zeros there.
    """
    n_dof = {b.name: len(b.dof) for b in skeleton.bones}
    n_dof["root"] = len(skeleton.root_order)
    angle_unit = skeleton.angle_unit
    rows: Dict[str, Tuple[List[int], List[int], List[List[str]]]] = {
        name: ([], [], []) for name in n_dof
    }  # frame indices, line numbers, value tokens
    frame_line: List[int] = []
    in_frame: set = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        if tokens[0].startswith(":"):
            key = tokens[0][1:].upper()
            if key in ("DEGREES", "RADIANS"):
                angle_unit = "deg" if key == "DEGREES" else "rad"
            continue
        if len(tokens) == 1 and tokens[0].isdigit():
            frame_line.append(lineno)
            in_frame = set()
            continue
        name, vals = tokens[0], tokens[1:]
        if not frame_line:
            raise AsfError(f"AMC line {lineno}: {name!r} before the first frame number")
        if name not in n_dof:
            raise AsfError(f"AMC line {lineno}: unknown bone {name!r}")
        if len(vals) != n_dof[name]:
            raise AsfError(
                f"AMC line {lineno}: bone {name!r} has {len(vals)} values, expected {n_dof[name]}"
            )
        if name in in_frame:
            raise AsfError(
                f"AMC line {lineno}: bone {name!r} given twice in the frame of "
                f"line {frame_line[-1]}"
            )
        in_frame.add(name)
        frame_idx, line_nos, toks = rows[name]
        frame_idx.append(len(frame_line) - 1)
        line_nos.append(lineno)
        toks.append(vals)
    if not frame_line:
        raise AsfError("AMC has no frames")
    values: Dict[str, np.ndarray] = {}
    for name, (frame_idx, line_nos, toks) in rows.items():
        arr = np.zeros((len(frame_line), n_dof[name]))
        if toks:
            try:
                arr[frame_idx] = np.array(toks, dtype=np.float64).reshape(len(toks), -1)
            except ValueError:
                for lineno, vals in zip(line_nos, toks):
                    for v in vals:
                        try:
                            float(v)
                        except ValueError as exc:
                            raise AsfError(
                                f"AMC line {lineno}: malformed number {v!r} for bone {name!r}"
                            ) from exc
                raise
            bad = np.argwhere(~np.isfinite(arr[frame_idx]))
            if bad.size:
                raise AsfError(
                    f"AMC line {line_nos[int(bad[0, 0])]}: non-finite value for bone {name!r}"
                )
        values[name] = arr
    root = values.pop("root")
    return AmcMotion(root, values, angle_unit)


def _dof_matrix(names: List[str], values: np.ndarray, unit: str, F: int) -> np.ndarray:
    """M = Rz @ Ry @ Rx (F, 3, 3) from rotation channels named rx/ry/rz (any case); missing = 0."""
    angles = np.zeros((F, 3))
    for k, n in enumerate(names):
        n = n.lower()
        if n in _ROT_DOFS:
            angles[:, _ROT_DOFS.index(n)] = values[:, k]
    return euler_matrix(_to_rad(angles, unit), "XYZ")


def forward_kinematics(skel: AsfSkeleton, motion: AmcMotion) -> Tuple[List[str], np.ndarray]:
    """Names ["root"] + bone names and world positions (F, 1 + B, 3) of the root and of every
    bone's end, in file length units (not scaled by length_scale; see `units_to_m`).

    Vectorised over frames; loops over bones only. Raises AsfError for translation or length dofs
    (tx, ty, tz, l), which this reader does not animate, and for motion arrays of the wrong shape.
    """
    F = motion.n_frames
    if motion.root.shape != (F, len(skel.root_order)):
        raise AsfError(
            f"motion root has shape {motion.root.shape}, expected ({F}, {len(skel.root_order)})"
        )
    B = len(skel.bones)
    pos = np.zeros((F, 1 + B, 3))
    rot = np.zeros((F, 1 + B, 3, 3))  # slot 0 is the root
    for k, ch in enumerate(skel.root_order):
        if ch[0] == "T":
            pos[:, 0, "XYZ".index(ch[1])] = motion.root[:, k]
    c_root = euler_matrix(_to_rad(skel.root_orientation, skel.angle_unit), skel.root_axis)
    m_root = _dof_matrix(skel.root_order, motion.root, motion.angle_unit, F)
    rot[:, 0] = c_root @ m_root @ c_root.T
    for i in _topological_order(skel.bones):
        bone = skel.bones[i]
        extra = [d for d in bone.dof if d not in _ROT_DOFS]
        if extra:
            raise AsfError(
                f"bone {bone.name!r}: dofs {extra} are not supported by "
                "forward_kinematics (rotations only)"
            )
        vals = motion.dofs.get(bone.name, np.zeros((F, len(bone.dof))))
        if vals.shape != (F, len(bone.dof)):
            raise AsfError(
                f"motion for bone {bone.name!r} has shape {vals.shape}, expected "
                f"({F}, {len(bone.dof)})"
            )
        c = euler_matrix(_to_rad(bone.axis_deg, skel.angle_unit), bone.axis_order)
        m = _dof_matrix(bone.dof, vals, motion.angle_unit, F)
        p = bone.parent + 1
        rot[:, i + 1] = rot[:, p] @ (c @ m @ c.T)
        pos[:, i + 1] = pos[:, p] + bone.length * (rot[:, i + 1] @ bone.direction)
    return ["root"] + skel.names, pos


def units_to_m(skel: AsfSkeleton) -> float:
    """Metres per file length unit, assuming inches scaled by `:units length` (CMU, HDM05):
    (1 / length_scale) * 0.0254."""
    return (1.0 / skel.length_scale) * 0.0254


def _read(path: str) -> str:
    """File text; undecodable bytes (e.g. Latin-1 paths in AMC headers) are replaced."""
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        return fh.read()


def load_asf_amc(
    asf_path: str, amc_path: str, metres: bool = False
) -> Tuple[List[str], np.ndarray]:
    """Read an ASF and an AMC from disk and run forward_kinematics: (names, (F, 1 + B, 3)).

    Positions are in file units, or in metres (times `units_to_m`) when `metres` is True.
    """
    skel = parse_asf(_read(asf_path))
    names, pos = forward_kinematics(skel, parse_amc(_read(amc_path), skel))
    return names, pos * units_to_m(skel) if metres else pos
