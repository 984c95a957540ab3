"""The Bandai archive through the BVH reader and joint map (needs ../shared)."""

import io
import os
import tarfile

import numpy as np

from conftest import BANDAI_ARCHIVE, ROOT, needs_shared
from pose_lifting_core.skeleton import JOINT_NAMES, SKELETON
from pose_lifting_core.tooling.data.bvh import forward_kinematics, parse_bvh
from pose_lifting_core.tooling.data.mocap import JOINT_MAPS, clip_to_skeleton17, load_dataset

J = {n: i for i, n in enumerate(JOINT_NAMES)}


def _first_clips(n):
    out = []
    with tarfile.open(BANDAI_ARCHIVE, "r:xz") as tar:
        for m in tar:
            if m.isfile() and m.name.endswith(".bvh"):
                out.append(
                    (
                        m.name,
                        parse_bvh(io.TextIOWrapper(tar.extractfile(m), encoding="utf-8").read()),
                    )
                )
                if len(out) == n:
                    break
    return out


@needs_shared
def test_bandai_fk_keeps_bones_rigid_and_body_upright():
    for name, clip in _first_clips(3):
        pos, _ = forward_kinematics(clip)
        names = clip.names
        for a, b in (
            ("UpperLeg_L", "LowerLeg_L"),
            ("LowerLeg_R", "Foot_R"),
            ("UpperArm_L", "LowerArm_L"),
        ):
            d = np.linalg.norm(pos[:, names.index(a)] - pos[:, names.index(b)], axis=-1)
            assert d.max() - d.min() < 1e-4, (name, a, b)
        P = clip_to_skeleton17(clip, JOINT_MAPS["bandai"])
        assert (P[:, J["head"], 1] > P[:, J["pelvis"], 1] + 0.4).mean() > 0.95, name
        hip_w = np.linalg.norm(P[:, J["left_hip"]] - P[:, J["right_hip"]], axis=-1)
        np.testing.assert_allclose(hip_w, 0.129, atol=0.003)
        # limb bones stay rigid after the joint map (torso points like the thorax = mid-shoulders
        # move with the clavicles, so those are not checked)
        limbs = [
            (p, c)
            for p, c in SKELETON.bones
            if JOINT_NAMES[c].split("_")[-1] in ("hip", "knee", "ankle", "elbow", "wrist")
        ]
        B = np.linalg.norm(np.stack([P[:, c] - P[:, p] for p, c in limbs], 1), axis=-1)
        assert (B.max(0) - B.min(0)).max() < 1e-3, name


@needs_shared
def test_bandai_left_is_plus_x_when_facing_plus_z():
    _, clip = _first_clips(1)[0]
    P = clip_to_skeleton17(clip, JOINT_MAPS["bandai"])[0]
    lat = P[J["left_hip"]] - P[J["right_hip"]]
    up = P[J["thorax"]] - P[J["pelvis"]]
    facing = np.cross(lat, up)
    # the actor's left cross up points forward (facing); in the first frame the actor faces
    # about +Z
    assert facing[2] > 0


@needs_shared
def test_cached_conversion_has_every_clip_and_content_split():
    d = load_dataset("bandai", os.path.join(ROOT, "cache", "bandai_17.npz"), BANDAI_ARCHIVE)
    # 3,076 clips, 416,845 frames at 30 fps; the cache keeps every third frame of each clip
    assert (
        len(d.clip_names) == 3076
        and d.positions.shape == (139975, 17, 3)
        and d.dataset == "bandai"
    )
    s = d.splits(("kick", "punch"))
    assert sum(int(v.sum()) for v in s.values()) == len(d.positions)
    kick = [i for i, inf in enumerate(d.clip_info()) if inf["content"] == "kick"]
    assert s["content_test"][np.isin(d.clip_index, kick)].all()
    # clip-level: no clip contributes frames to two splits
    for a in ("train", "val", "test"):
        for b in ("train", "val", "test"):
            if a < b:
                assert not set(d.clip_index[s[a]]) & set(d.clip_index[s[b]])
