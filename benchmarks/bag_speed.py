"""Offline speed on a bag: `pose-lifting estimate` over a rosbag2 bag made from samples/vtest.avi,
beside `estimate` over the video file itself, measured side by side in one run.

Makes a bag of the video's frames as a camera driver records them (sensor_msgs/Image rgb8, or
with --compressed CompressedImage jpeg; no CameraInfo: the field-of-view prior, as for the
video), in mcap storage, at the video's 10 frames/s; then runs, as separate processes on the
same machine one after the other:
  1. `pose-lifting estimate samples/vtest.avi --quiet`
  2. `pose-lifting estimate BAG --bag-out OUT --quiet` (reads the bag, writes /skeletons,
     /markers and /tf into a new mcap bag).
Reported for each: the wall-clock frames/s of the whole command (start-up, model loading and
bag I/O included) and the pipeline's own frames/s that `estimate` prints (detection + lifting).
Bags are processed as fast as the CPU allows, not at the recorded rate: the bag's recorded
duration is given beside the processing time. Whether another process (a training job) ran
beside it is recorded. Writes docs/bag_speed.json and the "bag_speed" section of
docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/bag_speed.py [--compressed] [--workdir /tmp/bag_speed]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIDEO = os.path.join(ROOT, "samples", "vtest.avi")
CLI = os.path.join(os.path.dirname(sys.executable), "pose-lifting")


def make_bag(path: str, compressed: bool) -> dict:
    """The video as a camera's bag at `path`; its frames, duration (s), size (bytes), seconds."""
    import cv2

    from pose_lifting_ros.bag.camera_bag import write_camera_bag

    cap = cv2.VideoCapture(VIDEO)
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0

    def frames():
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    t0 = time.perf_counter()
    n = [0]

    def counted():
        for f in frames():
            n[0] += 1
            yield f

    write_camera_bag(path, counted(), fps=fps, compressed=compressed)
    cap.release()
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return {
        "frames": n[0],
        "duration_s": (n[0] - 1) / fps,
        "bytes": size,
        "make_s": time.perf_counter() - t0,
    }


def timed(args: list) -> dict:
    """Run `pose-lifting ARGS`; its wall-clock seconds and the frames/s line it printed."""
    t0 = time.perf_counter()
    p = subprocess.run([CLI, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"pose-lifting {' '.join(args)} failed: {p.stderr.strip()[-500:]}")
    m = re.search(r"(\d+) frame\(s\).*?([\d.]+) frames/s", p.stdout)
    frames, pipeline_fps = int(m.group(1)), float(m.group(2))
    return {
        "command": "pose-lifting " + " ".join(args),
        "frames": frames,
        "wall_s": wall,
        "wall_fps": frames / wall,
        "pipeline_fps": pipeline_fps,
    }


def training_running() -> bool:
    """Whether a training job (`pose-lifting train`, `cli train`) ran beside the benchmark."""
    p = subprocess.run(["pgrep", "-f", "cli train|pose-lifting train"], capture_output=True)
    return p.returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--compressed", action="store_true", help="jpeg CompressedImage, not rgb8")
    ap.add_argument("--workdir", default="/tmp/bag_speed")
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "bag_speed.json"))
    ap.add_argument("--markdown", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    args = ap.parse_args()
    origin = this_run(__file__)
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    bag, out = os.path.join(args.workdir, "vtest_bag"), os.path.join(args.workdir, "out_bag")
    busy = training_running()
    made = make_bag(bag, args.compressed)
    video = timed(["estimate", VIDEO, "--quiet"])
    from_bag = timed(["estimate", bag, "--bag-out", out, "--quiet"])
    busy = busy or training_running()
    shutil.rmtree(args.workdir, ignore_errors=True)
    doc = {
        "run": origin.record(),
        "bag": made,
        "compressed": args.compressed,
        "training_job_beside": busy,
        "video": video,
        "bag_run": from_bag,
    }
    with open(args.json, "w") as fh:
        json.dump(doc, fh, indent=1)
    kind = "CompressedImage (jpeg)" if args.compressed else "Image (rgb8, uncompressed)"
    rows = [("`estimate samples/vtest.avi`", video), ("`estimate BAG --bag-out OUT`", from_bag)]
    table = "\n".join(
        f"| {name} | {r['frames']} | {r['wall_s']:.1f} | {r['wall_fps']:.2f} | "
        f"{r['pipeline_fps']:.2f} |"
        for name, r in rows
    )
    beside = (
        "A training job (`pose-lifting train`) ran on the same 2 cores throughout, so both "
        "figures are lower than on an idle machine; their ratio is what compares."
        if busy
        else "Nothing else ran on the machine."
    )
    body = f"""## Offline speed on a bag (issue 24; `benchmarks/bag_speed.py`)

{origin.header()}

The bag: `samples/vtest.avi` written as a camera's rosbag2 bag (mcap, {kind}, no CameraInfo, so
the field-of-view prior as for the video): {made["frames"]} frames, {made["duration_s"]:.1f} s
recorded, {made["bytes"] / 2**20:.0f} MiB. Both commands ran one after the other in one run of
the script, as separate processes; the bag run also wrote the output bag (/skeletons, /markers,
/tf). Wall clock: the whole command (start-up, models, bag reading and writing); pipeline: the
frames/s `estimate` prints (detection + lifting). A bag is processed as fast as the CPU allows,
not at its recorded rate. {beside}

| command | frames | wall clock (s) | frames/s, wall clock | frames/s, pipeline |
|---|---|---|---|---|
{table}
"""
    replace_section(args.markdown, "bag_speed", body)
    print(body)


if __name__ == "__main__":
    main()
