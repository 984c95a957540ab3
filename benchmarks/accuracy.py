"""Accuracy benchmark: the lifter on held-out motion capture through virtual cameras.

Runs the evaluation protocol of pose_lifting_core/tooling/evaluate.py (held-out clips, held-out
content, held-out camera ranges; exact and noisy 2D; full and COCO layouts; known K; unknown K
with the field-of-view prior, the pooled focal estimate and their fusion) in the lifter's default
number format, then the known-K conditions again in every other format the machine runs natively
(fp32 / bf16 / int8), side by side with the difference; then the test split of each training
dataset (Bandai, ACCAD, HDM05) per pose category. Writes docs/accuracy.json and the accuracy
section of docs/BENCHMARKS.md. Needs ../shared (the archives) or the caches in cache/.

Usage: .venv/bin/python benchmarks/accuracy.py [--checkpoint PATH] [--samples 20000] [--scenes 30]
       [--precision auto|fp32|bf16|int8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

from pose_lifting_core.tooling.evaluate import (
    EvalConfig,
    evaluate_known_k,
    evaluate_lab,
    evaluate_unknown_k,  # noqa: E402
    lab_report_markdown,
    report_markdown,
)
import torch  # noqa: E402

from pose_lifting_core.lifter import PRECISIONS, Lifter, available_precisions  # noqa: E402
from pose_lifting_core.tooling.train import ALL_DATASETS, TrainConfig, load_mocap  # noqa: E402


def _name(lifter: Lifter) -> str:
    """A lifter's number format."""
    return lifter.precision


def precision_table(default: str, rows, others) -> str:
    """Known-K MPJPE in the default number format beside every other one, same samples."""
    if not others:
        return ""
    names = list(others)
    out = [
        "",
        f"Number formats, same samples and conditions (known K): MPJPE (mm) in {default} and in "
        + ", ".join(names)
        + ". The rule: a faster format is the default only if no condition moves by more "
        "than 0.5 mm.",
        "",
        "| split | cameras | 2D noise (px) | input layout | "
        + f"{default} | "
        + " | ".join(f"{n} | difference" for n in names)
        + " |",
        "|---" * (5 + 2 * len(names)) + "|",
    ]
    worst = {n: 0.0 for n in names}
    for i, r in enumerate(r for r in rows if r["K"] == "known"):
        cells = [
            r["split"],
            r["cameras"],
            f"{r['noise_px']:g}",
            r["layout"],
            f"{r['mpjpe_mm']:.2f}",
        ]
        for n in names:
            d = others[n][i]["mpjpe_mm"] - r["mpjpe_mm"]
            worst[n] = max(worst[n], abs(d))
            cells += [f"{others[n][i]['mpjpe_mm']:.2f}", f"{d:+.2f}"]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Largest difference: " + ", ".join(f"{n} {worst[n]:.2f} mm" for n in names) + "."]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--precision", default="auto", choices=PRECISIONS)
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--scenes", type=int, default=30)
    ap.add_argument("--json", default=os.path.join("docs", "accuracy.json"))
    ap.add_argument("--markdown", default=os.path.join("docs", "BENCHMARKS.md"))
    args = ap.parse_args()
    origin = this_run(__file__)
    t0 = time.time()
    lifter = Lifter.load(args.checkpoint, "cpu", args.precision)
    heldout = tuple(lifter.info.get("train_config", {}).get("heldout_content", []))
    data = load_mocap("bandai", TrainConfig())
    cfg = EvalConfig(samples=args.samples, scenes=args.scenes, heldout_content=heldout)
    rows = evaluate_known_k(lifter, data, cfg) + evaluate_unknown_k(lifter, data, cfg)
    others = {}
    for prec in available_precisions(torch.device("cpu")):
        if prec != lifter.precision:
            others[prec] = evaluate_known_k(Lifter.load(args.checkpoint, "cpu", prec), data, cfg)
    lab_rows = []
    for name in ALL_DATASETS:
        lab = data if name == "bandai" else load_mocap(name, TrainConfig())
        lab_rows += evaluate_lab(lifter, lab, cfg, lab.splits(heldout)["test"])
    prov = lifter.info.get("provenance", {})
    with open(args.json, "w") as fh:
        json.dump(
            {
                **origin.record(),
                "checkpoint": lifter.info.get("path"),
                "provenance": prov,
                "config": {**cfg.__dict__, "heldout_content": list(heldout)},
                "precision": lifter.precision,
                "rows": rows,
                "other_precisions": others,
                "test_split_category_rows": lab_rows,
            },
            fh,
            indent=1,
        )
    main_row = next(
        r
        for r in rows
        if r["split"] == "test"
        and r["cameras"] == "train"
        and r["noise_px"] == 0
        and r["layout"] == "h36m17"
        and r["K"] == "known"
    )
    per_joint = " | ".join(f"{k} {v:.0f}" for k, v in main_row["per_joint_mm"].items())
    bandai = prov.get("datasets", {}).get("bandai", {})
    splits = bandai.get("clips_per_split", {})
    frames = bandai.get("frames_per_split", {})
    body = (
        f"Command: `{origin.command}` (the whole evaluation, {time.time() - t0:.0f} s)\n\n"
        f"Machine: {origin.machine}. Date: {origin.date}. Commit: {origin.commit}.\n\n"
        f"Checkpoint: `{os.path.relpath(lifter.info.get('path'))}`, run in {_name(lifter)} (the "
        f"default on this machine); {cfg.samples} samples per known-K "
        f"condition; unknown K: {cfg.scenes} scenes of {cfg.scene_people} people per camera "
        f"range, 2D noise {cfg.noise_px:g} px, COCO layout.\n\n"
        + (
            "Bandai splits (clips / frames): "
            + ", ".join(
                f"{k} {splits.get(k, '?')} / {frames.get(k, '?')}"
                for k in ("train", "val", "test", "content_test")
            )
            + f"; content held out: {', '.join(heldout)}.\n\n"
            if bandai
            else "The checkpoint never saw Bandai: its Bandai rows are a lab it never saw "
            "(people, retargeted skeleton, motions), not clips held out of its training data.\n\n"
        )
        + report_markdown(rows)
        + "\n\nPer-joint error (mm), held-out clips, training camera ranges, exact 2D, known K: "
        f"{per_joint}\n"
        + precision_table(_name(lifter), rows, others)
        + "\nThe test split (clips never trained on) of each training dataset, per pose category: "
        "exact 2D and known K, all 17 joints, training camera ranges; "
        "last column with 2D noise.\n\n"
        + lab_report_markdown(lab_rows, title="test split of")
        + "\n"
    )
    replace_section(args.markdown, "accuracy", body)
    print(report_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
