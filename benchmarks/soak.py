"""Soak: pose_lifter under sustained overload (2x and 5x its sustainable rate) for minutes.

The sustainable rate is measured first, in this process, with the node's default pipeline on
the 640x480 sample (samples/basketball1.png, tracking). Then pose_lifter runs as its own process
(config/pose_lifter.yaml, RELIABLE image transport so the load really reaches it) while this
process publishes at 2x and 5x that rate. Every 10 s it records the node's RSS (from /proc), the
node's counters (/diagnostics: received, dropped, published, failed), and the latency of the
outputs that arrived (image publication to Skeleton3DArray arrival). The node holds at most one
image being processed and one waiting, so received - dropped - published - failed (frames in the
node) must stay <= 2: output never falls more than one frame behind the newest input.
Writes docs/soak.json, docs/soak.png and the "soak" sections of docs/BENCHMARKS.md and
docs/RELIABILITY.md.

Usage: .venv/bin/python benchmarks/soak.py [--minutes 10] [--factors 2 5]
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
from _report import bench_env, pipeline_seconds, replace_section, this_run  # noqa: E402

from pose_lifting_ros.runner import stop_process  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def soak(rgb, rate: float, seconds: float, env) -> dict:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header

    from pose_lifting.msg import Skeleton3DArray
    from pose_lifting_ros.conversions import K_to_camera_info, rgb_to_image

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pose_lifting_ros.pose_lifter",
            "--ros-args",
            "--params-file",
            os.path.join(ROOT, "config", "pose_lifter.yaml"),
            "-p",
            "image_reliability:=reliable",
            "-p",
            "diagnostics_period_s:=1.0",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    node = rclpy.create_node("soak_probe")
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    pub, pub_info = (
        node.create_publisher(Image, "image", qos),
        node.create_publisher(CameraInfo, "camera_info", qos),
    )
    sent, lat, diag = {}, [], {}
    node.create_subscription(
        DiagnosticArray,
        "/diagnostics",
        lambda m: diag.update({kv.key: kv.value for st in m.status for kv in st.values}),
        10,
    )

    def on_out(m):
        t = sent.pop((m.header.stamp.sec, m.header.stamp.nanosec), None)
        if t is not None:
            lat.append(time.monotonic() - t)

    node.create_subscription(Skeleton3DArray, "skeletons", on_out, 50)
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    samples, n_sent = [], 0
    try:
        deadline = time.monotonic() + 60
        while (
            pub.get_subscription_count() == 0 or node.count_publishers("skeletons") == 0
        ) and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        t0 = next_t = next_sample = time.monotonic()
        while time.monotonic() - t0 < seconds and proc.poll() is None:
            now = time.monotonic()
            if now >= next_t:
                h = Header(frame_id="soak_cam", stamp=node.get_clock().now().to_msg())
                pub_info.publish(K_to_camera_info(K, 640, 480, h))
                sent[(h.stamp.sec, h.stamp.nanosec)] = time.monotonic()
                pub.publish(rgb_to_image(rgb, h))
                n_sent += 1
                next_t = max(next_t + 1.0 / rate, now - 0.5)
                if len(sent) > 5000:  # never answered (dropped by the node): forget them
                    for k in list(sent)[:1000]:
                        del sent[k]
            if now >= next_sample:
                d = {k: float(v) for k, v in diag.items()}
                samples.append(
                    {
                        "t_s": now - t0,
                        "rss_mb": _rss_mb(proc.pid),
                        "sent": n_sent,
                        "received": d.get("received"),
                        "dropped": d.get("dropped"),
                        "published": d.get("published"),
                        "failed": d.get("failed"),
                        "latency_ms_p50": float(np.median(lat) * 1000) if lat else None,
                        "latency_ms_p95": float(np.percentile(lat, 95) * 1000) if lat else None,
                        "latency_ms_max": float(np.max(lat) * 1000) if lat else None,
                    }
                )
                lat.clear()
                next_sample += 10.0
            rclpy.spin_once(node, timeout_sec=0.0005)
        alive = proc.poll() is None
    finally:
        stop_process(proc)
        node.destroy_node()
    return {
        "rate_hz": rate,
        "seconds": seconds,
        "achieved_input_hz": n_sent / seconds,
        "node_alive_at_end": alive,
        "samples": samples,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--factors", type=float, nargs="+", default=[2.0, 5.0])
    args = ap.parse_args()
    origin = this_run(__file__)
    env = bench_env(120)
    from pose_lifting_core.media import read_image

    rgb = read_image(os.path.join(ROOT, "samples", "basketball1.png"))
    sustainable = 1.0 / float(np.median(pipeline_seconds(rgb, 60)))
    import rclpy

    rclpy.init()
    runs = [soak(rgb, f * sustainable, args.minutes * 60, env) for f in args.factors]
    rclpy.try_shutdown()
    with open(os.path.join(ROOT, "docs", "soak.json"), "w") as fh:
        json.dump(
            {
                **origin.record(),
                "sustainable_hz": sustainable,
                "runs": runs,
            },
            fh,
            indent=1,
        )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    rows = []
    for f, r in zip(args.factors, runs):
        s = [x for x in r["samples"] if x["received"] is not None]
        t = [x["t_s"] / 60 for x in s]
        ax[0].plot(t, [x["rss_mb"] for x in s], label=f"{f:g}x")
        ax[1].plot(t, [x["latency_ms_p95"] for x in s], label=f"{f:g}x p95")
        backlog = [x["received"] - x["dropped"] - x["published"] - x["failed"] for x in s]
        rss = [x["rss_mb"] for x in s]
        last = s[-1] if s else {}
        p95 = [x["latency_ms_p95"] for x in s if x["latency_ms_p95"] is not None]
        mx = [x["latency_ms_max"] for x in s if x["latency_ms_max"] is not None]
        rows.append(
            f"| {f:g}x ({r['rate_hz']:.0f} Hz asked, {r['achieved_input_hz']:.0f} Hz sent) | "
            f"{r['seconds'] / 60:g} min | {rss[0]:.0f} -> {rss[-1]:.0f} MB (max {max(rss):.0f}) | "
            f"{np.median(p95):.0f} / {max(p95):.0f} / {max(mx):.0f} ms | "
            f"{last.get('received', 0):.0f} / {last.get('dropped', 0):.0f} / "
            f"{last.get('published', 0):.0f} / {last.get('failed', 0):.0f} | {max(backlog):.0f} | "
            f"{'yes' if r['node_alive_at_end'] else 'NO'} |"
            if s
            else f"| {f:g}x | no samples |"
        )
    ax[0].set(xlabel="minutes", ylabel="node RSS (MB)")
    ax[1].set(xlabel="minutes", ylabel="latency p95 per 10 s (ms)")
    for a in ax:
        a.grid(alpha=0.3)
        a.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(ROOT, "docs", "soak.png"), dpi=110)
    body = (
        f"{origin.header()}\n\n"
        "Sustainable rate (default pipeline on the 640x480 sample, measured first): "
        f"{sustainable:.1f} Hz.\n\n"
        "| load | duration | node RSS start -> end "
        "| latency p95 median / p95 worst / max (per 10 s window) "
        "| received / dropped / published / failed "
        "| max frames in the node (processing + waiting) | alive at end |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n![soak](soak.png)\n"
    )
    for doc in ("BENCHMARKS.md", "RELIABILITY.md"):
        replace_section(os.path.join(ROOT, "docs", doc), "soak", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
