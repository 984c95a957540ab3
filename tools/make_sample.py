"""Make the bundled sample input `samples/bandai_walk_keypoints.npz` (needs ../shared).

A held-out Bandai clip (test split, never trained on) seen by one static virtual camera, as a
robot would see it: 1280x720, f = 900 px (about 70 degrees horizontal field of view), 1.2 m
high, about 4.5 m from the walker. Keypoints get 1.5 px Gaussian noise. Ground truth is kept in
the file (`joints_3d_gt`) so the demo can report its error. Derived from the Bandai Namco
Research Motion Dataset (CC BY-NC 4.0): non-commercial use only.

Usage: .venv/bin/python tools/make_sample.py [--cache-dir cache]
"""

import argparse
import os

import numpy as np

from pose_lifting_core.camera import project
from pose_lifting_core.skeleton import JOINT_NAMES
from pose_lifting_core.tooling.data.mocap import BANDAI_ATTRIBUTION
from pose_lifting_core.tooling.data.synth import _look_at
from pose_lifting_core.tooling.train import HELDOUT_CONTENT, TrainConfig, load_mocap


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache-dir", default=TrainConfig().cache_dir)
    ap.add_argument("--out", default=os.path.join("samples", "bandai_walk_keypoints.npz"))
    args = ap.parse_args()
    data = load_mocap("bandai", TrainConfig(cache_dir=args.cache_dir))
    test = data.splits(HELDOUT_CONTENT)["test"]
    info = data.clip_info()
    clips = sorted(
        {
            int(c)
            for c in np.unique(data.clip_index[test])
            if info[c]["content"] == "walk-turn-left"
        }
    )
    clip = clips[0]
    P = data.positions[data.clip_index == clip].astype(np.float64)
    centre = P[:, 0].mean(0)
    C = centre + np.array([0.0, 0.0, 4.5])
    C[1] = 1.2
    R = _look_at(C[None], centre[None])[0]
    Xc = (P - C) @ R.T
    K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
    kp = project(Xc, K) + np.random.default_rng(0).normal(0, 1.5, Xc.shape[:2] + (2,))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    np.savez_compressed(
        args.out,
        keypoints=kp,
        layout="h36m17",
        scores=np.ones(kp.shape[:2]),
        K=K,
        image_size=np.array([1280, 720]),
        joints_3d_gt=Xc,
        joint_names=np.array(JOINT_NAMES),
        source=f"{data.clip_names[clip]} (test split), all frames at 30 fps",
        attribution=BANDAI_ATTRIBUTION + "; non-commercial use only",
    )
    print(f"{args.out}: {len(kp)} frames of {data.clip_names[clip]}")


if __name__ == "__main__":
    main()
