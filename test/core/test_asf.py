"""ASF/AMC reader and forward kinematics on small hand-made files with known answers."""

import os
import tarfile

import numpy as np
import pytest

from pose_lifting_core.tooling.data.asf import (
    AsfError,
    forward_kinematics,
    load_asf_amc,
    parse_amc,
    parse_asf,
    units_to_m,
)

# root -> a (along +Y, length 2, dof rx ry rz) -> b (along +X, length 1, axis rotated 90 deg about
# Z, dof rx); root -> c (along -Y, length 1.5, no dof). Mixed indentation and a comment line.
ASF = """# hand-made test skeleton
:version 1.10
:name TEST
:units
  mass 1.0
  length 0.5
  angle {angle}
:documentation
   three bones
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name a
     direction 0 1 0
     length 2
     axis 0 0 0 XYZ
    dof rx ry rz
    limits (-180.0 180.0)
           (-180.0 180.0)
           (-180.0 180.0)
  end
  begin
     id 2
     name b
     direction 2 0 0
     length 1
     axis 0 0 {b_axis} XYZ
    dof rx
    limits (-180.0 180.0)
  end
\tbegin
\t   id 3
\t   name c
\t   direction 0 -1 0
\t   length 1.5
\t   axis 0 0 0 XYZ
\tend
:hierarchy
  begin
    root a c
    a b
  end
"""


def _asf(angle: str = "deg", b_axis: str = "90") -> str:
    """The test ASF with the given angle unit and b's axis Z angle."""
    return ASF.format(angle=angle, b_axis=b_axis)


def _amc(frames, header: str = ":FULLY-SPECIFIED\n:DEGREES\n") -> str:
    """AMC text; frames: list of (root 6 values, a 3 values, b 1 value)."""
    out = ["#!OML:ASF test.asf", header.rstrip("\n")]
    for k, (root, a, b) in enumerate(frames, 1):
        out.append(str(k))
        out.append("root " + " ".join(str(v) for v in root))
        out.append("a " + " ".join(str(v) for v in a))
        out.append("b " + " ".join(str(v) for v in b))
        out.append("c")
    return "\n".join(out) + "\n"


ZERO = ([0, 0, 0, 0, 0, 0], [0, 0, 0], [0])


def _fk(frames, asf=None, header=":FULLY-SPECIFIED\n:DEGREES\n"):
    """(names, positions) for frames on the test skeleton (or the given ASF text)."""
    skel = parse_asf(asf if asf is not None else _asf())
    return forward_kinematics(skel, parse_amc(_amc(frames, header), skel))


def test_parse_asf_fields():
    skel = parse_asf(_asf())
    assert skel.names == ["a", "b", "c"]
    assert skel.length_scale == 0.5 and skel.angle_unit == "deg"
    assert skel.root_order == ["TX", "TY", "TZ", "RX", "RY", "RZ"] and skel.root_axis == "XYZ"
    a, b, c = skel.bones
    assert [a.parent, b.parent, c.parent] == [-1, 0, -1]
    np.testing.assert_allclose(b.direction, [1, 0, 0])  # normalised from (2, 0, 0)
    np.testing.assert_allclose(b.axis_deg, [0, 0, 90])
    assert b.axis_order == "XYZ" and a.dof == ["rx", "ry", "rz"] and b.dof == ["rx"]
    assert c.dof == [] and c.length == 1.5
    assert units_to_m(skel) == pytest.approx(0.0254 / 0.5)


def test_parse_amc_shapes_and_missing_bones():
    skel = parse_asf(_asf())
    text = "#!OML\n:FULLY-SPECIFIED\n:DEGREES\n1\nroot 1 2 3 4 5 6\nb 7\n2\nroot 0 0 0 0 0 0\n"
    motion = parse_amc(text, skel)
    assert motion.root.shape == (2, 6) and motion.angle_unit == "deg"
    np.testing.assert_allclose(motion.root[0], [1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(motion.dofs["a"], np.zeros((2, 3)))  # never given: zeros
    np.testing.assert_allclose(motion.dofs["b"], [[7], [0]])  # missing in frame 2: zero
    assert motion.dofs["c"].shape == (2, 0)


def test_zero_pose():
    names, pos = _fk([ZERO])
    assert names == ["root", "a", "b", "c"]
    np.testing.assert_allclose(pos[0], [[0, 0, 0], [0, 2, 0], [1, 2, 0], [0, -1.5, 0]], atol=1e-12)


def test_rotation_90_about_z_on_a():
    # Rz(90) maps (x, y, z) -> (-y, x, z): a's end (0,2,0) -> (-2,0,0); b's direction
    # (1,0,0) -> (0,1,0), so b's end is (-2,1,0). c hangs off the root and does not move.
    _, pos = _fk([([0] * 6, [0, 0, 90], [0])])
    np.testing.assert_allclose(pos[0, 1:], [[-2, 0, 0], [-2, 1, 0], [0, -1.5, 0]], atol=1e-12)


def test_axis_conjugation_matters():
    # b: C = Rz(90), M = Rx(90). L = C M C^-1 is a 90 deg turn about C x = +Y, i.e. Ry(90), which
    # maps b's direction (1,0,0) to (0,0,-1): b's end = (0,2,0) + (0,0,-1) = (0,2,-1).
    # With M alone (no axis), Rx(90) leaves (1,0,0) alone and b's end would stay at (1,2,0).
    _, pos = _fk([([0] * 6, [0, 0, 0], [90])])
    np.testing.assert_allclose(pos[0, 2], [0, 2, -1], atol=1e-12)
    _, pos_no_axis = _fk([([0] * 6, [0, 0, 0], [90])], asf=_asf(b_axis="0"))
    np.testing.assert_allclose(pos_no_axis[0, 2], [1, 2, 0], atol=1e-12)


def test_root_translation_and_rotation():
    # Root at (1,2,3), RY = 90: Ry(90) leaves +Y alone and maps (1,0,0) to (0,0,-1).
    _, pos = _fk([([1, 2, 3, 0, 90, 0], [0, 0, 0], [0]), ([1, 2, 3, 0, 0, 0], [0, 0, 0], [0])])
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [1, 4, 3], [1, 4, 2], [1, 0.5, 3]], atol=1e-12)
    np.testing.assert_allclose(pos[1], [[1, 2, 3], [1, 4, 3], [2, 4, 3], [1, 0.5, 3]], atol=1e-12)


def test_dof_order_is_rz_ry_rx():
    # a with rx = 90 then rz = 90: M = Rz(90) @ Rx(90). Rx(90) maps +Y to +Z, which Rz keeps:
    # a's end is (0,0,2). The other order (Rx @ Rz) would give Rz: +Y -> -X -> Rx keeps -X.
    _, pos = _fk([([0] * 6, [90, 0, 90], [0])])
    np.testing.assert_allclose(pos[0, 1], [0, 0, 2], atol=1e-12)


def test_bone_lengths_preserved_under_random_rotations():
    rng = np.random.default_rng(0)
    frames = [
        (
            list(rng.uniform(-50, 50, 3)) + list(rng.uniform(-400, 400, 3)),
            list(rng.uniform(-400, 400, 3)),
            [rng.uniform(-400, 400)],
        )
        for _ in range(50)
    ]
    skel = parse_asf(_asf(b_axis="33.3"))
    names, pos = forward_kinematics(skel, parse_amc(_amc(frames), skel))
    assert pos.shape == (50, 4, 3)
    for i, bone in enumerate(skel.bones):
        lengths = np.linalg.norm(pos[:, i + 1] - pos[:, bone.parent + 1], axis=-1)
        np.testing.assert_allclose(lengths, bone.length, rtol=1e-12)
    np.testing.assert_allclose(pos[:, 0], [f[0][:3] for f in frames])


def test_radians_match_degrees():
    rng = np.random.default_rng(1)
    deg = [
        (
            list(rng.uniform(-5, 5, 3)) + list(rng.uniform(-180, 180, 3)),
            list(rng.uniform(-180, 180, 3)),
            [rng.uniform(-180, 180)],
        )
        for _ in range(10)
    ]
    rad = [
        (r[:3] + list(np.radians(r[3:])), list(np.radians(a)), list(np.radians(b)))
        for r, a, b in deg
    ]
    _, ref = _fk(deg, asf=_asf(b_axis="30"))
    # ASF in radians, AMC without a unit header: the skeleton's unit applies to both.
    asf_rad = _asf(angle="rad", b_axis=repr(float(np.radians(30))))
    _, pos = _fk(rad, asf=asf_rad, header=":FULLY-SPECIFIED\n")
    np.testing.assert_allclose(pos, ref, atol=1e-9)
    # ASF in degrees, AMC saying :RADIANS: the header wins for the motion.
    _, pos = _fk(rad, asf=_asf(b_axis="30"), header=":FULLY-SPECIFIED\n:RADIANS\n")
    np.testing.assert_allclose(pos, ref, atol=1e-9)


def test_load_asf_amc_from_disk(tmp_path):
    (tmp_path / "s.asf").write_text(_asf())
    (tmp_path / "m.amc").write_text(_amc([([0, 0, 0, 0, 0, 0], [0, 0, 0], [0])]))
    names, pos = load_asf_amc(str(tmp_path / "s.asf"), str(tmp_path / "m.amc"))
    assert names[0] == "root"
    np.testing.assert_allclose(pos[0, 2], [1, 2, 0], atol=1e-12)
    _, pos_m = load_asf_amc(str(tmp_path / "s.asf"), str(tmp_path / "m.amc"), metres=True)
    np.testing.assert_allclose(pos_m, pos * 0.0254 / 0.5)


@pytest.mark.parametrize(
    "amc, message",
    [
        (
            "1\nroot 0 0 0 0 0 0\na 0 1.2.3 0\n",
            "AMC line 3: malformed number '1.2.3' for bone 'a'",
        ),
        ("1\nroot 0 0 0 0 0 0\nzz 1\n", "AMC line 3: unknown bone 'zz'"),
        ("1\nroot 0 0 0 0 0 0\na 0 0\n", "AMC line 3: bone 'a' has 2 values, expected 3"),
        ("1\nroot 0 0 0 0 0\n", "AMC line 2: bone 'root' has 5 values, expected 6"),
        (":FULLY-SPECIFIED\n:DEGREES\n", "AMC has no frames"),
        ("root 0 0 0 0 0 0\n", "AMC line 1: 'root' before the first frame number"),
        ("1\nb 1\nb 2\n", "AMC line 3: bone 'b' given twice in the frame of line 1"),
        ("1\nb nan\n", "AMC line 2: non-finite value for bone 'b'"),
    ],
)
def test_amc_errors(amc, message):
    skel = parse_asf(_asf())
    with pytest.raises(AsfError) as exc:
        parse_amc(amc, skel)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace(":bonedata", ":nobones"), "no :bonedata section"),
        (lambda t: t[: t.index(":hierarchy")], "no :hierarchy section"),
        (lambda t: t.replace("length 2\n", "length 2.x\n"), "malformed number in bone 'a'"),
        (lambda t: t.replace("direction 0 1 0", "direction 0 1"), "direction needs 3 values"),
        (lambda t: t.replace("a b\n", "a bb\n"), "unknown bone 'bb' in :hierarchy"),
        (lambda t: t.replace("a b\n", ""), "bones not attached in :hierarchy: ['b']"),
        (lambda t: t.replace("root a c", "root c\n    b a"), "cycle in :hierarchy"),
        (lambda t: t.replace("dof rx\n", "dof rq\n"), "unknown dof 'rq'"),
        (lambda t: t.replace("angle deg", "angle grad"), ":units angle must be deg or rad"),
        (lambda t: t.replace("axis 0 0 90 XYZ", "axis 0 0 90 XYY"), "permutation of XYZ"),
    ],
)
def test_asf_errors(edit, message):
    with pytest.raises(AsfError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_asf(edit(_asf()))


def test_translation_dof_is_refused_by_fk():
    skel = parse_asf(_asf().replace("dof rx\n", "dof rx tx\n"))
    motion = parse_amc("1\nroot 0 0 0 0 0 0\nb 0 1\n", skel)
    with pytest.raises(AsfError, match=r"bone 'b': dofs \['tx'\] are not supported"):
        forward_kinematics(skel, motion)


HDM05 = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "..",
    "shared",
    "data",
    "hdm05-subset",
    "hdm05_subset_amc.tar.xz",
)


@pytest.mark.skipif(
    not os.path.exists(HDM05),
    reason="HDM05 subset not present at ../shared/data/hdm05-subset (read-only "
    "shared data, outside the repo)",
)
def test_real_hdm05_clip():
    # Stream the tar (AMC files come before the ASF files): keep the first bd clip and bd's ASF.
    asf_text = amc_text = None
    with tarfile.open(HDM05, "r|xz") as tar:
        for member in tar:
            name = os.path.basename(member.name)
            if amc_text is None and name.startswith("HDM_bd_") and name.endswith(".amc"):
                amc_text = tar.extractfile(member).read().decode("utf-8", "replace")
            elif name == "HDM_bd.asf":
                asf_text = tar.extractfile(member).read().decode("utf-8", "replace")
                break
    assert asf_text is not None and amc_text is not None
    skel = parse_asf(asf_text)
    assert len(skel.bones) == 30 and skel.length_scale == 0.45
    names, pos = forward_kinematics(skel, parse_amc(amc_text, skel))
    pos = pos * units_to_m(skel)
    assert pos.shape[0] > 100 and pos.shape[1:] == (31, 3)
    for i, bone in enumerate(skel.bones):
        lengths = np.linalg.norm(pos[:, i + 1] - pos[:, bone.parent + 1], axis=-1)
        np.testing.assert_allclose(lengths, bone.length * units_to_m(skel), atol=1e-9)
    # first frame of a depositFloorR clip: standing, head above pelvis, pelvis near 1 m, toes low
    first = pos[0]
    assert first[names.index("head"), 1] > first[0, 1] + 0.4
    assert 0.85 < first[0, 1] < 1.15
    assert min(first[names.index("ltoes"), 1], first[names.index("rtoes"), 1]) < 0.15
