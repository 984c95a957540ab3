"""Lifters on a real detector's keypoints, scored without 3D truth: are the bodies symmetric and
do their bones keep their lengths?

Our images have no 3D ground truth, but a real body has left and right limbs of about the same
length, and a person's bones do not change length from frame to frame. A lifter that is thrown
by the detector's errors (its hips, shoulders and head are not mocap joint centres, and its
errors are not Gaussian) breaks both. The detections are made once (the default pipeline on
`samples/vtest.avi`, 768x576, the field-of-view prior, tracking on) and every lifter variant
lifts the same keypoints, so the variants are compared side by side in one run.

Reported per variant, over people whose limb joints all have confidence >= 0.3:
- asymmetry: median over people and the four limb bones (upper arm, forearm, thigh, shin) of
  |left - right| / mean(left, right), %;
- bone variation: for tracks seen in at least 10 frames, the coefficient of variation of each
  of those eight bones' lengths over the track, median, %;
- height: median and 10-90 % range of the lifted ankle-knee-hip-pelvis-spine-thorax-neck-head
  chain (left and right legs averaged), metres; adults are about 1.5-1.95 m tall, and this
  chain (to the head point, not the crown) is about 0.9 of that.

Usage: .venv/bin/python benchmarks/real_consistency.py [--frames 300]
    [--checkpoint PATH ...] [--section]
(default checkpoints: the shipped one; each is run with and without the test-time mirror.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMBS = (
    ("shoulder", "elbow"),
    ("elbow", "wrist"),
    ("hip", "knee"),
    ("knee", "ankle"),
)
MIN_CONF = 0.3
MIN_TRACK_FRAMES = 10


def detections(video: str, frames: int) -> list:
    """(track id, keypoints (17, 2) px, confidence (17,), K (3, 3)) for every person the
    default pipeline returns in the first `frames` frames."""
    from pose_lifting_core.media import open_source
    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator

    est = PoseEstimator(PipelineConfig())
    out = []
    for i, time_s, image in open_source(video).frames():
        if i >= frames:
            break
        res = est.process(image, None, time_s)
        K = res.intrinsics.K
        out += [(p.id, p.keypoints_2d, p.confidence, K) for p in res.persons]
    return out


def scores(ids: np.ndarray, X: np.ndarray, conf: np.ndarray) -> dict:
    """The three measures for lifted people X (N, 17, 3) metres with track ids (N,) and
    confidences (N, 17). Bone lengths are `selfsup.bone_lengths`, each bone named by its child
    joint."""
    import torch

    from pose_lifting_core.skeleton import JOINT_NAMES
    from pose_lifting_core.tooling.selfsup import BONES, bone_lengths

    limb_joints = [
        JOINT_NAMES.index(f"{s}_{j}") for s in ("left", "right") for pair in LIMBS for j in pair
    ]
    ok = (conf[:, limb_joints] >= MIN_CONF).all(1)
    ids = ids[ok]
    if not ok.any():  # nobody to score
        nan = float("nan")
        keys = ("asymmetry_pct", "bone_variation_pct", "height_m", "height_p10_m", "height_p90_m")
        return {"people": 0, "tracks": 0, **dict.fromkeys(keys, nan)}
    lengths = bone_lengths(torch.from_numpy(X[ok])).numpy()
    bone = {JOINT_NAMES[c]: lengths[:, i] for i, (_, c) in enumerate(BONES)}
    left = np.stack([bone[f"left_{child}"] for _, child in LIMBS], 1)
    right = np.stack([bone[f"right_{child}"] for _, child in LIMBS], 1)
    asym = np.abs(left - right) / (0.5 * (left + right))
    bones = np.concatenate([left, right], 1)
    cvs = []
    for t in np.unique(ids):
        b = bones[ids == t]
        if len(b) >= MIN_TRACK_FRAMES:
            cvs.append(b.std(0) / b.mean(0))
    legs = 0.5 * sum(bone[f"{s}_{j}"] for s in ("left", "right") for j in ("knee", "ankle"))
    # the hip-pelvis bones run sideways, so they are left out
    height = legs + sum(bone[j] for j in ("spine", "thorax", "neck", "head"))
    return {
        "people": int(len(ids)),
        "tracks": len(cvs),
        "asymmetry_pct": float(np.median(asym) * 100),
        "bone_variation_pct": float(np.median(np.stack(cvs)) * 100) if cvs else float("nan"),
        "height_m": float(np.median(height)),
        "height_p10_m": float(np.percentile(height, 10)),
        "height_p90_m": float(np.percentile(height, 90)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--video", default=os.path.join(ROOT, "samples", "vtest.avi"))
    ap.add_argument("--checkpoint", action="append", default=None)
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "real_consistency.json"))
    ap.add_argument("--section", action="store_true", help="update docs/BENCHMARKS.md")
    args = ap.parse_args()
    origin = this_run(__file__)
    from pose_lifting_core.lifter import DEFAULT_CHECKPOINT, Lifter

    dets = detections(args.video, args.frames)
    if not dets:
        print("no people detected", file=sys.stderr)
        return 1
    ids = np.array([d[0] for d in dets])
    kp = np.stack([d[1] for d in dets])
    conf = np.stack([d[2] for d in dets])
    K = np.stack([d[3] for d in dets])
    rows = []
    for path in args.checkpoint or [DEFAULT_CHECKPOINT]:
        for mirror in (False, True):
            lifter = Lifter.load(path, "cpu", "fp32", mirror_average=mirror)
            X = lifter.lift(kp, conf, K)
            name = os.path.relpath(path, ROOT)
            rows.append({"checkpoint": name, "mirror_average": mirror, **scores(ids, X, conf)})
            print(json.dumps(rows[-1]))
    with open(args.json, "w") as fh:
        json.dump({"run": origin.record(), "frames": args.frames, "rows": rows}, fh, indent=1)
    lines = [
        origin.header(),
        "",
        "| checkpoint | test-time mirror | people | tracks | asymmetry % | bone variation % "
        "| height m (10-90 %) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['checkpoint']} | {'on' if r['mirror_average'] else 'off'} | {r['people']} "
            f"| {r['tracks']} | {r['asymmetry_pct']:.1f} | {r['bone_variation_pct']:.1f} "
            f"| {r['height_m']:.2f} ({r['height_p10_m']:.2f}-{r['height_p90_m']:.2f}) |"
        )
    if args.section:
        replace_section(
            os.path.join(ROOT, "docs", "BENCHMARKS.md"), "real-consistency", "\n".join(lines)
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
