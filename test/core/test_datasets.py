"""The dataset registry and conversion: hand-made ACCAD-style BVH and HDM05-style ASF/AMC
archives with known answers, the cache format, and (with ../shared) the real archives."""

import io
import os
import tarfile

import numpy as np
import pytest

from conftest import SHARED
from pose_lifting_core.tooling.data.mocap import (
    DATASETS,
    JOINT_MAPS,
    DatasetError,
    MocapSet,
    convert_dataset,
    load_dataset,
    mapped_joint_names,
)
from pose_lifting_core.skeleton import JOINT_NAMES
from pose_lifting_core.tooling.data.poses import stature_m

J = {n: i for i, n in enumerate(JOINT_NAMES)}

# ACCAD-style skeleton (cm, Y up): name -> (parent, offset); end sites on Head, hands and toes.
_ACCAD = {
    "Hips": (None, (0, 95, 0)),
    "ToSpine": ("Hips", (0, 8, 0)),
    "Spine": ("ToSpine", (0, 10, 0)),
    "Spine1": ("Spine", (0, 20, 0)),
    "Neck": ("Spine1", (0, 25, 0)),
    "Head": ("Neck", (0, 10, 0)),
    "LeftShoulder": ("Spine1", (3, 20, 0)),
    "LeftArm": ("LeftShoulder", (15, 0, 0)),
    "LeftForeArm": ("LeftArm", (27, 0, 0)),
    "LeftHand": ("LeftForeArm", (25, 0, 0)),
    "RightShoulder": ("Spine1", (-3, 20, 0)),
    "RightArm": ("RightShoulder", (-15, 0, 0)),
    "RightForeArm": ("RightArm", (-27, 0, 0)),
    "RightHand": ("RightForeArm", (-25, 0, 0)),
    "LeftUpLeg": ("Hips", (9, -5, 0)),
    "LeftLeg": ("LeftUpLeg", (0, -43, 0)),
    "LeftFoot": ("LeftLeg", (0, -42, 0)),
    "LeftToeBase": ("LeftFoot", (0, -5, 12)),
    "RightUpLeg": ("Hips", (-9, -5, 0)),
    "RightLeg": ("RightUpLeg", (0, -43, 0)),
    "RightFoot": ("RightLeg", (0, -42, 0)),
    "RightToeBase": ("RightFoot", (0, -5, 12)),
}
_ENDS = {
    "Head": (0, 18, 0),
    "LeftHand": (10, 0, 0),
    "RightHand": (-10, 0, 0),
    "LeftToeBase": (0, 0, 5),
    "RightToeBase": (0, 0, 5),
}


def _bvh(skeleton, frames=8, frame_time=1 / 30):
    children = {}
    for name, (parent, _) in skeleton.items():
        children.setdefault(parent, []).append(name)

    def emit(name, depth):
        pad = "  " * depth
        channels = (
            "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
            if depth == 0
            else "CHANNELS 3 Zrotation Xrotation Yrotation"
        )
        out = [
            f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}",
            pad + "{",
            f"{pad}  OFFSET {' '.join(map(str, skeleton[name][1]))}",
            f"{pad}  {channels}",
        ]
        for c in children.get(name, []):
            out += emit(c, depth + 1)
        if not children.get(name):
            end = _ENDS.get(name, (0, 5, 0))
            out += [
                f"{pad}  End Site",
                pad + "  {",
                f"{pad}    OFFSET {' '.join(map(str, end))}",
                pad + "  }",
            ]
        return out + [pad + "}"]

    n_ch = 6 + 3 * (len(skeleton) - 1)
    rows = [" ".join(["0", "95", str(10 * k)] + ["0"] * (n_ch - 3)) for k in range(frames)]
    return (
        "\n".join(
            ["HIERARCHY"]
            + emit("Hips", 0)
            + ["MOTION", f"Frames: {frames}", f"Frame Time: {frame_time}"]
            + rows
        )
        + "\n"
    )


def _tar(path, files):
    with tarfile.open(path, "w:xz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_bvh_archive_with_deviating_clips(tmp_path):
    no_tospine = {k: v for k, v in _ACCAD.items() if k != "ToSpine"}
    no_tospine["Spine"] = ("Hips", (0, 18, 0))
    no_foot = {k: v for k, v in _ACCAD.items() if k != "LeftFoot"}
    no_foot["LeftToeBase"] = ("LeftLeg", (0, -45, 12))
    archive = str(tmp_path / "accad.tar.xz")
    _tar(
        archive,
        {
            "accad/Female1_bvh/Female1_A01_Stand.bvh": _bvh(_ACCAD),
            "accad/Male2_bvh/Male2_A02_Fast.bvh": _bvh(_ACCAD, frames=8, frame_time=1 / 120),
            "accad/Male2_bvh/Male2_B24_NoToSpine.bvh": _bvh(no_tospine),
            "accad/Male2_bvh/Male2_X_NoFoot.bvh": _bvh(no_foot),
            "accad/Male2_bvh/Male2_X_Broken.bvh": "HIERARCHY\nROOT Hips\n{\n",
        },
    )
    with pytest.warns(UserWarning) as caught:
        d = convert_dataset(
            "accad", archive, str(tmp_path / "accad_17.npz"), fps=30, progress=False
        )
    messages = " | ".join(str(w.message) for w in caught)
    assert (
        "Male2_B24_NoToSpine.bvh deviates from the usual skeleton (lacks ['ToSpine']" in messages
    )
    assert "it is kept" in messages
    assert "skipping Male2_X_NoFoot.bvh: it lacks the mapped joints ['LeftFoot']" in messages
    assert "skipping Male2_X_Broken.bvh" in messages
    assert sorted(d.clip_names) == [
        "Female1_A01_Stand.bvh",
        "Male2_A02_Fast.bvh",
        "Male2_B24_NoToSpine.bvh",
    ]
    assert sorted(set(d.clip_subjects)) == ["Female1", "Male2"] and d.dataset == "accad"
    counts = np.bincount(d.clip_index)
    assert sorted(counts.tolist()) == [2, 8, 8]  # the 120 fps clip keeps every 4th frame
    P = d.positions[0]
    np.testing.assert_allclose(P[J["pelvis"]], [0, 0.90, 0], atol=1e-6)  # mid-UpLeg
    np.testing.assert_allclose(P[J["head"]], [0, 1.77, 0], atol=1e-6)  # half way to the head top
    np.testing.assert_allclose(P[J["thorax"]], [0, 1.53, 0], atol=1e-6)  # mid-Arm
    np.testing.assert_allclose(P[J["left_ankle"]], [0.09, 0.05, 0], atol=1e-6)
    loaded = MocapSet.load(str(tmp_path / "accad_17.npz"))
    assert loaded.clip_subjects == d.clip_subjects and loaded.dataset == "accad"


# HDM05-style ASF: name -> (parent, direction, length in ASF units, where 1 unit = 0.0254/0.45 m)
_HDM = {
    "lhipjoint": ("root", (1, -1, 0), 1.6),
    "lfemur": ("lhipjoint", (0, -1, 0), 7.5),
    "ltibia": ("lfemur", (0, -1, 0), 7.5),
    "rhipjoint": ("root", (-1, -1, 0), 1.6),
    "rfemur": ("rhipjoint", (0, -1, 0), 7.5),
    "rtibia": ("rfemur", (0, -1, 0), 7.5),
    "lowerback": ("root", (0, 1, 0), 2.0),
    "upperback": ("lowerback", (0, 1, 0), 2.0),
    "thorax": ("upperback", (0, 1, 0), 2.0),
    "lowerneck": ("thorax", (0, 1, 0), 1.5),
    "upperneck": ("lowerneck", (0, 1, 0), 1.5),
    "head": ("upperneck", (0, 1, 0), 1.5),
    "lclavicle": ("thorax", (1, 0, 0), 3.0),
    "lhumerus": ("lclavicle", (1, 0, 0), 5.0),
    "lradius": ("lhumerus", (1, 0, 0), 4.0),
    "rclavicle": ("thorax", (-1, 0, 0), 3.0),
    "rhumerus": ("rclavicle", (-1, 0, 0), 5.0),
    "rradius": ("rhumerus", (-1, 0, 0), 4.0),
}
_UNIT = 0.0254 / 0.45


def _asf():
    out = [
        ":version 1.10",
        ":name TEST",
        ":units",
        "  mass 1.0",
        "  length 0.45",
        "  angle deg",
        ":root",
        "  order TX TY TZ RX RY RZ",
        "  axis XYZ",
        "  position 0 0 0",
        "  orientation 0 0 0",
        ":bonedata",
    ]
    for k, (name, (_, d, length)) in enumerate(_HDM.items(), 1):
        out += [
            "  begin",
            f"    id {k}",
            f"    name {name}",
            f"    direction {' '.join(map(str, d))}",
            f"    length {length}",
            "    axis 0 0 0 XYZ",
            "    dof rx ry rz",
            "  end",
        ]
    out += [":hierarchy", "  begin"]
    parents = {}
    for name, (parent, _, _) in _HDM.items():
        parents.setdefault(parent, []).append(name)
    out += [f"    {p} {' '.join(c)}" for p, c in parents.items()] + ["  end"]
    return "\n".join(out) + "\n"


def _amc(frames):
    out = [":FULLY-SPECIFIED", ":DEGREES"]
    for k in range(frames):
        out += [str(k + 1), f"root 0 {15.0 + k} 0 0 0 0"]
    return "\n".join(out) + "\n"


def test_asf_amc_archive(tmp_path):
    archive = str(tmp_path / "hdm.tar.xz")
    _tar(
        archive,
        {
            "hdm05/amc/HDM_xx_walk_001_120.amc": _amc(12),
            "hdm05/amc/HDM_zz_walk_001_120.amc": _amc(4),
            "hdm05/asf/HDM_xx.asf": _asf(),
        },
    )
    with pytest.warns(
        UserWarning, match=r"skipping HDM_zz_walk_001_120.amc: no skeleton HDM_zz.asf"
    ):
        d = convert_dataset("hdm05", archive, str(tmp_path / "hdm05_17.npz"), progress=False)
    assert d.clip_names == ["HDM_xx_walk_001_120.amc"] and d.clip_subjects == ["xx"]
    assert len(d.positions) == 3  # 12 frames at 120 fps, kept at 30 fps
    P = d.positions[1]  # the 5th file frame: root at y = 19 units
    root_y = 19.0 * _UNIT
    hip = np.array([1, -1, 0]) / np.sqrt(2) * 1.6 * _UNIT
    np.testing.assert_allclose(P[J["left_hip"]], [hip[0], root_y + hip[1], 0], atol=1e-5)
    np.testing.assert_allclose(P[J["pelvis"]], [0, root_y + hip[1], 0], atol=1e-5)
    np.testing.assert_allclose(
        P[J["left_knee"]] - P[J["left_hip"]], [0, -7.5 * _UNIT, 0], atol=1e-5
    )
    np.testing.assert_allclose(
        P[J["head"]], [0, root_y + (6.0 + 1.5 + 1.5 + 0.75) * _UNIT, 0], atol=1e-5
    )
    np.testing.assert_allclose(
        P[J["left_wrist"]], [12.0 * _UNIT, root_y + 6.0 * _UNIT, 0], atol=1e-5
    )


def test_cache_keeps_positions_to_half_a_millimetre(tmp_path):
    rng = np.random.default_rng(0)
    rel = rng.uniform(-1.99, 1.99, (500, 17, 3))  # within 2 m of the pelvis (joint 0)
    rel[:, 0] = 0.0
    P = rel + rng.normal(0, 20.0, (500, 1, 3))  # the pelvis anywhere, up to tens of metres
    MocapSet(P.astype(np.float32), np.zeros(500, np.int32), ["c"], ["s"], "accad").save(
        str(tmp_path / "c.npz")
    )
    back = MocapSet.load(str(tmp_path / "c.npz"))
    assert np.abs(back.positions - P).max() < 5e-4
    np.testing.assert_allclose(back.positions[:, 0], P[:, 0], atol=1e-5)  # the pelvis is float32


def test_conversion_errors_name_the_problem(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'cmu2'"):
        convert_dataset("cmu2")
    with pytest.raises(DatasetError, match="hdm05: archive not found: .*none.tar.xz"):
        convert_dataset("hdm05", str(tmp_path / "none.tar.xz"), str(tmp_path / "x.npz"))
    archive = str(tmp_path / "empty.tar.xz")
    _tar(archive, {"accad/readme.txt": "nothing"})
    with pytest.raises(DatasetError, match="accad: no usable clip in"):
        convert_dataset("accad", archive, str(tmp_path / "x.npz"), progress=False)
    with pytest.raises(
        FileNotFoundError, match="no mocap cache .* run `pose-lifting prepare-data`"
    ):
        load_dataset("accad", str(tmp_path / "missing.npz"), str(tmp_path / "missing.tar.xz"))


def test_every_registered_dataset_has_a_complete_map():
    for name in DATASETS:
        assert set(JOINT_NAMES) <= set(JOINT_MAPS[name]), name
        assert mapped_joint_names(JOINT_MAPS[name])


# --- the real archives (../shared) ---------------------------------------------------------------
_HEIGHTS = {
    "accad": {"Female1": 1.62, "Male1": 1.86, "Male2": 1.77},
    "hdm05": {"bd": 1.61, "bk": 1.79, "dg": 1.65, "mm": 1.59, "tr": 1.67},
}


@pytest.mark.parametrize("name, clips, frames", [("accad", 299, 53585), ("hdm05", 288, 17951)])
def test_real_archives_convert_with_each_actor_at_their_height(tmp_path, name, clips, frames):
    archive = os.path.join(SHARED, "data", DATASETS[name].archive)
    if not os.path.isfile(archive):
        pytest.skip(
            f"needs ../shared (the {name} archive at {archive}); "
            "users and some CI machines lack it"
        )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the three ACCAD clips without ToSpine (tested above)
        d = convert_dataset(name, archive, str(tmp_path / f"{name}.npz"), progress=False)
    assert len(d.clip_names) == clips and len(d.positions) == frames
    subjects = d.frame_subjects()
    for person, height in _HEIGHTS[name].items():
        est = np.median(stature_m(d.positions[subjects == person]))
        assert abs(est / height - 1) < 0.035, (person, est, height)  # poses.STATURE_PER_LEG


# --- CMU-sitting: cgspeed-style BVH files in a folder --------------------------------------------
# name -> (parent, offset in CMU units, 1 unit = 0.0254 / 0.45 m); zero offsets as in cgspeed's
# LHipJoint, LowerBack, Neck and LeftShoulder, which only add a rotation.
_CMU = {
    "Hips": (None, (0, 0, 0)),
    "LHipJoint": ("Hips", (0, 0, 0)),
    "LeftUpLeg": ("LHipJoint", (1.0, -2.0, 0.5)),
    "LeftLeg": ("LeftUpLeg", (0, -7.5, 0)),
    "LeftFoot": ("LeftLeg", (0, -7.5, 0)),
    "LeftToeBase": ("LeftFoot", (0, -0.5, 2.0)),
    "RHipJoint": ("Hips", (0, 0, 0)),
    "RightUpLeg": ("RHipJoint", (-1.0, -2.0, 0.5)),
    "RightLeg": ("RightUpLeg", (0, -7.5, 0)),
    "RightFoot": ("RightLeg", (0, -7.5, 0)),
    "RightToeBase": ("RightFoot", (0, -0.5, 2.0)),
    "LowerBack": ("Hips", (0, 0, 0)),
    "Spine": ("LowerBack", (0, 2.0, 0)),
    "Spine1": ("Spine", (0, 2.0, 0)),
    "Neck": ("Spine1", (0, 0, 0)),
    "Neck1": ("Neck", (0, 1.5, 0)),
    "Head": ("Neck1", (0, 1.5, 0)),
    "LeftShoulder": ("Spine1", (0, 0, 0)),
    "LeftArm": ("LeftShoulder", (3.0, 0.5, 0)),
    "LeftForeArm": ("LeftArm", (5.0, 0, 0)),
    "LeftHand": ("LeftForeArm", (4.0, 0, 0)),
    "LeftFingerBase": ("LeftHand", (0, 0, 0)),
    "LeftHandIndex1": ("LeftFingerBase", (0.7, 0, 0)),
    "LThumb": ("LeftHand", (0, 0, 0)),
    "RightShoulder": ("Spine1", (0, 0, 0)),
    "RightArm": ("RightShoulder", (-3.0, 0.5, 0)),
    "RightForeArm": ("RightArm", (-5.0, 0, 0)),
    "RightHand": ("RightForeArm", (-4.0, 0, 0)),
    "RightFingerBase": ("RightHand", (0, 0, 0)),
    "RightHandIndex1": ("RightFingerBase", (-0.7, 0, 0)),
    "RThumb": ("RightHand", (0, 0, 0)),
}
_CMU_ENDS = {"Head": (0, 1.6, 0)}


def _cgspeed_bvh(root_rows):
    """A cgspeed-style file: root channels X/Y/Z position then Z, Y, X rotation, every other
    joint Z, Y, X rotation (all 0 here), a 120 Hz header; root_rows = [(x, y, z, rz, ry, rx)]."""
    children = {}
    for name, (parent, _) in _CMU.items():
        children.setdefault(parent, []).append(name)

    def emit(name, depth):
        pad = "\t" * depth
        channels = (
            "CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"
            if depth == 0
            else "CHANNELS 3 Zrotation Yrotation Xrotation"
        )
        out = [
            f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}",
            pad + "{",
            f"{pad}\tOFFSET {' '.join(map(str, _CMU[name][1]))}",
            f"{pad}\t{channels}",
        ]
        for c in children.get(name, []):
            out += emit(c, depth + 1)
        if not children.get(name):
            end = _CMU_ENDS.get(name, (0.5, 0, 0))
            out += [f"{pad}\tEnd Site", pad + "\t{", f"{pad}\t\tOFFSET {' '.join(map(str, end))}"]
            out += [pad + "\t}"]
        return out + [pad + "}"]

    n_ch = 6 + 3 * (len(_CMU) - 1)
    rows = [" ".join(map(str, list(r) + [0] * (n_ch - 6))) for r in root_rows]
    head = ["HIERARCHY"] + emit("Hips", 0)
    return "\n".join(head + ["MOTION", f"Frames: {len(rows)}", "Frame Time: .0083333"] + rows)


def test_cmu_sitting_folder_of_cgspeed_bvh(tmp_path):
    folder = tmp_path / "cmu-sitting"
    folder.mkdir()
    rows = [(0, 17, 0, 0, 0, 0), (0, 17, 0, 0, 90, 0), (0, 17, 0, 90, 0, 90), (2, 10, 0, 0, 0, 0)]
    (folder / "18_12.bvh").write_text(_cgspeed_bvh(rows))
    (folder / "111_09.bvh").write_text(_cgspeed_bvh(rows[:2]))
    (folder / "README.md").write_text("not a clip")
    d = convert_dataset("cmu", str(folder), str(tmp_path / "cmu_17.npz"), progress=False)
    # every stored frame is kept: they are 1/30 s apart whatever the 120 Hz header says
    assert sorted(d.clip_names) == ["111_09.bvh", "18_12.bvh"] and len(d.positions) == 6
    assert sorted(d.clip_subjects) == ["111", "18"] and d.dataset == "cmu"
    P = d.positions[d.clip_index == d.clip_names.index("18_12.bvh")]
    u = 0.0254 / 0.45  # CMU's unit (its README: 0.056444 m)
    np.testing.assert_allclose(P[0, J["left_hip"]], np.array([1.0, 15.0, 0.5]) * u, atol=1e-6)
    np.testing.assert_allclose(P[0, J["pelvis"]], np.array([0, 15.0, 0.5]) * u, atol=1e-6)
    np.testing.assert_allclose(P[0, J["left_ankle"]], np.array([1.0, 0.0, 0.5]) * u, atol=1e-6)
    # head: half way from the Head joint (y 17 + 4 + 1.5 + 1.5) to its end site (+1.6)
    np.testing.assert_allclose(P[0, J["head"]], np.array([0, 24.8, 0]) * u, atol=1e-6)
    np.testing.assert_allclose(P[0, J["neck"]], np.array([0, 22.5, 0]) * u, atol=1e-6)
    np.testing.assert_allclose(P[0, J["thorax"]], np.array([0, 21.5, 0]) * u, atol=1e-6)
    np.testing.assert_allclose(P[0, J["left_wrist"]], np.array([12.0, 21.5, 0]) * u, atol=1e-6)
    # root Y rotation 90 degrees: the hip offset (1, -2, 0.5) turns to (0.5, -2, -1)
    np.testing.assert_allclose(P[1, J["left_hip"]], np.array([0.5, 15.0, -1.0]) * u, atol=1e-6)
    # Z 90 then X 90, in the listed order (R = Rz Rx): (1, -2, 0.5) -> (0.5, 1, -2)
    np.testing.assert_allclose(P[2, J["left_hip"]], np.array([0.5, 18.0, -2.0]) * u, atol=1e-6)
    np.testing.assert_allclose(P[3, J["pelvis"]], np.array([2.0, 8.0, 0.5]) * u, atol=1e-6)
    assert abs(stature_m(P[:1])[0] - 2 * 15.0 * u) < 1e-5  # legs of 15 units: 1.69 m


def test_real_cmu_sitting_converts_with_plausible_people(tmp_path):
    from pose_lifting_core.tooling.data.poses import CATEGORIES, pose_categories

    folder = os.path.join(SHARED, "data", DATASETS["cmu"].archive)
    if not os.path.isdir(folder):
        pytest.skip(f"needs ../shared (the CMU-sitting folder at {folder}); users lack it")
    d = convert_dataset("cmu", folder, str(tmp_path / "cmu.npz"), progress=False)
    assert len(d.clip_names) == 21 and len(d.positions) == 819  # its README: 21 x 39 frames
    assert len(set(d.clip_subjects)) == 12
    subjects = d.frame_subjects()
    for s in set(subjects):
        assert 1.40 < np.median(stature_m(d.positions[subjects == s])) < 1.90, s
    seated = (pose_categories(d.positions) == CATEGORIES.index("seated")).sum()
    assert seated >= 300  # its README: 92 of 168 windows look seated
