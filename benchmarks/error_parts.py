"""Where a leave-one-lab-out model's error is: size, orientation, or the pose itself, and which
joints and which axis.

For each held-out lab of DIR (DIR/<lab>/lifter.pt, trained without <lab>), the lab's frames are
seen through `typical` cameras with exact 2D and the true K, as `pose-lifting evaluate
--leave-one-lab-out` does, and scored four ways: MPJPE; after the best uniform scale
(scale-aligned, so the difference is the size); after the best similarity transform (PA-MPJPE,
so the difference from scale-aligned is the body's orientation); and the median size read,
lifted over true (`metrics.size_ratio`). Then per joint, the mean error and
its depth part (the camera's z), for the `all` frames and for one pose category.

`--proportions LAB` also lifts that lab's frames with one body part made longer or shorter
(trunk, neck and head, shoulders, legs, arms) and reports the size read: which of a lab's
proportions makes the model read its people too large or too small.

Usage: .venv/bin/python benchmarks/error_parts.py [--dir runs/release/lolo_width]
    [--category floor] [--proportions cmu] [--frames 4000] [--section]
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
LABS = ("accad", "hdm05", "cmu")
PARTS = {  # name: (bones scaled, factor)
    "trunk x1.3": (("spine", "thorax"), 1.3),
    "neck and head x1.5": (("neck", "head"), 1.5),
    "shoulders x1.25": (("left_shoulder", "right_shoulder"), 1.25),
    "legs x0.9": (("left_knee", "left_ankle", "right_knee", "right_ankle"), 0.9),
    "arms x0.9": (("left_elbow", "left_wrist", "right_elbow", "right_wrist"), 0.9),
}


def sample_frames(P: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Up to n of the world skeletons P (F, 17, 3), drawn without replacement (float64)."""
    rng = np.random.default_rng([seed, 7])
    return P[rng.choice(len(P), min(n, len(P)), replace=False)].astype(np.float64)


def _frames(
    P: np.ndarray, cats: np.ndarray, category: str, n: int, seed: int = 1234
) -> np.ndarray:
    """Up to n of a lab's world skeletons P (F, 17, 3), of one pose category (cats (F,), from
    `poses.pose_categories`) or all."""
    from pose_lifting_core.tooling.data.poses import CATEGORIES

    if category != "all":
        P = P[cats == CATEGORIES.index(category)]
    return sample_frames(P, n, seed)


def typical_views(P: np.ndarray, seed: int):
    """World skeletons P (n, 17, 3) through `typical` cameras, exact 2D: (views, true
    root-relative joints (n, 17, 3) metres)."""
    from pose_lifting_core.tooling.data import synth

    v = synth.sample_views(P, np.random.default_rng(seed), synth.CAMERA_RANGES["typical"])
    return v, v.joints_cam - v.joints_cam[:, :1]


def lift_views(lifter, P: np.ndarray, seed: int = 5):
    """(lifted, true) root-relative joints (n, 17, 3) metres, typical cameras, exact 2D."""
    v, G = typical_views(P, seed)
    return lifter.lift(v.keypoints, np.ones(v.keypoints.shape[:2]), v.K), G


def parts(X: np.ndarray, G: np.ndarray) -> dict:
    """MPJPE, scale-aligned MPJPE, PA-MPJPE (mm), the median size read, and per joint the
    mean error and mean |depth error| (mm)."""
    from pose_lifting_core.skeleton import JOINT_NAMES
    from pose_lifting_core.tooling.metrics import (
        mpjpe_mm,
        n_mpjpe_mm,
        pa_mpjpe_mm,
        per_joint_error,
        size_ratio,
    )

    err = per_joint_error(X, G).mean(0) * 1000
    depth = np.abs(X - G)[..., 2].mean(0) * 1000
    return {
        "n": int(len(X)),
        "mpjpe_mm": mpjpe_mm(X, G),
        "scale_aligned_mm": n_mpjpe_mm(X, G),
        "pa_mpjpe_mm": pa_mpjpe_mm(X, G),
        "size_read": size_ratio(X, G),
        "joint_mm": dict(zip(JOINT_NAMES, err.round(1).tolist())),
        "joint_depth_mm": dict(zip(JOINT_NAMES, depth.round(1).tolist())),
    }


def proportions(lifter, P: np.ndarray) -> dict:
    """Median size read with each of PARTS applied to the frames P (and as they are)."""
    from pose_lifting_core.skeleton import JOINT_NAMES
    from pose_lifting_core.tooling.data import synth

    out = {"as captured": parts(*lift_views(lifter, P))["size_read"]}
    for name, (bones, f) in PARTS.items():
        B = synth._bones(P)
        B[:, [JOINT_NAMES.index(b) for b in bones]] *= f
        Q = synth._rebuild(P[:, 0], B)
        out[name] = parts(*lift_views(lifter, Q))["size_read"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "runs", "release", "lolo_width"))
    ap.add_argument("--category", default="floor")
    ap.add_argument("--proportions", default="cmu", help="lab of the proportion probe ('' none)")
    ap.add_argument("--frames", type=int, default=4000)
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "eval", "error_parts.json"))
    ap.add_argument("--section", action="store_true", help="update docs/BENCHMARKS.md")
    args = ap.parse_args()
    origin = this_run(__file__)
    from pose_lifting_core.lifter import Lifter
    from pose_lifting_core.tooling.data.poses import pose_categories
    from pose_lifting_core.tooling.train import TrainConfig, load_mocap

    rows, probe = [], {}
    for lab in LABS:
        path = os.path.join(args.dir, lab, "lifter.pt")
        if not os.path.isfile(path):
            continue
        lifter = Lifter.load(path, "cpu", "fp32")
        P_lab = load_mocap(lab, TrainConfig(cache_dir=os.path.join(ROOT, "cache"))).positions
        cats = pose_categories(P_lab)
        for cat in ("all", "standing", args.category):
            P = _frames(P_lab, cats, cat, args.frames)
            if len(P):
                rows.append({"lab": lab, "category": cat, **parts(*lift_views(lifter, P))})
        if lab == args.proportions:
            probe = proportions(lifter, _frames(P_lab, cats, "all", args.frames))
    if not rows:
        print(f"error_parts.py: error: no DIR/<lab>/lifter.pt under {args.dir}", file=sys.stderr)
        return 2
    with open(args.json, "w") as fh:
        json.dump({"run": origin.record(), "rows": rows, "proportions": probe}, fh, indent=1)
    joints = ("right_knee", "right_ankle", "head", "right_wrist")
    lines = [
        origin.header(),
        "",
        "| lab | pose | n | MPJPE | scale-aligned | PA-MPJPE | size read | "
        + " | ".join(f"{j} (depth)" for j in joints)
        + " |",
        "|---" * (7 + len(joints)) + "|",
    ]
    for r in rows:
        lines.append(
            f"| {r['lab']} | {r['category']} | {r['n']} | {r['mpjpe_mm']:.1f} | "
            f"{r['scale_aligned_mm']:.1f} | {r['pa_mpjpe_mm']:.1f} | {r['size_read']:.3f} | "
            + " | ".join(f"{r['joint_mm'][j]:.0f} ({r['joint_depth_mm'][j]:.0f})" for j in joints)
            + " |"
        )
    if probe:
        lines += [
            "",
            f"Size read on {args.proportions} with one body part changed (the truth changed "
            "with it):",
            "",
            "| body | size read |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v:.3f} |" for k, v in probe.items()]
    text = "\n".join(lines)
    if args.section:
        replace_section(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "error-parts", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
