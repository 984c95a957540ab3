"""Jitter: how much the 3D joints move when the person does not (or moves slowly and smoothly).

Two sequences of `samples/basketball1.png` (two people, 640x480): the image repeated (static),
and the image shifted right by 0.5 px per frame (slow, smooth motion). Each runs through the
default pipeline with tracking on and with tracking off. Reported per person: the standard
deviation over the frames of each joint's camera-frame position (after removing, for the moving
sequence, the straight-line trend of each coordinate), averaged over joints, in mm; and the
spread of the pelvis distance. Writes docs/jitter.json and the "jitter" section of
docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/jitter.py [--frames 100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sequence(rgb: np.ndarray, frames: int, px_per_frame: float):
    """The image shifted right by px_per_frame per frame (0: the same image every frame)."""
    h, w = rgb.shape[:2]
    for i in range(frames):
        m = np.float32([[1, 0, px_per_frame * i], [0, 1, 0]])
        yield (
            rgb
            if px_per_frame == 0
            else cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        )


def run(rgb: np.ndarray, frames: int, px_per_frame: float, track: bool) -> dict:
    """Per-person jitter of one sequence; people are matched to the first frame by pelvis x."""
    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator

    est = PoseEstimator(PipelineConfig(track=track))
    tracks = {}
    for i, img in enumerate(sequence(rgb, frames, px_per_frame)):
        for p in est.process(img, None, float(i)).persons:
            key = "left" if p.keypoints_2d[0, 0] - px_per_frame * i < rgb.shape[1] / 2 else "right"
            tracks.setdefault(key, []).append((i, p.joints_3d))
    out = {}
    t = np.arange(frames)
    for key, seen in sorted(tracks.items()):
        idx = np.array([i for i, _ in seen])
        J = np.stack([j for _, j in seen])  # (F, 17, 3)
        if px_per_frame:
            A = np.stack([idx, np.ones_like(idx)], 1).astype(float)
            coef, *_ = np.linalg.lstsq(A, J.reshape(len(J), -1), rcond=None)
            J = (J.reshape(len(J), -1) - A @ coef).reshape(J.shape)
        out[key] = {
            "frames_seen": int(len(idx)),
            "of": int(len(t)),
            "joint_sd_mm": float(np.linalg.norm(J.std(0), axis=-1).mean() * 1000),
            "pelvis_distance_sd_mm": float(np.linalg.norm(J[:, 0], axis=-1).std() * 1000),
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args()
    origin = this_run(__file__)
    rgb = cv2.cvtColor(
        cv2.imread(os.path.join(ROOT, "samples", "basketball1.png")), cv2.COLOR_BGR2RGB
    )
    rows = []
    for name, speed in (("static", 0.0), ("moving 0.5 px/frame", 0.5)):
        for track in (True, False):
            for person, r in run(rgb, args.frames, speed, track).items():
                rows.append({"sequence": name, "tracking": track, "person": person, **r})
    with open(os.path.join(ROOT, "docs", "jitter.json"), "w") as fh:
        json.dump(
            {
                **origin.record(),
                "rows": rows,
            },
            fh,
            indent=1,
        )
    table = [
        "| sequence | tracking | person | frames seen | joint sd (mm) | pelvis distance sd (mm) |",
        "|---|---|---|---|---|---|",
    ]
    table += [
        f"| {r['sequence']} | {'on' if r['tracking'] else 'off'} | {r['person']} | "
        f"{r['frames_seen']} of {r['of']} | {r['joint_sd_mm']:.1f} | "
        f"{r['pelvis_distance_sd_mm']:.1f} |"
        for r in rows
    ]
    body = (
        f"{origin.header()}\n\n"
        "`samples/basketball1.png` (two people, 640x480) repeated, and shifted right by 0.5 px "
        "per frame; the default pipeline. Joint sd: each joint's standard deviation over the "
        "frames (a straight-line trend removed for the moving sequence), averaged over joints. "
        "`left` is the person on the left, `right` the one cut off by the frame edge.\n\n"
        + "\n".join(table)
        + "\n"
    )
    replace_section(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "jitter", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
