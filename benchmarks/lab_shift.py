"""What a never-seen lab costs a leave-one-lab-out model, and which part of that error more
models or a correction of each lab's joint definitions could remove.

For each fold DIR/<lab>/lifter.pt (trained on the other labs' training clips), with exact 2D,
the true K, `typical` cameras and the test-time mirror, MPJPE / PA-MPJPE (mm) on:
- the other labs' training clips (seen people, seen poses);
- the other labs' test clips (seen people and skeletons, motions never seen);
- the held-out lab (people, skeletons and poses never seen);
- the held-out lab with each joint's mean error, taken in the true body frame (hips' line, up
  the trunk), subtracted: what a per-lab correction of where the joints sit and of the size
  read could at most remove;
- the held-out lab lifted by the mean of the fold's models of several training recipes
  (`--ensemble` sets, each DIR/<lab>/lifter.pt): what averaging models removes (their variance).

Usage: .venv/bin/python benchmarks/lab_shift.py [--dir runs/release/lolo_width]
    [--ensemble runs/release/lolo_mirror,runs/release/lolo_bend,runs/release/lolo_detector]
    [--frames 4000] [--section]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402
from error_parts import sample_frames, typical_views  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABS = ("accad", "hdm05", "cmu")


def lift(lifter, views) -> np.ndarray:
    return lifter.lift(views.keypoints, np.ones(views.keypoints.shape[:2]), views.K)


def scores(X: np.ndarray, G: np.ndarray) -> dict:
    from pose_lifting_core.tooling.metrics import mpjpe_mm, pa_mpjpe_mm

    return {"mpjpe_mm": mpjpe_mm(X, G), "pa_mpjpe_mm": pa_mpjpe_mm(X, G)}


def without_joint_bias(X: np.ndarray, G: np.ndarray) -> np.ndarray:
    """X (n, 17, 3) with each joint's mean error over the n frames, taken in the true body frame
    (`synth.body_frames` of G), subtracted."""
    from pose_lifting_core.tooling.data import synth

    F = synth.body_frames(G)  # columns: left, up, forward
    err_body = np.einsum("nji,nkj->nki", F, X - G)
    bias = err_body.mean(0)
    return X - np.einsum("nij,kj->nki", F, bias)


def fold_row(lab: str, dirs: list, frames: int) -> dict:
    """The scores of one fold (DIRS[0] the model, all of DIRS the ensemble)."""
    from pose_lifting_core.lifter import Lifter
    from pose_lifting_core.tooling.train import TrainConfig, load_mocap

    data_cfg = TrainConfig(cache_dir=os.path.join(ROOT, "cache"))
    lifters = [Lifter.load(os.path.join(d, lab, "lifter.pt"), "cpu", "fp32") for d in dirs]
    row = {"lab": lab, "models": [os.path.relpath(d, ROOT) for d in dirs]}
    for split in ("train", "test"):
        Xs, Gs = [], []
        for other in (x for x in LABS if x != lab):
            data = load_mocap(other, data_cfg)
            v, G = typical_views(
                sample_frames(data.positions[data.splits()[split]], frames // 2, 1), 2
            )
            Xs.append(lift(lifters[0], v))
            Gs.append(G)
        row[f"seen_labs_{split}"] = scores(np.concatenate(Xs), np.concatenate(Gs))
    v, G = typical_views(sample_frames(load_mocap(lab, data_cfg).positions, frames, 3), 4)
    preds = [lift(lf, v) for lf in lifters]
    row["held_out"] = scores(preds[0], G)
    row["held_out_bias_removed"] = scores(without_joint_bias(preds[0], G), G)
    row["held_out_ensemble"] = scores(np.mean(preds, 0), G)
    row["held_out_models"] = [scores(p, G) for p in preds]
    row["n"] = int(len(G))
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "runs", "release", "lolo_width"))
    ap.add_argument(
        "--ensemble",
        default=",".join(
            os.path.join(ROOT, "runs", "release", s)
            for s in ("lolo_mirror", "lolo_bend", "lolo_detector")
        ),
        help="comma-separated leave-one-lab-out sets averaged with DIR's model",
    )
    ap.add_argument("--frames", type=int, default=4000)
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "eval", "lab_shift.json"))
    ap.add_argument("--section", action="store_true", help="update docs/BENCHMARKS.md")
    args = ap.parse_args()
    origin = this_run(__file__)
    dirs = [args.dir] + [d for d in args.ensemble.split(",") if d]
    rows = []
    for lab in LABS:
        if all(os.path.isfile(os.path.join(d, lab, "lifter.pt")) for d in dirs):
            rows.append(fold_row(lab, dirs, args.frames))
    if not rows:
        print(
            f"lab_shift.py: error: no lab has DIR/<lab>/lifter.pt in every one of {dirs}",
            file=sys.stderr,
        )
        return 2
    with open(args.json, "w") as fh:
        json.dump({"run": origin.record(), "rows": rows}, fh, indent=1)

    def cell(s: dict) -> str:
        return f"{s['mpjpe_mm']:.1f} / {s['pa_mpjpe_mm']:.1f}"

    lines = [
        origin.header(),
        "",
        f"MPJPE / PA-MPJPE (mm); the model: {rows[0]['models'][0]}; the ensemble: the mean of "
        f"{', '.join(rows[0]['models'])}.",
        "",
        "| held-out lab | seen labs, training clips | seen labs, unseen clips | held-out lab | "
        "held out, joint bias removed | held out, ensemble | held out, each model |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        each = ", ".join(f"{s['mpjpe_mm']:.1f}" for s in r["held_out_models"])
        lines.append(
            f"| {r['lab']} | {cell(r['seen_labs_train'])} | {cell(r['seen_labs_test'])} | "
            f"{cell(r['held_out'])} | {cell(r['held_out_bias_removed'])} | "
            f"{cell(r['held_out_ensemble'])} | {each} |"
        )
    text = "\n".join(lines)
    if args.section:
        replace_section(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "lab-shift", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
