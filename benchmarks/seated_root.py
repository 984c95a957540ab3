"""Why are people placed too far or too near? The root error taken apart, per pose category.

For each lab's frames (every frame of a lab the model never saw, the test split of one it saw),
seen through training-range cameras with exact 2D and the true K, this reports per category:
- the signed distance error of the root (median, % of the true distance: + is too far) and the
  size ratio (lifted / true body size, `metrics.size_ratio`);
- what the root error becomes when one part of the lifted skeleton is replaced by the truth
  before the root solve (oracle substitution): the depth (z) of the legs, the whole legs, the
  torso and head, the arms; and when the lifted skeleton is scaled to the true size. The part
  whose substitution removes the error is where the error comes from.
Nothing here is trained; the figures are printed as Markdown and written to --json.

Usage: .venv/bin/python benchmarks/seated_root.py [--checkpoint CKPT ...] [--labs cmu,accad,hdm05]
    [--cameras typical,steep]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

from pose_lifting_core.lifter import Lifter  # noqa: E402
from pose_lifting_core.skeleton import JOINT_NAMES, ROOT  # noqa: E402
from pose_lifting_core.solvers import solve_root  # noqa: E402
from pose_lifting_core.tooling.data import synth  # noqa: E402
from pose_lifting_core.tooling.data.poses import CATEGORIES, pose_categories  # noqa: E402
from pose_lifting_core.tooling.metrics import body_size  # noqa: E402
from pose_lifting_core.tooling.train import TrainConfig, load_mocap  # noqa: E402

J = {n: i for i, n in enumerate(JOINT_NAMES)}
LEGS = [J[n] for n in JOINT_NAMES if n.endswith(("hip", "knee", "ankle"))]
ARMS = [J[n] for n in JOINT_NAMES if n.endswith(("shoulder", "elbow", "wrist"))]
TORSO = [J[n] for n in ("spine", "thorax", "neck", "head")]


def _signed_pct(T: np.ndarray, gt_root: np.ndarray) -> np.ndarray:
    """Distance error (N,) in % of the true distance: + too far, - too near."""
    d_true = np.linalg.norm(gt_root, axis=-1)
    return (np.linalg.norm(T, axis=-1) - d_true) / d_true * 100


def analyse(lifter: Lifter, P: np.ndarray, rng: np.random.Generator, cameras: str) -> dict:
    """The rows' figures for world skeletons P (N, 17, 3) seen through `cameras`."""
    views = synth.sample_views(P, rng, synth.CAMERA_RANGES[cameras])
    kp, K = views.keypoints, views.K
    conf = np.ones(kp.shape[:2])
    gt = views.joints_cam
    gt_rel = gt - gt[:, ROOT : ROOT + 1]
    pred = lifter.lift(kp, conf, K)

    def root_pct(X_rel: np.ndarray) -> np.ndarray:
        return _signed_pct(solve_root(X_rel, kp, conf, K), gt[:, ROOT])

    out = {"n": int(len(P))}
    base = root_pct(pred)
    out["signed_median_pct"] = float(np.median(base))
    out["abs_median_pct"] = float(np.median(np.abs(base)))
    out["size_ratio"] = float(np.median(body_size(pred) / body_size(gt_rel)))
    subs = {
        "legs_depth": (LEGS, [2]),
        "legs": (LEGS, [0, 1, 2]),
        "torso_head": (TORSO, [0, 1, 2]),
        "arms": (ARMS, [0, 1, 2]),
    }
    for name, (joints, axes) in subs.items():
        X = pred.copy()
        for a in axes:
            X[:, joints, a] = gt_rel[:, joints, a]
        e = root_pct(X)
        out[f"{name}_abs_median_pct"] = float(np.median(np.abs(e)))
        out[f"{name}_signed_median_pct"] = float(np.median(e))
    scale = body_size(gt_rel) / np.maximum(body_size(pred), 1e-9)
    e = root_pct(pred * scale[:, None, None])
    out["true_size_abs_median_pct"] = float(np.median(np.abs(e)))
    out["true_size_signed_median_pct"] = float(np.median(e))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--checkpoint",
        action="append",
        help="a model to take apart (repeat to compare side by side; default: the shipped one)",
    )
    ap.add_argument("--labs", default="cmu,accad,hdm05")
    ap.add_argument("--cameras", default="typical,steep", help="camera ranges (data/synth.py)")
    ap.add_argument("--samples-per-category", type=int, default=3000)
    ap.add_argument("--json", default=os.path.join("docs", "eval", "seated_root.json"))
    ap.add_argument(
        "--section", action="store_true", help="write the table into docs/BENCHMARKS.md"
    )
    args = ap.parse_args()
    run = this_run(__file__)
    rows = []
    for path in args.checkpoint or [None]:
        lifter = Lifter.load(path, "cpu", "fp32")
        seen = lifter.info.get("train_config", {}).get("datasets", [])
        heldout = lifter.info.get("train_config", {}).get("heldout_content", [])
        for lab in args.labs.split(","):
            data = load_mocap(lab, TrainConfig())
            P = data.positions if lab not in seen else data.positions[data.splits(heldout)["test"]]
            cats = pose_categories(P)
            rng = np.random.default_rng([1234, 11])
            for cameras in args.cameras.split(","):
                for c, cname in enumerate(CATEGORIES):
                    sel = np.flatnonzero(cats == c)
                    if len(sel) < 50:
                        continue
                    n = min(len(sel), args.samples_per_category)
                    row = {
                        "model": os.path.relpath(lifter.info.get("path", "?")),
                        "lab": lab,
                        "frames": "all" if lab not in seen else "test",
                        "cameras": cameras,
                        "category": cname,
                    }
                    P_c = P[rng.choice(sel, n, replace=False)].astype(np.float64)
                    row.update(analyse(lifter, P_c, rng, cameras))
                    rows.append(row)
    cols = [
        ("signed_median_pct", "signed"),
        ("abs_median_pct", "|err|"),
        ("size_ratio", "size"),
        ("legs_depth_abs_median_pct", "legs z true"),
        ("legs_abs_median_pct", "legs true"),
        ("torso_head_abs_median_pct", "torso true"),
        ("arms_abs_median_pct", "arms true"),
        ("true_size_abs_median_pct", "true size"),
    ]
    head = "| model | lab | frames | cameras | pose | n | "
    table = [head + " | ".join(c[1] for c in cols) + " |"]
    table.append("|---|---|---|---|---|---|" + "---|" * len(cols))
    for r in rows:
        cells = [f"{r[k]:.2f}" if k == "size_ratio" else f"{r[k]:.1f}" for k, _ in cols]
        table.append(
            f"| {r['model']} | {r['lab']} | {r['frames']} | {r['cameras']} | {r['category']} "
            f"| {r['n']} | " + " | ".join(cells) + " |"
        )
    body = "\n".join(
        [
            f"Command: `{run.command}`. Machine: {run.machine}. Date: {run.date}. "
            f"Commit: {run.commit}. Exact 2D, true K; `signed` is the median distance error of "
            "the root in % of the true distance (+ too far), `|err|` its absolute median, `size` "
            "the median lifted/true body size; the next columns are `|err|` again after one "
            "part of the lifted skeleton is replaced by the truth before the root solve (the "
            "legs' depth, the legs, the torso and head, the arms) or after scaling the lifted "
            "skeleton to the true size. Frames: `all` for a lab the model never saw.",
            "",
            *table,
        ]
    )
    print(body)
    if args.section:
        replace_section(os.path.join("docs", "BENCHMARKS.md"), "seated-root", body)
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "run": dataclasses.asdict(run),
                    "rows": rows,
                },
                fh,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
