"""Experiment: would the lifter gain from knowing which way is up? A robot knows its camera's
pitch and roll from its TF tree; the shipped network has no such input (the feature is absent
from the product, docs/BENCHMARKS.md says what this measured).

Trains one leave-one-lab-out fold (`--held-out`, the others' training clips, the default recipe)
whose network also sees world up as a unit vector in the camera's optical frame (3 more input
features, taken from the virtual camera's rotation, `Views.extra["R"]`), then scores it beside the
same fold's model without that input (`--baseline`, trained with the same recipe) on the same
views of the held-out lab: exact 2D, the true K, `typical` cameras for `all` and each pose
category with at least 200 frames, and `steep` ones (45-65 degrees from above). No test-time
mirror for either, so the two networks are compared alone.

The training is `pose-lifting train` with `train.make_samples` wrapped to append the up vector;
a finished model in OUT_DIR is reused.

Usage: .venv/bin/python benchmarks/gravity_probe.py [--held-out hdm05] [--epochs 10]
    [--out-dir runs/probe_gravity/hdm05] [--baseline runs/release/lolo_width/hdm05/lifter.pt]
    [--json docs/eval/gravity_probe_<held-out>.json] [--section]
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


def up_in_camera(views) -> np.ndarray:
    """World up (+Y) in each view's camera optical frame, (n, 3) unit vectors."""
    return views.extra["R"][:, :, 1]


def _with_up(make_samples):
    """`train.make_samples` with the camera's up vector appended to the raw features."""

    def wrapped(*args, **kwargs):
        raw, target, views, kp, conf = make_samples(*args, **kwargs)
        return np.concatenate([raw, up_in_camera(views)], 1), target, views, kp, conf

    return wrapped


def train_fold(held_out: str, out_dir: str, epochs: int, samples: int) -> str:
    """Train the fold with the up input (unless OUT_DIR/lifter.pt exists); its checkpoint path."""
    from pose_lifting_core.tooling import cli, train

    path = os.path.join(out_dir, "lifter.pt")
    if os.path.isfile(path):
        return path
    others = ",".join(lab for lab in LABS if lab != held_out)
    train.make_samples = _with_up(train.make_samples)
    argv = ["train", "--datasets", others, "--out-dir", out_dir, "--export", path]
    argv += ["--epochs", str(epochs), "--samples-per-epoch", str(samples), "--device", "cpu"]
    rc = cli.main(argv + ["--resume", "--quiet"])
    if rc != 0:
        raise SystemExit(f"gravity_probe.py: error: training exited {rc}")
    return path


def score(path: str, views, with_up: bool) -> dict:
    """MPJPE and PA-MPJPE (mm) of a checkpoint's network alone (no mirror) on `views`."""
    import torch

    from pose_lifting_core.checkpoint import load_model
    from pose_lifting_core.codec import features_raw
    from pose_lifting_core.model import FusedInference
    from pose_lifting_core.tooling.metrics import mpjpe_mm, pa_mpjpe_mm

    model, codec, _ = load_model(path)
    raw = features_raw(views.keypoints, np.ones(views.keypoints.shape[:2]), views.K)
    if with_up:
        raw = np.concatenate([raw, up_in_camera(views)], 1)
    with torch.inference_mode():
        out = FusedInference(model.eval())(torch.from_numpy(codec.standardize(raw))).numpy()
    X = codec.decode(out)
    G = views.joints_cam - views.joints_cam[:, :1]
    return {"mpjpe_mm": mpjpe_mm(X, G), "pa_mpjpe_mm": pa_mpjpe_mm(X, G)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--held-out", default="hdm05", choices=LABS)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--samples-per-epoch", type=int, default=300_000)
    ap.add_argument("--out-dir", default=None, help="default runs/probe_gravity/<held-out>")
    ap.add_argument("--baseline", default=None, help="default runs/release/lolo_width/<held-out>")
    ap.add_argument("--frames", type=int, default=4000)
    ap.add_argument("--json", default=None, help="default docs/eval/gravity_probe_<held-out>.json")
    ap.add_argument("--section", action="store_true", help="update docs/BENCHMARKS.md")
    args = ap.parse_args()
    origin = this_run(__file__)
    lab = args.held_out
    baseline = args.baseline or os.path.join(
        ROOT, "runs", "release", "lolo_width", lab, "lifter.pt"
    )
    if not os.path.isfile(baseline):
        print(f"gravity_probe.py: error: no baseline model {baseline}", file=sys.stderr)
        return 2
    out_dir = args.out_dir or os.path.join(ROOT, "runs", "probe_gravity", lab)
    probe = train_fold(lab, out_dir, args.epochs, args.samples_per_epoch)

    from pose_lifting_core.tooling.data import synth
    from pose_lifting_core.tooling.data.poses import CATEGORIES, pose_categories
    from pose_lifting_core.tooling.train import TrainConfig, load_mocap

    P_lab = load_mocap(lab, TrainConfig(cache_dir=os.path.join(ROOT, "cache"))).positions
    cats = pose_categories(P_lab)
    plan = [("all", np.ones(len(P_lab), bool), "typical")]
    plan += [
        (n, cats == c, "typical") for c, n in enumerate(CATEGORIES) if (cats == c).sum() >= 200
    ]
    plan += [("all, steep cameras", np.ones(len(P_lab), bool), "steep")]
    rows = []
    for i, (name, mask, cameras) in enumerate(plan):
        rng = np.random.default_rng([11, i])
        idx = rng.choice(np.flatnonzero(mask), min(args.frames, int(mask.sum())), replace=False)
        views = synth.sample_views(
            P_lab[idx].astype(np.float64), rng, synth.CAMERA_RANGES[cameras]
        )
        rows.append(
            {
                "lab": lab,
                "category": name,
                "n": int(len(views.keypoints)),
                "without_up": score(baseline, views, False),
                "with_up": score(probe, views, True),
            }
        )
    json_path = args.json or os.path.join(ROOT, "docs", "eval", f"gravity_probe_{lab}.json")
    with open(json_path, "w") as fh:
        json.dump(
            {"run": origin.record(), "baseline": baseline, "probe": probe, "rows": rows},
            fh,
            indent=1,
        )
    lines = [
        origin.header(),
        "",
        f"Held out: {lab}. MPJPE / PA-MPJPE (mm), exact 2D, true K, no test-time mirror.",
        "",
        "| pose | n | without up | with up |",
        "|---|---|---|---|",
    ]
    for r in rows:
        a, b = r["without_up"], r["with_up"]
        lines.append(
            f"| {r['category']} | {r['n']} | {a['mpjpe_mm']:.1f} / {a['pa_mpjpe_mm']:.1f} | "
            f"{b['mpjpe_mm']:.1f} / {b['pa_mpjpe_mm']:.1f} |"
        )
    text = "\n".join(lines)
    if args.section:
        replace_section(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "gravity-probe", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
