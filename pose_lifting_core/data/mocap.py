"""Motion-capture datasets: joint maps (data) and conversion into cached 17-joint arrays.

Owns: the per-dataset map from BVH joint names to the 17-joint skeleton, the conversion of the
Bandai Namco archive into one cached `.npz` (metres, Y up, world frame of the capture), the
content labels parsed from clip names, and the clip-level splits.

A map entry is either a list of BVH joint names (the joint is their mean) or a dict
`{"joint": NAME, "local_offset": [x, y, z]}`: a point fixed in that joint's local frame, in the
file's units (used for the head centre, which Bandai lacks: its Head joint sits at the skull base
and its end site has zero offset).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np

from pose_lifting_core.data.bvh import BvhClip, forward_kinematics, parse_bvh
from pose_lifting_core.skeleton import JOINT_NAMES

BANDAI_ATTRIBUTION = ("Bandai Namco Research Motion Dataset, Bandai Namco Research Inc., "
                      "CC BY-NC 4.0")

JOINT_MAPS: Dict[str, Dict[str, object]] = {
    # Bandai Namco Research Motion Dataset (centimetres, Y up). Bone axes run along local X.
    "bandai": {
        "units_to_m": 0.01,
        "pelvis": ["UpperLeg_L", "UpperLeg_R"],
        "right_hip": ["UpperLeg_R"], "right_knee": ["LowerLeg_R"], "right_ankle": ["Foot_R"],
        "left_hip": ["UpperLeg_L"], "left_knee": ["LowerLeg_L"], "left_ankle": ["Foot_L"],
        "spine": ["Spine"],
        "thorax": ["UpperArm_L", "UpperArm_R"],
        "neck": ["Neck"],
        "head": {"joint": "Head", "local_offset": [10.0, 0.0, 0.0]},
        "left_shoulder": ["UpperArm_L"], "left_elbow": ["LowerArm_L"], "left_wrist": ["Hand_L"],
        "right_shoulder": ["UpperArm_R"], "right_elbow": ["LowerArm_R"], "right_wrist": ["Hand_R"],
    },
    # CMU Graphics Lab mocap as converted to BVH (OFFSET-only skeletons; inches*scale, Y up).
    "cmu": {
        "units_to_m": 0.0254 * 0.45,
        "pelvis": ["LeftUpLeg", "RightUpLeg"],
        "right_hip": ["RightUpLeg"], "right_knee": ["RightLeg"], "right_ankle": ["RightFoot"],
        "left_hip": ["LeftUpLeg"], "left_knee": ["LeftLeg"], "left_ankle": ["LeftFoot"],
        "spine": ["Spine"], "thorax": ["LeftArm", "RightArm"], "neck": ["Neck1"],
        "head": ["Head"],
        "left_shoulder": ["LeftArm"], "left_elbow": ["LeftForeArm"], "left_wrist": ["LeftHand"],
        "right_shoulder": ["RightArm"], "right_elbow": ["RightForeArm"], "right_wrist": ["RightHand"],
    },
}


def clip_to_skeleton17(clip: BvhClip, joint_map: Dict[str, object]) -> np.ndarray:
    """Forward kinematics, then the joint map: (F, 17, 3) world positions in metres."""
    pos, rot = forward_kinematics(clip)
    names = clip.names
    out = np.zeros((pos.shape[0], len(JOINT_NAMES), 3))
    for j, name in enumerate(JOINT_NAMES):
        entry = joint_map[name]
        if isinstance(entry, dict):
            k = names.index(entry["joint"])
            out[:, j] = pos[:, k] + rot[:, k] @ np.asarray(entry["local_offset"], dtype=np.float64)
        else:
            out[:, j] = pos[:, [names.index(n) for n in entry]].mean(1)
    return out * float(joint_map["units_to_m"])


def parse_clip_name(name: str) -> Dict[str, str]:
    """`dataset-2_raise-up-both-hands_active_001.bvh` -> set, content, style, take."""
    stem = os.path.basename(name).rsplit(".", 1)[0]
    parts = stem.split("_")
    return {"set": parts[0], "content": "_".join(parts[1:-2]), "style": parts[-2], "take": parts[-1]}


def _split_of(name: str, val_frac: float, test_frac: float) -> str:
    h = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if h < test_frac else "val" if h < test_frac + val_frac else "train"


@dataclass
class MocapSet:
    """17-joint world positions of many clips, concatenated.

    positions: (N, 17, 3) metres, Y up. clip_index: (N,) index into clip_names.
    """

    positions: np.ndarray
    clip_index: np.ndarray
    clip_names: List[str]

    def clip_info(self) -> List[Dict[str, str]]:
        return [parse_clip_name(n) for n in self.clip_names]

    def splits(self, heldout_content: Sequence[str] = (), val_frac: float = 0.1,
               test_frac: float = 0.1) -> Dict[str, np.ndarray]:
        """Clip-level splits as frame masks.

        train/val/test hold out whole clips (by a hash of the clip name, so stable); every clip
        whose content is in `heldout_content` goes to `content_test` and nowhere else.
        """
        info = self.clip_info()
        labels = np.array([("content_test" if i["content"] in heldout_content
                            else _split_of(n, val_frac, test_frac))
                           for n, i in zip(self.clip_names, info)])
        frame_label = labels[self.clip_index]
        return {k: frame_label == k for k in ("train", "val", "test", "content_test")}

    def save(self, path: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp.npz"
        np.savez(tmp, positions=self.positions.astype(np.float32),
                 clip_index=self.clip_index.astype(np.int32), clip_names=np.array(self.clip_names))
        os.replace(tmp, path)

    @staticmethod
    def load(path: str) -> "MocapSet":
        with np.load(path) as z:
            return MocapSet(z["positions"].astype(np.float32), z["clip_index"],
                            [str(s) for s in z["clip_names"]])


def convert_bandai_archive(archive: str, out_path: str, stride: int = 1,
                           progress: bool = True) -> MocapSet:
    """Stream the Bandai `bvh.tar.xz` (no unpacking to disk) into a cached 17-joint `.npz`.

    stride keeps every `stride`-th frame (1 = all 30 fps frames).
    """
    from tqdm import tqdm

    joint_map = JOINT_MAPS["bandai"]
    chunks, index, names = [], [], []
    with tarfile.open(archive, "r:xz") as tar:
        bar = tqdm(total=3076, unit="clip", desc="bandai", disable=not progress)
        for member in tar:
            if not (member.isfile() and member.name.endswith(".bvh")):
                continue
            text = io.TextIOWrapper(tar.extractfile(member), encoding="utf-8").read()
            pts = clip_to_skeleton17(parse_bvh(text), joint_map)[::stride]
            index.append(np.full(len(pts), len(names), dtype=np.int32))
            names.append(os.path.basename(member.name))
            chunks.append(pts.astype(np.float32))
            bar.update(1)
        bar.close()
    data = MocapSet(np.concatenate(chunks), np.concatenate(index), names)
    data.save(out_path)
    with open(out_path + ".json", "w") as fh:
        json.dump({"source": os.path.abspath(archive), "clips": len(names),
                   "frames": int(len(data.positions)), "stride": stride,
                   "attribution": BANDAI_ATTRIBUTION}, fh, indent=1)
    return data
