"""Fit the shipped 2D pose prior `pose_lifting_core/weights/pose_prior_2d.pt` (needs ../shared).

The prior that `pose-lifting adapt` uses (`adapt.fit_pose_prior`: a RealNVP flow on normalised
2D poses, with bone-length limits) is fitted on the training clips of the labs the shipped lifter
is trained on (`train.DEFAULT_DATASETS`: the labs whose licence allows commercial use), so that
the prior carries the same terms as the weights beside it.

Usage: .venv/bin/python tools/fit_pose_prior.py [--datasets accad,hdm05,cmu] [--out PATH]
"""

import argparse
import os
import time

import numpy as np

from pose_lifting_core.tooling.adapt import DEFAULT_PRIOR, fit_pose_prior, save_pose_prior
from pose_lifting_core.tooling.train import (
    DEFAULT_DATASETS,
    HELDOUT_CONTENT,
    TrainConfig,
    load_mocap,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=",".join(DEFAULT_DATASETS))
    ap.add_argument("--cache-dir", default=TrainConfig().cache_dir)
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--out", default=DEFAULT_PRIOR)
    args = ap.parse_args()
    names = [n for n in args.datasets.split(",") if n]
    cfg = TrainConfig(cache_dir=args.cache_dir)
    sets = [load_mocap(n, cfg) for n in names]
    P = np.concatenate([d.positions[d.splits(HELDOUT_CONTENT)["train"]] for d in sets])
    t0 = time.time()
    prior = fit_pose_prior(P, samples=args.samples, epochs=args.epochs, seed=0, progress=True)
    info = {
        "datasets": names,
        "split": "train",
        "samples_per_epoch": args.samples,
        "epochs": args.epochs,
        "fitted_by": "pose_lifting_core.tooling.adapt.fit_pose_prior (tools/fit_pose_prior.py)",
        "seconds": round(time.time() - t0, 1),
    }
    save_pose_prior(args.out, prior, info)
    print(f"wrote {os.path.relpath(args.out)} in {info['seconds']} s from {len(P)} frames")


if __name__ == "__main__":
    main()
