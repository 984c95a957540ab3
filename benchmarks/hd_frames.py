"""Bounded cost at HD: frame times of the whole pipeline at 640x480, 1280x720 and 1920x1080, and
what happens to an image of 20000x20000.

Two people (`samples/basketball1.png`, scaled to each size), the default pipeline as the nodes and
`estimate` on a video run it (BlazePose and HOG proposals, tracking on: the proposal detectors run
every few frames, beside the frames in worker threads, the landmark model every frame; the
collector frozen after the first frame, as the nodes and `estimate` do, and OpenCV
single-threaded, as the pose_lifter node runs it), 300 frames per size, one process, 2 detector
threads. Reports the median, p95 and largest frame time and how many frames
took over 150 ms. Then `pose-lifting estimate` on a 20000x20000 PNG, timed from start to exit.
Writes docs/hd_frames.json and the "hd frames" section of docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/hd_frames.py [--frames 300]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = ((640, 480), (1280, 720), (1920, 1080))


def frame_times(size, frames: int) -> dict:
    """Per-frame seconds of PoseEstimator.process on the sample scaled to `size`."""
    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator

    bgr = cv2.imread(os.path.join(ROOT, "samples", "basketball1.png"))
    rgb = cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
    cv2.setNumThreads(1)  # as the pose_lifter node does
    est = PoseEstimator(PipelineConfig(detector_threads=2, track=True))
    est.process(rgb)  # loads the models
    gc.freeze()  # as the nodes and `estimate` do after their first frame
    times, people = [], []
    for i in range(frames):
        t0 = time.perf_counter()
        res = est.process(rgb, None, float(i))
        times.append(time.perf_counter() - t0)
        people.append(len(res.persons))
    t = np.array(times) * 1000
    return {
        "size": f"{size[0]}x{size[1]}",
        "frames": frames,
        "median_ms": float(np.median(t)),
        "p95_ms": float(np.percentile(t, 95)),
        "max_ms": float(t.max()),
        "over_150_ms": int((t > 150).sum()),
        "people_median": float(np.median(people)),
    }


def huge_image() -> dict:
    """`pose-lifting estimate` on a 20000x20000 PNG: exit code, first stderr line, seconds."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "huge.png")
        Image.new("L", (20000, 20000)).save(path)
        exe = os.path.join(os.path.dirname(sys.executable), "pose-lifting")
        t0 = time.perf_counter()
        r = subprocess.run([exe, "estimate", path], capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - t0
    err = r.stderr.strip().splitlines()
    return {"returncode": r.returncode, "stderr": err[-1] if err else "", "seconds": seconds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args()
    origin = this_run(__file__)
    rows = [frame_times(s, args.frames) for s in SIZES]
    huge = huge_image()
    with open(os.path.join(ROOT, "docs", "hd_frames.json"), "w") as fh:
        json.dump(
            {
                **origin.record(),
                "rows": rows,
                "huge_image": huge,
            },
            fh,
            indent=1,
        )
    table = [
        "| image | median (ms) | p95 (ms) | largest (ms) | frames over 150 ms | people |",
        "|---|---|---|---|---|---|",
    ]
    table += [
        f"| {r['size']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} | "
        f"{r['over_150_ms']} of {r['frames']} | {r['people_median']:g} |"
        for r in rows
    ]
    body = (
        f"{origin.header()}\n\n"
        "Two people (`samples/basketball1.png` scaled to each size), the default pipeline with "
        "tracking (landmarks every frame; the BlazePose detector every 10th frame or on a 10 % "
        "creep and HOG every 30 frames, each in a worker thread beside the frames), the "
        "collector frozen after "
        f"the first frame and OpenCV single-threaded as the pose_lifter node runs them, "
        f"{args.frames} frames per size, 2 detector threads:\n\n"
        + "\n".join(table)
        + f"\n\n`pose-lifting estimate` on a 20000x20000 PNG: exit {huge['returncode']} after "
        f"{huge['seconds']:.1f} s, `{huge['stderr']}`.\n"
    )
    replace_section(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "hd-frames", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
