"""Where one frame's time goes, against the detector alone and against MediaPipe's own 3D output.

One run, one person at 640x480 (samples/basketball1.png, max_people=1, BlazePose person
proposals, tracking as for video), per frame: JPEG decode, then the pose_lifter node's code path
(PoseEstimator: detection, lifting, camera (root) solving, tracking; then the node's ROS message
building (Skeleton3DArray, markers, TF) and publishing to a subscriber in another process, as
RViz or a user's node would be). Beside
it, in alternating blocks of 20 frames: decode + detector alone (the floor). Then MediaPipe
Pose's world landmarks (model_complexity=1, video mode; run in .venv-bench, see
scripts/setup_bench.sh; skipped with a note when absent),
which are hip-centred metres with no position in the camera frame. Then scaling: lifting +
solving for 1, 5, 10, 50 synthetic people, and detection at several image sizes. Writes
docs/end_to_end.json, docs/end_to_end.png and the "end to end" section of docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/end_to_end.py [--frames 600] [--threads 2] [--precision auto]

600 frames of each (30 blocks of 20): with 200 the detector's own drift between blocks moved the
ratio between +8.5 % and +18.1 % in six runs at one commit; with 600, +13.6 % to +14.6 % in three.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _sink  # noqa: E402
from _report import BLOCK, bench_env, floor_block, replace_section, this_run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = os.path.join(ROOT, "samples", "basketball1.png")


def _ms(v):
    return float(np.median(v) * 1000)


def _chain_and_floor(args, env) -> tuple:
    """1. the detector alone (the floor) and 2. the whole chain as the pose_lifter node runs it
    (PoseEstimator, then the node's message building and publishing), in alternating blocks of
    BLOCK frames so that each sees its own steady state (the chain's detector runs after lifting
    and publishing, the floor's after the detector), with the same machine state. Returns
    (seconds per stage of the chain, seconds of the floor, the chain's lifter)."""
    import cv2
    import rclpy
    from std_msgs.msg import Header

    from pose_lifting_core.detection.blazepose import BlazePoseDetector
    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator
    from pose_lifting_ros.outputs import Outputs
    from pose_lifting_ros.params import OutputConfig
    from pose_lifting_ros.runner import stop_process

    jpeg = cv2.imencode(".jpg", cv2.imread(IMAGE), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()

    def decode():
        return cv2.cvtColor(
            cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
        )

    cfg = PipelineConfig(
        max_people=1,
        detector_threads=args.threads,
        person_detector="blazepose",
        track=True,
        precision=args.precision,
    )
    floor_det = BlazePoseDetector(
        max_people=1, num_threads=args.threads, person_detector="blazepose", track=True
    )
    est = PoseEstimator(cfg)
    rclpy.init()
    node = rclpy.create_node("e2e_bench")
    outputs, config = (
        Outputs(node),
        OutputConfig.defaults(),
    )  # the node's outputs, as it publishes them
    sink = _sink.start(node, [outputs.skeletons, outputs.markers, outputs.tf.publisher], env)
    stages = {
        k: []
        for k in ("decode", "detect", "lift_solve", "track", "build_msgs", "publish", "total")
    }
    floor = []
    for i in range(2 * args.frames):
        if floor_block(i):
            t0 = time.perf_counter()
            floor_det.detect(decode())
            floor.append(time.perf_counter() - t0)
            continue
        # the node stamps its outputs with the image message's own header; here the header is
        # made before the clock starts, as it would arrive with the image
        h = Header(frame_id="camera_optical_frame", stamp=node.get_clock().now().to_msg())
        t0 = time.perf_counter()
        rgb = decode()
        t1 = time.perf_counter()
        frame = est.process(rgb)
        t2 = time.perf_counter()
        built = outputs.build(frame, h, config)
        t3 = time.perf_counter()
        outputs.publish(built)
        t4 = time.perf_counter()
        tm = frame.timing
        for k, v in (
            ("decode", t1 - t0),
            ("detect", tm["detect_s"]),
            ("lift_solve", tm["lift_solve_s"]),
            ("track", tm["track_s"]),
            ("build_msgs", t3 - t2),
            ("publish", t4 - t3),
            ("total", t4 - t0),
        ):
            stages[k].append(v)
    stop_process(sink)
    node.destroy_node()
    rclpy.try_shutdown()
    return stages, floor, est.lifter


def _mediapipe(frames: int):
    """3. MediaPipe's own 3D world landmarks, when .venv-bench exists (else None)."""
    mp_py = os.path.join(ROOT, ".venv-bench", "bin", "python")
    if not os.path.exists(mp_py):
        return None
    out = subprocess.run(
        [
            mp_py,
            os.path.join(ROOT, "benchmarks", "_mediapipe_world.py"),
            IMAGE,
            str(frames),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return (
        json.loads(out.stdout.strip().splitlines()[-1])
        if out.returncode == 0
        else {"error": out.stderr[-300:]}
    )


def _scaling(lifter, threads: int) -> tuple:
    """4. lifting + solving against people per frame, and detection against image size."""
    import cv2

    from _lifter_speed import synthetic_people
    from pose_lifting_core.detection.blazepose import BlazePoseDetector

    people_scaling = []
    for n in (1, 5, 10, 50):
        kp, conf, K = synthetic_people(n)
        ts = []
        for _ in range(100):
            t0 = time.perf_counter()
            lifter.estimate(kp, conf, K)
            ts.append(time.perf_counter() - t0)
        people_scaling.append({"people": n, "lift_solve_ms": _ms(ts)})
    size_scaling = []
    base = cv2.cvtColor(cv2.imread(IMAGE), cv2.COLOR_BGR2RGB)
    for w, h in ((320, 240), (640, 480), (1280, 720), (1920, 1080)):
        img = cv2.resize(base, (w, h))
        d = BlazePoseDetector(
            max_people=1, num_threads=threads, person_detector="blazepose", track=True
        )
        ts = []
        for _ in range(50):
            t0 = time.perf_counter()
            d.detect(img)
            ts.append(time.perf_counter() - t0)
        size_scaling.append({"width": w, "height": h, "detect_ms": _ms(ts)})
    return people_scaling, size_scaling


def _plot(res: dict, stages: dict, mp_res) -> None:
    """docs/end_to_end.png: the chain's stages stacked, beside the floor and MediaPipe."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.6))
    left = 0.0
    for k in list(stages)[:-1]:
        v = res["stages_ms"][k]
        ax.barh(0, v, left=left, label=f"{k} {v:.2f} ms")
        left += v
    ax.barh(1, res["floor_decode_detect_ms"], color="0.5", label="decode + detector alone")
    if mp_res and "ms_median" in mp_res:
        ax.barh(2, mp_res["ms_median"], color="0.8", label="MediaPipe world landmarks")
    ax.set_yticks([0, 1, 2], ["our chain", "detector alone", "MediaPipe 3D"])
    ax.set_xlabel("ms per frame (median), 640x480, one person")
    ax.legend(fontsize=7, ncol=3, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(ROOT, "docs", "end_to_end.png"), dpi=110)


def _markdown(origin, args, res: dict, mp_res) -> str:
    """The "end to end" section of docs/BENCHMARKS.md."""
    s = res["stages_ms"]
    mp_line = (
        "MediaPipe world landmarks: not measured (run scripts/setup_bench.sh)"
        if mp_res is None
        else "MediaPipe Pose world landmarks (model_complexity=1, video mode, in .venv-bench): "
        f"{mp_res['ms_median']:.1f} ms median, {mp_res['ms_p95']:.1f} ms p95; world landmarks in "
        f"{mp_res['frames_with_world_landmarks']}/{mp_res['frames']} frames (hip-centred metres, "
        "no position in the camera frame, one person per call)"
        if "ms_median" in mp_res
        else f"MediaPipe failed: {mp_res['error']}"
    )
    return (
        f"{origin.header()}\n\n"
        f"One person at 640x480, JPEG-decoded each frame, {args.frames} frames of each (whole "
        f"chain and detector alone, in alternating blocks of {BLOCK}), {args.threads} detector "
        f"threads, lifting in {res['precision']}, every output topic subscribed from another "
        "process; medians in ms:\n\n"
        "| decode | detect | lift + solve + score | track | build msgs | publish | total "
        "| decode + detector alone | chain over detector alone |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"| {s['decode']:.2f} | {s['detect']:.2f} | {s['lift_solve']:.2f} | {s['track']:.3f} | "
        f"{s['build_msgs']:.2f} | {s['publish']:.2f} | {s['total']:.2f} | "
        f"{res['floor_decode_detect_ms']:.2f} | {res['chain_over_floor_pct']:+.1f} % |\n\n"
        f"{mp_line}.\n\n"
        "Lifting + root solving against people per frame (CPU): "
        + ", ".join(f"{p['people']}: {p['lift_solve_ms']:.2f} ms" for p in res["people_scaling"])
        + ".\n\nDetection (one person, tracking) against image size: "
        + ", ".join(
            f"{x['width']}x{x['height']}: {x['detect_ms']:.1f} ms"
            for x in res["image_size_scaling"]
        )
        + ".\n\n![end to end](end_to_end.png)\n"
    )


def main() -> int:
    import pose_lifting_ros  # noqa: F401  first, as in the node processes (its OpenMP setting acts before torch loads)
    from pose_lifting_core.lifter import PRECISIONS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="auto", choices=PRECISIONS)
    args = ap.parse_args()
    origin = this_run(__file__)
    env = bench_env(200)
    import torch

    torch.set_num_threads(args.threads)
    stages, floor, lifter = _chain_and_floor(args, env)
    mp_res = _mediapipe(args.frames)
    people_scaling, size_scaling = _scaling(lifter, args.threads)
    res = {
        "frames": args.frames,
        "threads": args.threads,
        "precision": lifter.precision,
        "floor_decode_detect_ms": _ms(floor),
        "stages_ms": {k: _ms(v) for k, v in stages.items()},
        "mediapipe_world_landmarks": mp_res,
        "people_scaling": people_scaling,
        "image_size_scaling": size_scaling,
    }
    res["chain_over_floor_pct"] = (
        res["stages_ms"]["total"] / res["floor_decode_detect_ms"] - 1
    ) * 100
    with open(os.path.join(ROOT, "docs", "end_to_end.json"), "w") as fh:
        json.dump(
            {**origin.record(), **res},
            fh,
            indent=1,
        )
    _plot(res, stages, mp_res)
    body = _markdown(origin, args, res, mp_res)
    replace_section(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "end-to-end", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
