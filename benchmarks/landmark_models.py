"""BlazePose landmark models (lite, full, heavy): speed, and what each does to the 3D end to end.

The images the project has carry no 3D ground truth, so accuracy is measured the two ways they
allow, on the bundled images (samples/basketball1.png, basketball2.png) and every 5th of the first
100 frames of samples/vtest.avi, each processed as a photo (no tracking, so every model runs its
own person search):
- agreement with the heavy model (the most accurate of the three by Google's model card): 2D
  joint distance in % of the person's height, the lifted skeletons' PA-MPJPE against heavy's,
  and the difference in distance from the camera (% of heavy's);
- self-consistency of the lifted skeletons: the left/right difference of the limb bones (mm;
  a real body is nearly symmetric) and the reprojection error (px).
Speed: the median time of the detector stage per frame (person search + landmarks), and per
person, with the detector's threads as the pipeline runs them.
Writes docs/eval/landmark_models.json and the "landmark models" section of docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/landmark_models.py [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

from pose_lifting_core.media import open_source, read_image  # noqa: E402
from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator  # noqa: E402
from pose_lifting_core.skeleton import JOINT_NAMES  # noqa: E402
from pose_lifting_core.tooling.metrics import procrustes_align  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
J = {n: i for i, n in enumerate(JOINT_NAMES)}
BONES = [("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist")]
MODELS = ("lite", "full", "heavy")


def frames() -> list:
    """(name, RGB image) of every frame measured."""
    photos = ("basketball1.png", "basketball2.png")
    out = [(n, read_image(os.path.join(ROOT, "samples", n))) for n in photos]
    for i, _, img in open_source(os.path.join(ROOT, "samples", "vtest.avi")).frames():
        if i >= 100:
            break
        if i % 5 == 0:
            out.append((f"vtest.avi#{i}", img))
    return out


def asymmetry_mm(X: np.ndarray) -> float:
    """Mean left/right difference of the four limb bones of one skeleton (17, 3) m, in mm."""
    d = []
    for a, b in BONES:
        left = np.linalg.norm(X[J[f"left_{a}"]] - X[J[f"left_{b}"]])
        right = np.linalg.norm(X[J[f"right_{a}"]] - X[J[f"right_{b}"]])
        d.append(abs(left - right))
    return float(np.mean(d) * 1000)


def run_model(model: str, images: list, threads: int) -> list:
    """Per frame: detector seconds and the people (keypoints, confidences, 3D, reprojection)."""
    est = PoseEstimator(
        PipelineConfig(device="cpu", landmark_model=model, track=False, detector_threads=threads)
    )
    est.process(images[0][1])  # warm-up
    out = []
    for name, img in images:
        r = est.process(img)
        out.append({"frame": name, "detect_s": r.timing["detect_s"], "persons": r.persons})
    return out


def _match(p, candidates) -> object:
    """The candidate whose 2D pelvis and thorax are nearest p's (within half p's height)."""
    if not candidates:
        return None
    key = lambda q: q.keypoints_2d[[J["pelvis"], J["thorax"]]]  # noqa: E731
    d = [np.linalg.norm(key(p) - key(q), axis=-1).mean() for q in candidates]
    h = np.ptp(p.keypoints_2d[:, 1])
    return candidates[int(np.argmin(d))] if min(d) < 0.5 * h else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    run = this_run(__file__)
    images = frames()
    results = {m: run_model(m, images, args.threads) for m in MODELS}
    rows = []
    for m in MODELS:
        det = [f["detect_s"] for f in results[m]]
        people = [len(f["persons"]) for f in results[m]]
        asym, reproj, kp_pct, pa_mm, dist_pct = [], [], [], [], []
        for f, ref in zip(results[m], results["heavy"]):
            for p in f["persons"]:
                asym.append(asymmetry_mm(p.joints_3d))
                reproj.append(p.reprojection_error_px)
                q = _match(p, ref["persons"]) if m != "heavy" else None
                if q is None:
                    continue
                both = (p.confidence > 0) & (q.confidence > 0)
                h = max(np.ptp(q.keypoints_2d[:, 1]), 1.0)
                kp_pct.append(
                    np.linalg.norm(p.keypoints_2d - q.keypoints_2d, axis=-1)[both].mean() / h * 100
                )
                A = p.joints_3d - p.joints_3d[:1]
                B = q.joints_3d - q.joints_3d[:1]
                pa_mm.append(
                    np.linalg.norm(procrustes_align(A[None], B[None])[0] - B, axis=-1).mean()
                    * 1000
                )
                dp, dq = np.linalg.norm(p.joints_3d[0]), np.linalg.norm(q.joints_3d[0])
                dist_pct.append(abs(dp - dq) / dq * 100)
        rows.append(
            {
                "model": m,
                "frames": len(det),
                "people": int(np.sum(people)),
                "detect_ms_median": float(np.median(det) * 1000),
                "detect_ms_per_person": float(np.sum(det) / max(np.sum(people), 1) * 1000),
                "matched_to_heavy": len(kp_pct),
                "kp_vs_heavy_pct_of_height_median": float(np.median(kp_pct)) if kp_pct else None,
                "pa_mpjpe_vs_heavy_mm_median": float(np.median(pa_mm)) if pa_mm else None,
                "distance_vs_heavy_pct_median": float(np.median(dist_pct)) if dist_pct else None,
                "limb_asymmetry_mm_median": float(np.median(asym)),
                "reprojection_px_median": float(np.median(reproj)),
            }
        )

    def f(v, fmt):
        return "(reference)" if v is None else format(v, fmt)

    table = [
        "| landmark model | people found | detector ms / frame (median) | ms / person | "
        "2D vs heavy (% of height) | 3D PA-MPJPE vs heavy (mm) | distance vs heavy (%) | "
        "limb asymmetry (mm) | reprojection (px) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        table.append(
            f"| {r['model']} | {r['people']} | {r['detect_ms_median']:.1f} | "
            f"{r['detect_ms_per_person']:.1f} | "
            f"{f(r['kp_vs_heavy_pct_of_height_median'], '.1f')} | "
            f"{f(r['pa_mpjpe_vs_heavy_mm_median'], '.0f')} | "
            f"{f(r['distance_vs_heavy_pct_median'], '.1f')} | "
            f"{r['limb_asymmetry_mm_median']:.0f} | {r['reprojection_px_median']:.1f} |"
        )
    body = "\n".join(
        [
            f"Command: `{run.command}`. Machine: {run.machine}. Date: {run.date}. "
            f"Commit: {run.commit}. {len(images)} frames (2 photos and every 5th of the first "
            "100 frames of vtest.avi), each as a photo (no tracking); medians over people.",
            "",
            *table,
        ]
    )
    os.makedirs(os.path.join(ROOT, "docs", "eval"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "eval", "landmark_models.json"), "w") as fh:
        json.dump({"run": dataclasses.asdict(run), "rows": rows}, fh, indent=1)
    replace_section(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "landmark-models", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
