"""Forward kinematics on small hand-made BVH files with known answers."""

import numpy as np
import pytest

from pose_lifting_core.tooling.data.bvh import BvhError, forward_kinematics, parse_bvh
from pose_lifting_core.tooling.data.mocap import JOINT_MAPS, clip_to_skeleton17, parse_clip_name

# CMU style: position channels on the root only; children placed by OFFSET. Tabs and spaces mixed.
CMU_STYLE = """HIERARCHY
ROOT Hips
{
\tOFFSET 0 0 0
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
\tJOINT Chest
\t{
\t\tOFFSET 0 10 0
\t\tCHANNELS 3 Zrotation Xrotation Yrotation
\t\tJOINT Arm
\t\t{
\t\t\tOFFSET 5 0 0
\t\t\tCHANNELS 3 Zrotation Xrotation Yrotation
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET 4 0 0
\t\t\t}
\t\t}
\t}
\tJOINT Leg
\t{
\t\tOFFSET 0 -8 0
\t\tCHANNELS 3 Zrotation Xrotation Yrotation
\t}
}
MOTION
Frames: 2
Frame Time: 0.0333333
1 2 3 0 0 0 0 0 0 0 0 0 0 0 0
0 0 0 90 0 0 0 0 0 90 0 0 0 0 0
"""

# Bandai style: every joint has position channels that replace its OFFSET.
BANDAI_STYLE = """HIERARCHY
ROOT Root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Child
  {
    OFFSET 100 100 100
    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 0 0
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.0333333
0 0 0 0 0 90 2 0 0 0 0 0
"""


def test_offset_only_skeleton_rest_and_translation():
    clip = parse_bvh(CMU_STYLE)
    assert clip.names == ["Hips", "Chest", "Arm", "Leg"]
    assert [j.parent for j in clip.joints] == [-1, 0, 1, 0]
    np.testing.assert_allclose(clip.joints[2].end_site, [4, 0, 0])
    pos, _ = forward_kinematics(clip)
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [1, 12, 3], [6, 12, 3], [1, -6, 3]], atol=1e-12)


def test_offset_only_skeleton_rotations_compose_down_the_chain():
    pos, rot = forward_kinematics(parse_bvh(CMU_STYLE))
    # frame 1: root Zrot 90 maps +y to -x and +x to +y; the arm's own rotation moves only its
    # end site
    np.testing.assert_allclose(pos[1, 1], [-10, 0, 0], atol=1e-9)  # chest at R_z(90) * (0,10,0)
    np.testing.assert_allclose(pos[1, 2], [-10, 5, 0], atol=1e-9)  # arm offset (5,0,0) -> (0,5,0)
    np.testing.assert_allclose(pos[1, 3], [8, 0, 0], atol=1e-9)  # leg (0,-8,0) -> (8,0,0)
    np.testing.assert_allclose(rot[1, 0] @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_position_channels_replace_offset():
    pos, _ = forward_kinematics(parse_bvh(BANDAI_STYLE))
    # root Yrot 90 maps +x to -z; the child's position channel (2, 0, 0) is used, not OFFSET 100s
    np.testing.assert_allclose(pos[0, 1], [0, 0, -2], atol=1e-9)


def test_channel_order_is_respected():
    # Zrot 90 then Xrot 90 (R = Rz @ Rx): a child offset +y goes to +z under Rx, stays under Rz.
    text = BANDAI_STYLE.replace("0 0 0 0 0 90 2 0 0 0 0 0", "0 0 0 90 90 0 0 5 0 0 0 0")
    pos, _ = forward_kinematics(parse_bvh(text))
    np.testing.assert_allclose(pos[0, 1], [0, 0, 5], atol=1e-9)


def test_malformed_bvh_raises():
    with pytest.raises(BvhError, match="MOTION"):
        parse_bvh("HIERARCHY ROOT a { OFFSET 0 0 0 }")
    with pytest.raises(BvhError, match="expected"):
        parse_bvh(CMU_STYLE.replace("0 0 0 90 0 0 0 0 0 90 0 0 0 0 0", "0 0"))


def test_clip_name_parsing():
    info = parse_clip_name("dataset-2_raise-up-both-hands_active_001.bvh")
    assert info == {
        "set": "dataset-2",
        "content": "raise-up-both-hands",
        "style": "active",
        "take": "001",
    }


def test_joint_maps_cover_all_17_joints():
    from pose_lifting_core.skeleton import JOINT_NAMES

    for name, jm in JOINT_MAPS.items():
        assert set(JOINT_NAMES) <= set(jm), name


def test_bandai_map_on_a_synthetic_clip():
    """A minimal Bandai-named skeleton: the 17-joint output uses the map (means and offsets)."""
    names = [
        "Hips",
        "Spine",
        "Neck",
        "Head",
        "UpperArm_L",
        "LowerArm_L",
        "Hand_L",
        "UpperArm_R",
        "LowerArm_R",
        "Hand_R",
        "UpperLeg_L",
        "LowerLeg_L",
        "Foot_L",
        "UpperLeg_R",
        "LowerLeg_R",
        "Foot_R",
    ]
    offsets = {
        "Hips": (0, 100, 0),
        "Spine": (0, 10, 0),
        "Neck": (0, 40, 0),
        "Head": (0, 7, 0),
        "UpperArm_L": (18, 30, 0),
        "LowerArm_L": (25, 0, 0),
        "Hand_L": (22, 0, 0),
        "UpperArm_R": (-18, 30, 0),
        "LowerArm_R": (-25, 0, 0),
        "Hand_R": (-22, 0, 0),
        "UpperLeg_L": (6, -10, 0),
        "LowerLeg_L": (0, -40, 0),
        "Foot_L": (0, -41, 0),
        "UpperLeg_R": (-6, -10, 0),
        "LowerLeg_R": (0, -40, 0),
        "Foot_R": (0, -41, 0),
    }
    parent = {
        "Spine": "Hips",
        "Neck": "Spine",
        "Head": "Neck",
        "UpperArm_L": "Spine",
        "LowerArm_L": "UpperArm_L",
        "Hand_L": "LowerArm_L",
        "UpperArm_R": "Spine",
        "LowerArm_R": "UpperArm_R",
        "Hand_R": "LowerArm_R",
        "UpperLeg_L": "Hips",
        "LowerLeg_L": "UpperLeg_L",
        "Foot_L": "LowerLeg_L",
        "UpperLeg_R": "Hips",
        "LowerLeg_R": "UpperLeg_R",
        "Foot_R": "LowerLeg_R",
    }
    children = {n: [c for c in names if parent.get(c) == n] for n in names}

    def emit(n, depth):
        pad = "  " * depth
        kind = "ROOT" if depth == 0 else "JOINT"
        s = f"{pad}{kind} {n}\n{pad}{{\n{pad}  OFFSET {' '.join(map(str, offsets[n]))}\n"
        s += (
            f"{pad}  CHANNELS 3 Zrotation Xrotation Yrotation\n"
            if depth
            else f"{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
        )
        for c in children[n]:
            s += emit(c, depth + 1)
        if not children[n]:
            s += f"{pad}  End Site\n{pad}  {{\n{pad}    OFFSET 0 0 0\n{pad}  }}\n"
        return s + f"{pad}}}\n"

    text = "HIERARCHY\n" + emit("Hips", 0) + "MOTION\nFrames: 1\nFrame Time: 0.0333\n"
    text += "0 100 0 " + " ".join(["0"] * (3 + 3 * (len(names) - 1))) + "\n"
    jm = dict(JOINT_MAPS["bandai"])
    out = clip_to_skeleton17(parse_bvh(text), jm)[0]
    from pose_lifting_core.skeleton import JOINT_NAMES

    j = {n: i for i, n in enumerate(JOINT_NAMES)}
    np.testing.assert_allclose(out[j["pelvis"]], [0, 0.90, 0], atol=1e-9)  # mid UpperLeg_L/R
    np.testing.assert_allclose(out[j["left_hip"]], [0.06, 0.90, 0], atol=1e-9)
    np.testing.assert_allclose(out[j["left_ankle"]], [0.06, 0.09, 0], atol=1e-9)
    np.testing.assert_allclose(out[j["thorax"]], [0, 1.40, 0], atol=1e-9)  # mid UpperArm_L/R
    # head centre: 10 cm along the Head joint's local X axis (identity rotation here)
    np.testing.assert_allclose(out[j["head"]], [0.10, 1.57, 0], atol=1e-9)
