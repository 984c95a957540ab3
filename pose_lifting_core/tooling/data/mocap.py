"""Motion-capture datasets: the registry (data), joint maps, and conversion into cached arrays.

Owns: the per-dataset facts (archive, reader, joint map from the file's joint names to the
17-joint skeleton, cache frame rate, licence and attribution), the conversion of each archive
into one cached `.npz` (metres, Y up, world frame of the capture), the content labels parsed from
clip names, and the clip-level splits.

A map entry is either a list of joint names (the joint is their mean), a dict
`{"joint": NAME, "local_offset": [x, y, z]}` (a point fixed in that joint's local frame, in the
file's units; Bandai's head centre, which it lacks), or `{"joint": NAME, "end_fraction": f}` (a
point the fraction f of the way from the joint to its BVH end site; ACCAD's head centre).
Acclaim ASF/AMC maps name bone ends (`lfemur` = the knee).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pose_lifting_core.skeleton import JOINT_NAMES, ROOT
from pose_lifting_core.tooling.data.bvh import BvhClip, BvhError, forward_kinematics, parse_bvh

BANDAI_ATTRIBUTION = (
    "Bandai Namco Research Motion Dataset, Bandai Namco Research Inc., CC BY-NC 4.0"
)
ACCAD_ATTRIBUTION = (
    "ACCAD MoCap Library, The Ohio State University Advanced Computing Center "
    "for the Arts and Design, CC BY 3.0"
)
HDM05_ATTRIBUTION = (
    "Motion Capture Database HDM05 (M. Mueller, T. Roeder, M. Clausen, "
    "B. Eberhardt, B. Krueger, A. Weber: Documentation Mocap Database HDM05, "
    "Tech. Report CG-2007-2, Universitaet Bonn, 2007), CC BY-SA 3.0"
)

CMU_ATTRIBUTION = (
    "CMU Graphics Lab Motion Capture Database, http://mocap.cs.cmu.edu (BVH conversion by "
    "cgspeed); the database was created with funding from NSF EIA-0196217"
)
_CMU_JOINTS = tuple(
    "Hips LHipJoint LeftUpLeg LeftLeg LeftFoot LeftToeBase RHipJoint RightUpLeg RightLeg "
    "RightFoot RightToeBase LowerBack Spine Spine1 Neck Neck1 Head LeftShoulder LeftArm "
    "LeftForeArm LeftHand LeftFingerBase LeftHandIndex1 LThumb RightShoulder RightArm "
    "RightForeArm RightHand RightFingerBase RightHandIndex1 RThumb".split()
)

SHARED_DATA = os.path.join("..", "shared", "data")
"""Where the archives live in the development checkout (users do not have it)."""

JOINT_MAPS: Dict[str, Dict[str, object]] = {
    # Bandai Namco Research Motion Dataset (centimetres, Y up). Bone axes run along local X.
    "bandai": {
        "units_to_m": 0.01,
        "pelvis": ["UpperLeg_L", "UpperLeg_R"],
        "right_hip": ["UpperLeg_R"],
        "right_knee": ["LowerLeg_R"],
        "right_ankle": ["Foot_R"],
        "left_hip": ["UpperLeg_L"],
        "left_knee": ["LowerLeg_L"],
        "left_ankle": ["Foot_L"],
        "spine": ["Spine"],
        "thorax": ["UpperArm_L", "UpperArm_R"],
        "neck": ["Neck"],
        "head": {"joint": "Head", "local_offset": [10.0, 0.0, 0.0]},
        "left_shoulder": ["UpperArm_L"],
        "left_elbow": ["LowerArm_L"],
        "left_wrist": ["Hand_L"],
        "right_shoulder": ["UpperArm_R"],
        "right_elbow": ["LowerArm_R"],
        "right_wrist": ["Hand_R"],
    },
    # ACCAD (Vicon exported through MotionBuilder; centimetres, Y up). The Head joint sits at the
    # skull base and its end site at the head top: the head centre is half way.
    "accad": {
        "units_to_m": 0.01,
        "pelvis": ["LeftUpLeg", "RightUpLeg"],
        "right_hip": ["RightUpLeg"],
        "right_knee": ["RightLeg"],
        "right_ankle": ["RightFoot"],
        "left_hip": ["LeftUpLeg"],
        "left_knee": ["LeftLeg"],
        "left_ankle": ["LeftFoot"],
        "spine": ["Spine"],
        "thorax": ["LeftArm", "RightArm"],
        "neck": ["Neck"],
        "head": {"joint": "Head", "end_fraction": 0.5},
        "left_shoulder": ["LeftArm"],
        "left_elbow": ["LeftForeArm"],
        "left_wrist": ["LeftHand"],
        "right_shoulder": ["RightArm"],
        "right_elbow": ["RightForeArm"],
        "right_wrist": ["RightHand"],
    },
    # HDM05 (Acclaim ASF/AMC): names are bone ends. units_to_m comes from the ASF header.
    "hdm05": {
        "pelvis": ["lhipjoint", "rhipjoint"],
        "right_hip": ["rhipjoint"],
        "right_knee": ["rfemur"],
        "right_ankle": ["rtibia"],
        "left_hip": ["lhipjoint"],
        "left_knee": ["lfemur"],
        "left_ankle": ["ltibia"],
        "spine": ["lowerback"],
        "thorax": ["lclavicle", "rclavicle"],
        "neck": ["lowerneck"],
        "head": ["upperneck", "head"],
        "left_shoulder": ["lclavicle"],
        "left_elbow": ["lhumerus"],
        "left_wrist": ["lradius"],
        "right_shoulder": ["rclavicle"],
        "right_elbow": ["rhumerus"],
        "right_wrist": ["rradius"],
    },
    # CMU Graphics Lab mocap in cgspeed's BVH conversion (OFFSET-only skeletons, Y up). Units:
    # CMU's factor (1 / 0.45) inches, 0.056444 m. `Hips` sits about 10 cm above the hip joints,
    # so the pelvis is mid-UpLeg as everywhere; `Head` is the skull base and its end site the
    # top of the head bone: the head centre is half way, as for ACCAD.
    "cmu": {
        "units_to_m": 0.0254 / 0.45,
        "pelvis": ["LeftUpLeg", "RightUpLeg"],
        "right_hip": ["RightUpLeg"],
        "right_knee": ["RightLeg"],
        "right_ankle": ["RightFoot"],
        "left_hip": ["LeftUpLeg"],
        "left_knee": ["LeftLeg"],
        "left_ankle": ["LeftFoot"],
        "spine": ["Spine"],
        "thorax": ["LeftArm", "RightArm"],
        "neck": ["Neck1"],
        "head": {"joint": "Head", "end_fraction": 0.5},
        "left_shoulder": ["LeftArm"],
        "left_elbow": ["LeftForeArm"],
        "left_wrist": ["LeftHand"],
        "right_shoulder": ["RightArm"],
        "right_elbow": ["RightForeArm"],
        "right_wrist": ["RightHand"],
    },
}


@dataclass(frozen=True)
class DatasetSpec:
    """What the project knows about one motion-capture set (data, not code)."""

    name: str
    archive: str  # path under SHARED_DATA: a .tar.xz archive or a folder of files
    reader: str  # "bvh" or "asf_amc"
    fps: float  # frame rate of the cache (every k-th frame of each clip is kept)
    attribution: str
    licence: str
    subjects: str  # how many people, in words (for the reports)
    expected_joints: Tuple[str, ...] = ()  # the joint names a normal clip has (deviations warn)
    frame_time_s: float = 0.0  # > 0: the true time between stored frames, when headers are wrong
    subject_from: str = "folder"  # "folder" (its name) or "file_prefix" (`18_12.bvh` -> "18")


DATASETS: Dict[str, DatasetSpec] = {
    "bandai": DatasetSpec(
        "bandai",
        os.path.join("bandai-namco-motion", "bvh.tar.xz"),
        "bvh",
        10.0,
        BANDAI_ATTRIBUTION,
        "CC BY-NC 4.0",
        "3 actors retargeted onto one skeleton",
    ),
    "accad": DatasetSpec(
        "accad",
        os.path.join("accad", "accad_bvh.tar.xz"),
        "bvh",
        30.0,
        ACCAD_ATTRIBUTION,
        "CC BY 3.0",
        "3 actors, own skeletons",
        (
            "Hips",
            "ToSpine",
            "Spine",
            "Spine1",
            "Neck",
            "Head",
            "LeftShoulder",
            "LeftArm",
            "LeftForeArm",
            "LeftHand",
            "RightShoulder",
            "RightArm",
            "RightForeArm",
            "RightHand",
            "LeftUpLeg",
            "LeftLeg",
            "LeftFoot",
            "LeftToeBase",
            "RightUpLeg",
            "RightLeg",
            "RightFoot",
            "RightToeBase",
        ),
    ),
    "hdm05": DatasetSpec(
        "hdm05",
        os.path.join("hdm05-subset", "hdm05_subset_amc.tar.xz"),
        "asf_amc",
        30.0,
        HDM05_ATTRIBUTION,
        "CC BY-SA 3.0",
        "5 actors, own skeletons",
    ),
    "cmu": DatasetSpec(
        "cmu",
        "cmu-sitting",
        "bvh",
        30.0,
        CMU_ATTRIBUTION,
        "CMU: free for research, may be included in commercial products, no resale",
        "12 subjects, own skeletons",
        _CMU_JOINTS,
        frame_time_s=1.0 / 30.0,
        subject_from="file_prefix",
    ),
}
"""Frame rates: Bandai's 416,845 frames at 30 fps are kept at 10 fps (neighbouring frames of its
mostly standing motions are near copies); ACCAD (30 and 120 fps) and HDM05 (120 fps) at 30 fps.
CMU-sitting stores windows of frames 1/30 s apart under a 120 Hz header: every frame is kept."""


def default_cache(name: str) -> str:
    """Where `prepare-data` writes a dataset's cache: cache/<name>_17.npz."""
    return os.path.join("cache", f"{name}_17.npz")


def default_archive(name: str) -> str:
    """A dataset's archive in the development checkout's ../shared/data."""
    return os.path.join(SHARED_DATA, DATASETS[name].archive)


def _map_positions(
    names: Sequence[str],
    pos: np.ndarray,
    joint_map: Dict[str, object],
    rot: Optional[np.ndarray] = None,
    end_sites: Optional[Dict[str, np.ndarray]] = None,
) -> np.ndarray:
    """Joint map applied to world positions (F, J, 3) of the joints `names` (file units)."""
    names = list(names)
    out = np.zeros((pos.shape[0], len(JOINT_NAMES), 3))
    for j, name in enumerate(JOINT_NAMES):
        entry = joint_map[name]
        if isinstance(entry, dict):
            k = names.index(entry["joint"])
            if "local_offset" in entry:
                local = np.asarray(entry["local_offset"], dtype=np.float64)
            else:
                local = float(entry["end_fraction"]) * end_sites[entry["joint"]]
            out[:, j] = pos[:, k] + rot[:, k] @ local
        else:
            out[:, j] = pos[:, [names.index(n) for n in entry]].mean(1)
    return out


def mapped_joint_names(joint_map: Dict[str, object]) -> List[str]:
    """Every file joint name a map reads."""
    used = []
    for name in JOINT_NAMES:
        entry = joint_map[name]
        used += [entry["joint"]] if isinstance(entry, dict) else list(entry)
    return used


def clip_to_skeleton17(clip: BvhClip, joint_map: Dict[str, object]) -> np.ndarray:
    """Forward kinematics, then the joint map: (F, 17, 3) world positions in metres."""
    pos, rot = forward_kinematics(clip)
    ends = {j.name: j.end_site for j in clip.joints if j.end_site is not None}
    return _map_positions(clip.names, pos, joint_map, rot, ends) * float(joint_map["units_to_m"])


def parse_clip_name(name: str) -> Dict[str, str]:
    """`dataset-2_raise-up-both-hands_active_001.bvh` -> set, content, style, take."""
    stem = os.path.basename(name).rsplit(".", 1)[0]
    parts = stem.split("_")
    return {
        "set": parts[0],
        "content": "_".join(parts[1:-2]),
        "style": parts[-2],
        "take": parts[-1],
    }


def _split_of(name: str, val_frac: float, test_frac: float) -> str:
    h = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if h < test_frac else "val" if h < test_frac + val_frac else "train"


@dataclass
class MocapSet:
    """17-joint world positions of many clips, concatenated.

    positions: (N, 17, 3) metres, Y up. clip_index: (N,) index into clip_names. clip_subjects:
    the person of each clip ("" where the dataset does not say). dataset: a DATASETS name.
    """

    positions: np.ndarray
    clip_index: np.ndarray
    clip_names: List[str]
    clip_subjects: List[str] = field(default_factory=list)
    dataset: str = "bandai"

    def clip_info(self) -> List[Dict[str, str]]:
        return [parse_clip_name(n) for n in self.clip_names]

    def frame_subjects(self) -> np.ndarray:
        """The person of each frame (N,) as strings."""
        subjects = self.clip_subjects or [""] * len(self.clip_names)
        return np.asarray(subjects)[self.clip_index]

    def splits(
        self, heldout_content: Sequence[str] = (), val_frac: float = 0.1, test_frac: float = 0.1
    ) -> Dict[str, np.ndarray]:
        """Clip-level splits as frame masks.

        train/val/test hold out whole clips (by a hash of the clip name, so stable); every clip
        whose content is in `heldout_content` goes to `content_test` and nowhere else.
        """
        info = self.clip_info()
        labels = np.array(
            [
                (
                    "content_test"
                    if i["content"] in heldout_content
                    else _split_of(n, val_frac, test_frac)
                )
                for n, i in zip(self.clip_names, info)
            ]
        )
        frame_label = labels[self.clip_index]
        return {k: frame_label == k for k in ("train", "val", "test", "content_test")}

    def save(self, path: str) -> None:
        """Write the cache: the pelvis in float32 and the joints relative to it in float16
        (rounding under 0.5 mm within 2 m of the pelvis), about half the size of float32."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp.npz"
        pelvis = self.positions[:, ROOT].astype(np.float32)
        rel = (self.positions - self.positions[:, ROOT : ROOT + 1]).astype(np.float16)
        np.savez(
            tmp,
            pelvis=pelvis,
            relative=rel,
            clip_index=self.clip_index.astype(np.int32),
            clip_names=np.array(self.clip_names),
            clip_subjects=np.array(self.clip_subjects),
            dataset=np.array(self.dataset),
        )
        os.replace(tmp, path)

    @staticmethod
    def load(path: str) -> "MocapSet":
        """Read a cache written by `save` (or the older float32 `positions` format)."""
        with np.load(path) as z:
            if "positions" in z:
                positions = z["positions"].astype(np.float32)
            else:
                positions = z["relative"].astype(np.float32) + z["pelvis"][:, None]
            subjects = [str(s) for s in z["clip_subjects"]] if "clip_subjects" in z else []
            dataset = str(z["dataset"]) if "dataset" in z else "bandai"
            return MocapSet(
                positions, z["clip_index"], [str(s) for s in z["clip_names"]], subjects, dataset
            )


class DatasetError(ValueError):
    """A dataset archive that cannot be read (missing, or with no usable clip)."""


def _source_files(archive: str, suffixes: Tuple[str, ...]):
    """(path inside the archive or folder, text) of every file whose name ends in a suffix,
    streamed from a `.tar.xz` (no unpacking) or read from a folder, in sorted order there."""
    if os.path.isdir(archive):
        for base in sorted(os.listdir(archive)):
            path = os.path.join(archive, base)
            if os.path.isfile(path) and base.lower().endswith(suffixes):
                with open(path, "r", encoding="utf-8", errors="replace") as fh:
                    yield path, fh.read()
        return
    with tarfile.open(archive, "r:xz") as tar:
        for member in tar:
            if member.isfile() and member.name.lower().endswith(suffixes):
                text = io.TextIOWrapper(
                    tar.extractfile(member), encoding="utf-8", errors="replace"
                ).read()
                yield member.name, text


def _subject(path: str, spec: DatasetSpec) -> str:
    """The person of a clip: its folder's name, or its file name's prefix (`18_12.bvh` -> 18)."""
    if spec.subject_from == "file_prefix":
        return os.path.basename(path).split("_")[0]
    return os.path.basename(os.path.dirname(path)).replace("_bvh", "")


def _bvh_clips(archive: str, spec: DatasetSpec, joint_map: Dict[str, object]):
    """(clip name, subject, frames (F, 17, 3) m, frame time s) for every usable BVH clip."""
    needed = set(mapped_joint_names(joint_map))
    for path, text in _source_files(archive, (".bvh",)):
        name = os.path.basename(path)
        try:
            clip = parse_bvh(text)
        except BvhError as exc:
            warnings.warn(f"{spec.name}: skipping {name}: {exc}")
            continue
        names = set(clip.names)
        if spec.expected_joints and names != set(spec.expected_joints):
            lacks = sorted(set(spec.expected_joints) - names)
            extra = sorted(names - set(spec.expected_joints))
            if needed <= names:
                warnings.warn(
                    f"{spec.name}: {name} deviates from the usual skeleton "
                    f"(lacks {lacks or 'nothing'}, extra {extra or 'nothing'}); "
                    "the joint map does not use those joints, so it is kept"
                )
            else:
                warnings.warn(
                    f"{spec.name}: skipping {name}: it lacks the mapped joints "
                    f"{sorted(needed - names)}"
                )
                continue
        frame_time = spec.frame_time_s or clip.frame_time
        yield name, _subject(path, spec), clip_to_skeleton17(clip, joint_map), frame_time


def _asf_amc_clips(archive: str, spec: DatasetSpec, joint_map: Dict[str, object]):
    """(clip name, subject, frames (F, 17, 3) m, frame time s) for every usable AMC clip.

    Subjects come from file names (`HDM_bd_....amc` uses `HDM_bd.asf`); HDM05 is 120 fps."""
    from pose_lifting_core.tooling.data import asf

    skeletons, motions = {}, []
    # the ASF files may come after the AMC files: read everything first
    for path, text in _source_files(archive, (".asf", ".amc")):
        base = os.path.basename(path)
        if base.lower().endswith(".asf"):
            skeletons[base[:-4]] = asf.parse_asf(text)
        elif base.lower().endswith(".amc"):
            motions.append((base, text))
    for base, text in sorted(motions):
        key = "_".join(base.split("_")[:2])
        if key not in skeletons:
            warnings.warn(f"{spec.name}: skipping {base}: no skeleton {key}.asf in the archive")
            continue
        skel = skeletons[key]
        try:
            names, pos = asf.forward_kinematics(skel, asf.parse_amc(text, skel))
        except asf.AsfError as exc:
            warnings.warn(f"{spec.name}: skipping {base}: {exc}")
            continue
        pts = _map_positions(names, pos, joint_map) * asf.units_to_m(skel)
        yield base, key.split("_", 1)[-1], pts, 1.0 / 120.0


def convert_dataset(
    name: str,
    archive: Optional[str] = None,
    out_path: Optional[str] = None,
    fps: Optional[float] = None,
    progress: bool = True,
) -> MocapSet:
    """Stream one DATASETS archive (no unpacking to disk) into a cached 17-joint `.npz`.

    Each clip keeps every k-th frame, k = round(clip fps / fps) (at least 1); fps defaults to
    the dataset's. Clips that cannot be read or lack a mapped joint are skipped with a warning
    naming them; clips whose skeleton deviates in joints the map does not use are kept, with a
    warning. A sidecar `<cache>.json` records the source, counts and attribution.
    """
    from tqdm import tqdm

    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    spec = DATASETS[name]
    archive = archive or default_archive(name)
    out_path = out_path or default_cache(name)
    fps = float(fps or spec.fps)
    if not os.path.exists(archive):
        raise DatasetError(f"{name}: archive not found: {archive}")
    joint_map = JOINT_MAPS[name]
    reader = _bvh_clips if spec.reader == "bvh" else _asf_amc_clips
    chunks, index, names, subjects = [], [], [], []
    bar = tqdm(unit="clip", desc=name, disable=not progress)
    for clip_name, subject, pts, frame_time in reader(archive, spec, joint_map):
        step = max(1, int(round(1.0 / (max(frame_time, 1e-6) * fps))))
        pts = pts[::step]
        index.append(np.full(len(pts), len(names), dtype=np.int32))
        names.append(clip_name)
        subjects.append(subject)
        chunks.append(pts.astype(np.float32))
        bar.update(1)
    bar.close()
    if not chunks:
        raise DatasetError(f"{name}: no usable clip in {archive}")
    data = MocapSet(np.concatenate(chunks), np.concatenate(index), names, subjects, name)
    data.save(out_path)
    with open(out_path + ".json", "w") as fh:
        json.dump(
            {
                "dataset": name,
                "source": os.path.abspath(archive),
                "clips": len(names),
                "frames": int(len(data.positions)),
                "fps": fps,
                "subjects": sorted(set(subjects)),
                "attribution": spec.attribution,
            },
            fh,
            indent=1,
        )
    return data


def load_dataset(
    name: str, cache: Optional[str] = None, archive: Optional[str] = None
) -> MocapSet:
    """A dataset's cached arrays, converting its archive on first use."""
    cache = cache or default_cache(name)
    if not os.path.isfile(cache):
        archive = archive or default_archive(name)
        if not os.path.exists(archive):
            raise FileNotFoundError(
                f"no mocap cache at {cache} and no archive at {archive} "
                f"(dataset {name}; run `pose-lifting prepare-data`)"
            )
        convert_dataset(name, archive, cache, progress=False)
    data = MocapSet.load(cache)
    data.dataset = name
    return data
