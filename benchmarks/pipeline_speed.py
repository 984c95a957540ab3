"""Speed of the image-to-3D chain on this machine's CPU (or GPU for the lifter when present).

Measures, in one run, side by side:
  1. one person at 640x480 (samples/basketball1.png, max_people=1), video mode (tracking):
     the detector alone vs the whole chain (detect + lift + solve + track), frames/s;
  2. lifting + root solving + tracking for 10 people (keypoints given), ms per frame;
  3. people per frame and frames/s on samples/vtest.avi (first 100 frames, default settings).
Writes docs/pipeline_speed.json and the "pipeline speed" section of docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/pipeline_speed.py [--frames 200] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import BLOCK, floor_block, replace_section, this_run  # noqa: E402

from pose_lifting_core.camera import project  # noqa: E402
from pose_lifting_core.detection.blazepose import BlazePoseDetector  # noqa: E402
from pose_lifting_core.media import open_source, read_image  # noqa: E402
from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pct(a, q):
    return float(np.percentile(np.asarray(a) * 1000, q))


def one_person(frames: int, threads: int, person_detector: str) -> dict:
    """The detector alone and the whole chain (its own detector), in alternating blocks of BLOCK
    frames, so that both see the same machine state and each its own steady state."""
    img = read_image(os.path.join(ROOT, "samples", "basketball1.png"))
    det_only = BlazePoseDetector(
        max_people=1, num_threads=threads, person_detector=person_detector, track=True
    )
    est = PoseEstimator(
        PipelineConfig(
            device="cpu",
            max_people=1,
            detector_threads=threads,
            person_detector=person_detector,
            track=True,
        )
    )
    t_det, t_all, t_lift = [], [], []
    for i in range(2 * frames):
        t0 = time.perf_counter()
        if floor_block(i):
            det_only.detect(img)
            t_det.append(time.perf_counter() - t0)
        else:
            r = est.process(img)
            t_all.append(time.perf_counter() - t0)
            t_lift.append(r.timing["lift_solve_track_s"])
    return {
        "person_detector": person_detector,
        "frames": frames,
        "precision": est.lifter.precision,
        "detector_alone_ms_median": _pct(t_det, 50),
        "detector_alone_fps": 1.0 / float(np.median(t_det)),
        "end_to_end_ms_median": _pct(t_all, 50),
        "end_to_end_ms_p95": _pct(t_all, 95),
        "end_to_end_fps": 1.0 / float(np.median(t_all)),
        "lift_solve_track_ms_median": _pct(t_lift, 50),
        "overhead_over_detector_pct": (float(np.median(t_all)) / float(np.median(t_det)) - 1)
        * 100,
    }


def ten_people(repeats: int) -> dict:
    est = PoseEstimator(PipelineConfig(device="cpu"))
    K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
    rng = np.random.default_rng(0)
    X = (
        rng.normal(0, 0.3, (10, 17, 3))
        + np.stack([np.linspace(-3, 3, 10), np.zeros(10), np.linspace(3, 9, 10)], -1)[:, None]
    )
    kp = project(X, K)
    times, core = [], []
    conf = np.ones(kp.shape[:2])
    for i in range(repeats):
        noisy = kp + rng.normal(0, 1, kp.shape)
        t0 = time.perf_counter()
        est.lifter.estimate(noisy, conf, K)  # lifting + root solving + reprojection scores
        t1 = time.perf_counter()
        est.process_keypoints(
            noisy, None, "h36m17", (1280, 720), K
        )  # + layout conversion, tracking
        t2 = time.perf_counter()
        core.append(t1 - t0)
        times.append(t2 - t1)
    return {
        "people": 10,
        "repeats": repeats,
        "lift_solve_ms_median": _pct(core, 50),
        "lift_solve_ms_p95": _pct(core, 95),
        "ms_median": _pct(times, 50),
        "ms_p95": _pct(times, 95),
    }


def vtest(frames: int, threads: int) -> dict:
    src = open_source(os.path.join(ROOT, "samples", "vtest.avi"))
    est = PoseEstimator(PipelineConfig(device="cpu", detector_threads=threads))
    counts, times, ids = [], [], set()
    for i, t, rgb in src.frames():
        if i >= frames:
            break
        t0 = time.perf_counter()
        r = est.process(rgb, None, t)
        times.append(time.perf_counter() - t0)
        counts.append(len(r.persons))
        ids.update(p.id for p in r.persons)
    c = np.array(counts)
    return {
        "frames": len(c),
        "people_per_frame_mean": float(c.mean()),
        "frames_with_3_or_more_pct": float((c >= 3).mean() * 100),
        "track_ids": len(ids),
        "fps": 1.0 / float(np.median(times)),
        "ms_median": _pct(times, 50),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "pipeline_speed.json"))
    ap.add_argument("--markdown", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    args = ap.parse_args()
    origin = this_run(__file__)
    import torch

    torch.set_num_threads(args.threads)
    res = {
        "one_person": [one_person(args.frames, args.threads, d) for d in ("both", "blazepose")],
        "ten_people_lift_solve_track": ten_people(500),
        "vtest": vtest(100, args.threads),
    }
    doc = {**origin.record(), **res}
    with open(args.json, "w") as fh:
        json.dump(doc, fh, indent=1)
    rows = [
        "| person proposals | detector alone (ms, median) | whole chain (ms, median / p95) | "
        "whole chain (frames/s) | lift+solve+track (ms) | chain over detector |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["one_person"]:
        rows.append(
            f"| {r['person_detector']} | {r['detector_alone_ms_median']:.1f} | "
            f"{r['end_to_end_ms_median']:.1f} / {r['end_to_end_ms_p95']:.1f} | "
            f"{r['end_to_end_fps']:.1f} | {r['lift_solve_track_ms_median']:.2f} | "
            f"{r['overhead_over_detector_pct']:+.1f} % |"
        )
    t, v = res["ten_people_lift_solve_track"], res["vtest"]
    body = (
        f"{origin.header()}\n\n"
        "One person at 640x480 (`samples/basketball1.png`, max_people=1, video mode: tracking, "
        f"re-detection every 10 frames), {args.frames} frames of each, {args.threads} threads, no "
        "ROS messages (see the end-to-end section), detector alone and whole chain in "
        f"alternating blocks of {BLOCK} frames, lifting in "
        f"{res['one_person'][0]['precision']}:\n\n"
        + "\n".join(rows)
        + f"\n\n10 people, keypoints given, CPU: lifting + root solving + reprojection scores "
        f"(`Lifter.estimate`) {t['lift_solve_ms_median']:.2f} ms median, "
        f"{t['lift_solve_ms_p95']:.2f} ms p95; with layout conversion and tracking "
        f"(`PoseEstimator.process_keypoints`) {t['ms_median']:.2f} ms median, "
        f"{t['ms_p95']:.2f} ms p95 per frame.\n\n"
        f"`samples/vtest.avi`, first {v['frames']} frames, default settings "
        f"(BlazePose + HOG proposals, tracking): {v['people_per_frame_mean']:.1f} people per "
        f"frame, {v['frames_with_3_or_more_pct']:.0f} % of frames with 3 or more, "
        f"{v['track_ids']} track ids, {v['fps']:.1f} frames/s.\n"
    )
    replace_section(args.markdown, "pipeline-speed", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
