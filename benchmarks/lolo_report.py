"""Leave-one-lab-out report: the lifter on people, bodies and poses from a lab it never saw.

Reads the JSON that `pose-lifting evaluate --leave-one-lab-out DIR --json F` writes (one per
training configuration; tools/train_release.sh trains and evaluates them) and, for the previous
shipped model, the JSON of `pose-lifting evaluate --checkpoint OLD --dataset D --split all`.
Writes the "leave-one-lab-out" section of docs/BENCHMARKS.md: the shipped configuration's table
per held-out lab and pose category, the issue's targets against it, and every configuration side
by side. The figures are the JSON files' (docs/eval/); nothing is measured here.

Usage: .venv/bin/python benchmarks/lolo_report.py
"""

from __future__ import annotations

import json
import os
import sys
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section  # noqa: E402

from pose_lifting_core.tooling.evaluate import lab_report_markdown  # noqa: E402

EVAL = os.path.join("docs", "eval")
SHIPPED = (
    "lolo_r4_tta.json",
    "round 4, shipped configuration: ACCAD + HDM05 + CMU-sitting (no Bandai), cameras up to 65°, "
    "hip and shoulder widths from 0.7 and 0.6 of the lab's, test-time mirror",
)
CONFIGS = [  # (file, what it is), compared side by side; the shipped one last
    ("lolo.json", "round 2 (two labs of Bandai, ACCAD, HDM05; cameras up to 45°)"),
    ("lolo_r3_typicalcam.json", "round 3 with cameras up to 45° only"),
    ("lolo_r3_w512.json", "round 3 at width 512, about the same CPU time"),
    ("lolo_r3_wide.json", "round 3 with hips -3..+8 cm, shoulders -10..+4 cm along the trunk"),
    ("lolo_r3_bandai.json", "round 3 with Bandai added"),
    ("lolo_r3_torso.json", "round 3 with trunks 0.72-1.12, necks and heads 0.6-1.4 as long"),
    ("lolo_r3.json", "round 3 (widths from 0.9 of the lab's), shipped before"),
    ("lolo_r4_narrow.json", "round 4 with widths from 0.5 (hips) and 0.4 (shoulders)"),
    ("lolo_r4.json", "round 4 without the test-time mirror"),
    ("lolo_r5_mirror.json", "round 4 with half the training bodies mirrored"),
    ("lolo_r5_detector.json", "round 4 with detector-style 2D errors in training"),
    ("lolo_r5_bend.json", "round 4 with 10 % of the upper bodies bent forward"),
    ("lolo_r5_seed1_bend.json", "the same, seed 1 (CMU fold)"),
    ("lolo_r5_seed1_nobend.json", "round 4, seed 1 (CMU fold)"),
    SHIPPED,
]
PREVIOUS = {"cmu": "round2_shipped_cmu.json"}
"""The round-2 shipped model (trained on Bandai, ACCAD and HDM05) on a lab it never saw."""
LABS = ("accad", "hdm05", "cmu")
"""The labs the targets are set on (issue 21); Bandai's row is reported."""


def _rows(name: str) -> List[Dict]:
    with open(os.path.join(EVAL, name)) as fh:
        doc = json.load(fh)
    return doc.get("category_rows") or doc["rows"]


def _cell(rows: List[Dict], lab: str, category: str, key: str) -> str:
    for r in rows:
        if r["dataset"] == lab and r["category"] == category:
            return (
                f"{r[key]:.1f}" if key != "root_err_median_pct_of_distance" else f"{r[key]:.1f} %"
            )
    return "-"


def targets(rows: List[Dict]) -> str:
    """Issue 21's leave-one-lab-out targets against the shipped configuration's rows."""
    labs = [d for d in LABS if any(r["dataset"] == d for r in rows)]
    alls = {r["dataset"]: r for r in rows if r["category"] == "all"}
    out = ["| target | " + " | ".join(labs) + " |", "|---" * (len(labs) + 1) + "|"]

    def mark(value: float, limit: float) -> str:
        return f"{value:.1f}{' met' if value <= limit else ' **missed**'}"

    for label, key, limit in (
        ("MPJPE <= 70 mm", "mpjpe_mm", 70),
        ("PA-MPJPE <= 50 mm", "pa_mpjpe_mm", 50),
        ("root error median <= 6 % of distance", "root_err_median_pct_of_distance", 6),
    ):
        out.append(f"| {label} | " + " | ".join(mark(alls[d][key], limit) for d in labs) + " |")
    worst = []
    for d in labs:
        cats = [
            r
            for r in rows
            if r["dataset"] == d and not r["category"].startswith("all") and r["frames"] >= 200
        ]
        bad = [f"{r['category']} {r['pa_mpjpe_mm']:.0f}" for r in cats if r["pa_mpjpe_mm"] > 65]
        worst.append("met" if not bad else "**missed**: " + ", ".join(bad))
    out.append(
        "| every category with >= 200 frames: PA-MPJPE <= 65 mm | " + " | ".join(worst) + " |"
    )
    return "\n".join(out)


def bandai_cost() -> str:
    """What leaving Bandai out costs: mean MPJPE over the other labs, with and without it (the
    round-3 recipe, the one both were trained with)."""
    with_b, without = "lolo_r3_bandai.json", "lolo_r3.json"
    if not all(os.path.isfile(os.path.join(EVAL, f)) for f in (with_b, without)):
        return "(not measured: the models trained with Bandai are missing)"
    a = {r["dataset"]: r["mpjpe_mm"] for r in _rows(without) if r["category"] == "all"}
    b = {r["dataset"]: r["mpjpe_mm"] for r in _rows(with_b) if r["category"] == "all"}
    labs = [d for d in LABS if d in a and d in b]
    ma, mb = sum(a[d] for d in labs) / len(labs), sum(b[d] for d in labs) / len(labs)
    return (
        f"Mean MPJPE over {', '.join(labs)} held out: {ma:.1f} mm without Bandai, {mb:.1f} mm "
        f"with it: leaving Bandai out costs {(ma - mb) / mb * 100:+.1f} % (the issue's limit for "
        "shipping one checkpoint: 5 %)."
    )


def side_by_side(configs: List[tuple], key: str, with_previous: bool) -> str:
    """One metric for every configuration, per held-out lab and category."""
    loaded = [(label, _rows(f)) for f, label in configs if os.path.isfile(os.path.join(EVAL, f))]
    previous = {
        lab: _rows(f) for lab, f in PREVIOUS.items() if os.path.isfile(os.path.join(EVAL, f))
    }
    head = ["held-out lab", "pose", "frames"] + (
        ["round 2 shipped model (never saw CMU)"] if with_previous else []
    )
    head += [label for label, _ in loaded]
    out = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in loaded[-1][1]:
        lab, cat = r["dataset"], r["category"]
        cells = [lab, cat, str(r["frames"])]
        if with_previous:
            cells.append(
                _cell(previous[lab], lab, cat, key) if lab in previous else "(trained on it)"
            )
        cells += [_cell(rows, lab, cat, key) for _, rows in loaded]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> int:
    shipped = _rows(SHIPPED[0])
    with open(os.path.join(EVAL, SHIPPED[0])) as fh:
        cfg = json.load(fh)["config"]
    walltimes = ""
    if os.path.isfile(os.path.join(EVAL, "walltime.tsv")):
        total: Dict[str, int] = {}
        with open(os.path.join(EVAL, "walltime.tsv")) as fh:
            for line in fh:
                name, sec = line.split("\t")[:2]
                total[name] = total.get(name, 0) + int(sec)
        walltimes = (
            "CPU wall time of each model (`runs/release/walltime.tsv`, copied to "
            "docs/eval/walltime.tsv; the sum over interrupted and resumed runs):\n\n"
            "| model | wall time (min) |\n|---|---|\n"
            + "\n".join(f"| {k} | {v / 60:.1f} |" for k, v in total.items())
        )
    body = "\n\n".join(
        [
            "Each model is trained on the other labs (train and validation clips) and scored on "
            "every frame of the held-out one: people, skeletons (where each lab puts the joints) "
            "and poses it never saw. Exact 2D of all 17 joints and the true K, so the error is "
            "the lifter's own; `typical` cameras (the round-2 training range, elevation up to "
            "45°, so the rounds compare) for the category rows and `steep` ones (45-65°, 3-6 m) "
            f"for the last row of each lab; up to {cfg['samples']} frames for the `all` rows and "
            f"{cfg['samples_per_category']} per category (the frames column counts what the lab "
            f"has); the last column adds {cfg['noise_px']:g} px of 2D noise. Pose categories: "
            "`pose_lifting_core/tooling/data/poses.py`. Bandai's rows are the shipped model's (it "
            "never saw Bandai).",
            "Commands: `bash tools/train_release.sh train all lolo lolo_bandai`, then "
            "`LAB_LIST=cmu bash tools/train_release.sh train lolo_wide`, `LAB_LIST=accad bash "
            "tools/train_release.sh train lolo_w512`, `LAB_LIST=cmu bash "
            "tools/train_release.sh train lolo_typicalcam` and `LAB_LIST=cmu bash "
            "tools/train_release.sh train lolo_torso` (single folds: the CPU time of one "
            "session); round 4 (the widths): `bash tools/train_release.sh "
            "train all lolo_width`; round 5 (session 11): `bash tools/train_release.sh train "
            "lolo_mirror lolo_detector lolo_bend`, the seed-1 CMU folds with `pose-lifting "
            "train --datasets accad,hdm05 --epochs 10 --seed 1 --bend-fraction 0|0.1`, and "
            "Bandai's row of `lolo_bend` from the full model with bent bodies (runs/release/"
            "all_bend, 26 epochs, not shipped); then "
            "`bash tools/train_release.sh evaluate` "
            "(`pose-lifting evaluate --leave-one-lab-out runs/release/<set> --precision fp32 "
            "--json ...`), all on this 2-core CPU, one model at a time: the shipped model 26 "
            "epochs of 300,000 samples, the leave-one-lab-out models 10 epochs (25 at width "
            "512). Round 2 (docs/eval/lolo.json) was trained on the lent GPU at 26 epochs; its "
            "CMU column is the round-2 shipped model, which never saw CMU. "
            "Report: `.venv/bin/python benchmarks/lolo_report.py`.",
            walltimes,
            "### The shipped configuration\n\n" + lab_report_markdown(shipped),
            "### Issue 21's targets (shipped configuration)\n\n" + targets(shipped),
            "### Does Bandai help?\n\n" + bandai_cost(),
            "### Every configuration: MPJPE (mm)\n\n" + side_by_side(CONFIGS, "mpjpe_mm", True),
            "### Every configuration: PA-MPJPE (mm)\n\n"
            + side_by_side(CONFIGS, "pa_mpjpe_mm", True),
            "### Every configuration: root error, median % of distance\n\n"
            + side_by_side(CONFIGS, "root_err_median_pct_of_distance", True),
        ]
    )
    replace_section(os.path.join("docs", "BENCHMARKS.md"), "leave-one-lab-out", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
