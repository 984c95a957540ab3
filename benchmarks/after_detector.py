"""What each per-frame step costs right after the detector, against the same step repeated
back to back (warm caches), on this machine's CPU.

The whole chain costs more than the sum of its steps timed alone: the detector (BlazePose
through LiteRT/XNNPACK, all cores) leaves the caches holding its own code and data, so every
step after it starts cold. This script measures, in one run, each step both ways:
  - the lifting network (one person) in every CPU number format (PyTorch), and a 64-wide
    network of the same shape, which shows how much of the cost is the call itself rather
    than the weights;
  - the whole estimate of one person (encode, network, decode, root solve, score), the float64
    path Lifter.estimate runs;
  - the root solve, message building (Skeleton3DArray, markers, TF) and publishing the three
    messages to a subscriber in another process;
  - the detector's own time after lifting with one torch thread and with two (torch's worker
    threads keep spinning after a multi-threaded call and slow the detector that runs next),
    with OpenMP's default wait policy and with
    OMP_WAIT_POLICY=PASSIVE, each in a fresh process.
Writes docs/after_detector.json and the "after the detector" section of docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/after_detector.py [--repeats 150]
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
from _report import bench_env, replace_section, this_run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _one_person():
    """The sample image (RGB), a tracking PoseEstimator for one person (2 detector threads, torch
    on 2 threads), one processed frame, and the person's 17-joint keypoints and confidences."""
    import cv2
    import torch

    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator
    from pose_lifting_core.skeleton import to_skeleton17

    torch.set_num_threads(2)
    rgb = cv2.cvtColor(
        cv2.imread(os.path.join(ROOT, "samples", "basketball1.png")), cv2.COLOR_BGR2RGB
    )
    est = PoseEstimator(
        PipelineConfig(max_people=1, person_detector="blazepose", detector_threads=2, track=True)
    )
    frame = est.process(rgb)
    people = est.detector.detect(rgb)
    k17, c17 = to_skeleton17(
        np.stack([p.keypoints for p in people]),
        np.stack([p.scores for p in people]),
        "blazepose33",
    )
    return rgb, est, frame, k17, c17


def detect_after_lift(repeats: int) -> dict:
    """Median detector ms right after lifting one person through PyTorch with 1 and with 2 torch
    threads (the network called directly, bypassing Lifter.forward's thread choice). Imports only
    the core, so the OpenMP wait policy is the one in this process's environment."""
    import torch

    rgb, est, frame, k17, c17 = _one_person()
    lifter = est.lifter
    x = torch.from_numpy(lifter.codec.encode(k17, c17, frame.intrinsics.K)).to(lifter.dtype)
    out = {}
    for key in ("1", "2"):
        ts = []
        for _ in range(repeats):
            torch.set_num_threads(int(key))
            with torch.inference_mode():
                lifter.model(x)
            torch.set_num_threads(2)
            t0 = time.perf_counter()
            est.detector.detect(rgb)
            ts.append(time.perf_counter() - t0)
        out[key] = float(np.median(ts) * 1000)
    return out


def _timer(det, rgb, repeats: int):
    """both(fn): (warm, after the detector) median ms of fn, warm repeating it back to back and
    "after" running it right after det.detect(rgb)."""

    def both(fn):
        for _ in range(5):
            fn()
        warm, cold = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            warm.append(time.perf_counter() - t0)
            det.detect(rgb)
            t0 = time.perf_counter()
            fn()
            cold.append(time.perf_counter() - t0)
        return float(np.median(warm) * 1000), float(np.median(cold) * 1000)

    return both


def _lifting_rows(both, est, k17, c17, K) -> list:
    """(step, warm ms, after ms) of the lifting network in every CPU number format, a 64-wide
    network of the same shape, the root solve and the whole estimate."""
    import torch

    from pose_lifting_core.lifter import Lifter, available_precisions
    from pose_lifting_core.model import LinearModel

    rows = []
    shipped = Lifter.load(device="cpu", precision="fp32")
    x = torch.from_numpy(shipped.codec.encode(k17, c17, K))
    for prec in available_precisions(torch.device("cpu")):
        lifter = Lifter.load(device="cpu", precision=prec)
        rows.append(
            (
                f"lifting network, {prec}, 1024 wide (shipped), PyTorch",
                *both(lambda: lifter.forward(x)),
            )
        )
    small = Lifter(
        LinearModel(shipped.codec.in_dim, shipped.codec.out_dim, width=64).eval(),
        shipped.codec,
        "cpu",
        precision="fp32",
    )
    xs = torch.from_numpy(small.codec.encode(k17, c17, K))
    rows.append(
        (
            "lifting network, fp32, 64 wide (untrained, same shape), PyTorch",
            *both(lambda: small.forward(xs)),
        )
    )
    X_rel = est.lifter.lift(k17, c17, K)
    rows.append(
        (
            "root solve (torch, float64) + reprojection score (numpy)",
            *both(lambda: est.lifter.place(X_rel, k17, c17, K)),
        )
    )
    lt = est.lifter
    rows.append(
        (
            f"whole estimate, {lt.precision}: encode, network, decode, root solve, score",
            *both(lambda: lt.estimate(k17, c17, K)),
        )
    )
    return rows


def _message_rows(both, frame, env) -> list:
    """(step, warm ms, after ms) of building the node's outputs (skeletons, markers, TF) and of
    publishing them to a subscriber in another process."""
    import rclpy
    from std_msgs.msg import Header

    from pose_lifting_ros.outputs import Outputs
    from pose_lifting_ros.params import OutputConfig
    from pose_lifting_ros.runner import stop_process

    rows = []
    rclpy.init()
    node = rclpy.create_node("after_detector_bench")
    out = Outputs(node)
    sink = _sink.start(node, [out.skeletons, out.markers, out.tf.publisher], env)
    try:
        h = Header(frame_id="camera_optical_frame")
        config = OutputConfig.defaults()
        rows.append(("build skeletons + markers + TF", *both(lambda: out.build(frame, h, config))))
        built = out.build(frame, h, config)
        rows.append(
            (
                "publish the three (subscriber in another process)",
                *both(lambda: out.publish(built)),
            )
        )
    finally:
        stop_process(sink)
        node.destroy_node()
        rclpy.try_shutdown()
    return rows


def _detect_after_lift_by_policy(repeats: int, env) -> dict:
    """{policy: detect_after_lift's result} with OpenMP's default wait policy and with the PASSIVE
    one the nodes set (pose_lifting_ros/__init__.py); each in a fresh process, since OpenMP reads
    the policy when torch loads."""
    spin = {}
    for policy in ("default", "PASSIVE"):
        child_env = {k: v for k, v in env.items() if k != "OMP_WAIT_POLICY"}
        if policy != "default":
            child_env["OMP_WAIT_POLICY"] = policy
        out = subprocess.run(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--detect-after-lift",
                "--repeats",
                str(repeats),
            ],
            env=child_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if out.returncode != 0:
            raise SystemExit(
                f"detector-after-lift child failed: {out.stderr.strip().splitlines()[-1:]}"
            )
        spin[policy] = json.loads(out.stdout.strip().splitlines()[-1])
    return spin


def _markdown(origin, repeats: int, rows: list, spin: dict, precision: str) -> str:
    """The "after the detector" section of docs/BENCHMARKS.md."""
    return (
        f"{origin.header()}\n\n"
        f'One person (`samples/basketball1.png`), medians of {repeats}; "warm" repeats the '
        'step back to back, "after the detector" runs it right after a BlazePose call '
        "(2 threads, tracking):\n\n"
        "| step | warm (ms) | after the detector (ms) | ratio |\n|---|---|---|---|\n"
        + "".join(f"| {s} | {w:.3f} | {c:.3f} | {c / w:.1f}x |\n" for s, w, c in rows)
        + f"\nThe detector (ms, median) right after lifting one person ({precision}) "
        "through PyTorch with one or two torch threads, in a fresh process for each OpenMP wait "
        "policy:\n\n"
        "| OpenMP wait policy | after a one-thread lift | after a two-thread lift |\n"
        "|---|---|---|\n"
        + "".join(f"| {p} | {v['1']:.2f} | {v['2']:.2f} |\n" for p, v in spin.items())
        + "\nWith the default policy torch's idle worker threads spin after a multi-threaded call "
        "and slow the detector; hence batches of up to 16 rows (people, or 8 with the test-time "
        "mirror) lift on one torch thread "
        "(`SINGLE_THREAD_MAX` in pose_lifting_core/lifter.py), and the node processes set "
        "`OMP_WAIT_POLICY=PASSIVE` (pose_lifting_ros/__init__.py), which covers larger "
        "batches too.\n"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=150)
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "after_detector.json"))
    ap.add_argument("--markdown", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    ap.add_argument("--detect-after-lift", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    origin = this_run(__file__)
    if args.detect_after_lift:
        print(json.dumps(detect_after_lift(args.repeats)))
        return 0
    env = bench_env(100)
    rgb, est, frame, k17, c17 = _one_person()
    both = _timer(est.detector, rgb, args.repeats)
    rows = _lifting_rows(both, est, k17, c17, frame.intrinsics.K)
    rows += _message_rows(both, frame, env)
    spin = _detect_after_lift_by_policy(args.repeats, env)
    lifter = est.lifter
    res = {
        **origin.record(),
        "repeats": args.repeats,
        "rows": [{"step": s, "warm_ms": w, "after_detector_ms": c} for s, w, c in rows],
        "detect_ms_after_lifting_with_threads": spin,
        "lifting_precision": lifter.precision,
    }
    with open(args.json, "w") as fh:
        json.dump(res, fh, indent=1)
    body = _markdown(origin, args.repeats, rows, spin, lifter.precision)
    replace_section(args.markdown, "after-detector", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
