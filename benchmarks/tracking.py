"""Tracking: how long track ids last, how often a track's distance jumps, and whether a still
scene stays still.

Runs `pose-lifting estimate`'s pipeline (PoseEstimator with the default PipelineConfig, tracking
on, as `estimate` builds it for a video or a folder of images) over two sequences:
  1. `samples/vtest.avi` (pedestrians seen from a first floor, 795 frames at 10 frames/s);
  2. twenty copies of `samples/basketball1.png` (two people, one cut off by the frame edge),
     as `estimate` runs a folder of twenty identical images.
Reported per sequence: the number of track ids, the median and mean track length (frames in
which an id appears), and the fraction of frame-to-frame steps of a track (the same id in two
consecutive frames) whose pelvis distance from the camera changes by more than 20 %; for the
still scene also each id's distance range (max - min) in % of its median.
Writes docs/eval/tracking.json and the "tracking" section of docs/BENCHMARKS.md.

The figures depend a little on the machine's load: the proposal detectors run beside the frames
and their proposals join the first frame in which they are done.

Usage: .venv/bin/python benchmarks/tracking.py [--frames 795] [--threads 2]
    [--baseline OLD.json]  (a JSON this script wrote at an earlier commit: shown as "before";
    without it, the "before" run already in the output JSON is kept)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JUMP = 0.2  # a step whose distance changes by more than this fraction is a jump


def run(frames, threads: int) -> Dict[int, Dict[int, float]]:
    """{frame index: {track id: pelvis distance (m)}} for frames of (index, time_s, rgb)."""
    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator

    est = PoseEstimator(PipelineConfig(detector_threads=threads))
    out = {}
    for index, t, rgb in frames:
        res = est.process(rgb, None, t)
        out[index] = {p.id: float(np.linalg.norm(p.joints_3d[0])) for p in res.persons}
    return out


def figures(seen: Dict[int, Dict[int, float]]) -> dict:
    """Track ids, track lengths, distance jumps (and the largest ones) and, per id, the distance
    range, of one sequence's {frame: {id: distance}}."""
    per_id: Dict[int, List[float]] = {}
    for people in seen.values():
        for tid, d in people.items():
            per_id.setdefault(tid, []).append(d)
    lengths = np.array([len(v) for v in per_id.values()]) if per_id else np.zeros(1)
    steps, jumps = 0, []
    order = sorted(seen)
    for a, b in zip(order, order[1:]):
        for tid in seen[a].keys() & seen[b].keys():
            steps += 1
            da, db = seen[a][tid], seen[b][tid]
            if abs(db - da) > JUMP * da:
                jumps.append((b, tid, round(da, 2), round(db, 2)))
    jumps.sort(key=lambda j: -abs(j[3] - j[2]) / j[2])
    people = [len(p) for p in seen.values()]
    return {
        "frames": len(seen),
        "people_per_frame_mean": float(np.mean(people)) if people else 0.0,
        "track_ids": len(per_id),
        "track_length_median": float(np.median(lengths)),
        "track_length_mean": float(np.mean(lengths)),
        "steps": steps,
        "jumps": len(jumps),
        "jump_pct": 100.0 * len(jumps) / max(steps, 1),
        "largest_jumps": [
            {"frame": f, "id": t, "from_m": a, "to_m": b} for f, t, a, b in jumps[:5]
        ],
        "distance_range_pct": {
            str(tid): {
                "frames": len(v),
                "min_m": round(min(v), 3),
                "max_m": round(max(v), 3),
                "range_pct": 100.0 * (max(v) - min(v)) / float(np.median(v)),
            }
            for tid, v in sorted(per_id.items())
        },
    }


def _rows(label: str, rec: dict) -> List[str]:
    v, s = rec["vtest"], rec["still"]
    ranges = ", ".join(
        f"id {t}: {r['range_pct']:.1f} % ({r['min_m']:.2f}-{r['max_m']:.2f} m, {r['frames']} fr)"
        for t, r in s["distance_range_pct"].items()
    )
    return [
        f"| {label} ({rec['commit']}) | vtest.avi, {v['frames']} frames | {v['track_ids']} | "
        f"{v['track_length_median']:.0f} / {v['track_length_mean']:.1f} | "
        f"{v['jumps']} of {v['steps']} ({v['jump_pct']:.1f} %) | "
        f"{v['people_per_frame_mean']:.2f} | |",
        f"| {label} ({rec['commit']}) | basketball1.png x {s['frames']} | {s['track_ids']} | "
        f"{s['track_length_median']:.0f} / {s['track_length_mean']:.1f} | "
        f"{s['jumps']} of {s['steps']} ({s['jump_pct']:.1f} %) | "
        f"{s['people_per_frame_mean']:.2f} | {ranges} |",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=795, help="frames of vtest.avi")
    ap.add_argument("--copies", type=int, default=20, help="copies of basketball1.png")
    ap.add_argument("--threads", type=int, default=2, help="detector threads")
    ap.add_argument("--baseline", help="JSON of a run at an earlier commit, shown as before")
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "eval", "tracking.json"))
    ap.add_argument("--markdown", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    args = ap.parse_args()
    origin = this_run(__file__)
    from pose_lifting_core.media import open_source, read_image

    src = open_source(os.path.join(ROOT, "samples", "vtest.avi"))
    video = run(((i, t, rgb) for i, t, rgb in src.frames() if i < args.frames), args.threads)
    rgb = read_image(os.path.join(ROOT, "samples", "basketball1.png"))
    still = run(((i, float(i), rgb) for i in range(args.copies)), args.threads)
    rec = {
        **origin.record(),
        "threads": args.threads,
        "vtest": figures(video),
        "still": figures(still),
    }
    baseline = None
    if args.baseline:
        with open(args.baseline) as fh:
            baseline = json.load(fh)
        baseline.pop("baseline", None)
    elif os.path.isfile(args.json):
        with open(args.json) as fh:
            baseline = json.load(fh).get("baseline")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump({**rec, "baseline": baseline}, fh, indent=1)
    table = [
        "| code | sequence | track ids | track length (frames, median / mean) | "
        f"steps with a distance change > {JUMP:.0%} | people / frame | "
        "distance range per id (% of its median) |",
        "|---|---|---|---|---|---|---|",
    ]
    if baseline is not None:
        table += _rows("before", baseline)
    table += _rows("after" if baseline is not None else "this run", rec)
    before = (
        f"Before: `{baseline['command']}` at commit {baseline['commit']}, {baseline['date']}, "
        f"{baseline['threads']} detector threads.\n\n"
        if baseline is not None
        else ""
    )
    body = (
        f"{origin.header()} Detector threads: {args.threads}.\n\n"
        + before
        + "`pose-lifting estimate`'s pipeline (the default PipelineConfig, tracking on) over "
        "`samples/vtest.avi` and over twenty copies of `samples/basketball1.png` (a folder of "
        "identical images: a still scene). Track length: frames in which an id appears. A step: "
        "the same id in two consecutive frames; its distance is the pelvis's from the camera. "
        "The proposal detectors run beside the frames, so the figures move a little with the "
        "machine's load.\n\n" + "\n".join(table) + "\n"
    )
    replace_section(args.markdown, "tracking", body)
    print(body)
    print("largest jumps (vtest):", rec["vtest"]["largest_jumps"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
