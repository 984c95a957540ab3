"""`pose_lifting_demo`: the demo graph as processes over real DDS, without ros2 launch.

Starts pose_lifter and video_source (on the bundled sample video unless told otherwise) as
separate processes with `--ros-args --params-file config/*.yaml`, records what pose_lifter
publishes, prints skeletons per frame, and writes a render (MP4 or PNG) and a JSON of the
recording. The same graph as `ros2 launch pose_lifting demo.launch.py rviz:=false`.
Exits non-zero with a one-line reason when the graph produces nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Dict, List

from pose_lifting_core.files import write_json
from pose_lifting_ros.dds_profile import PROFILE_VARS, apply_profile
from pose_lifting_ros.paths import share_path
from pose_lifting_ros.runner import stop_process


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = env.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    apply_profile(env)  # both variable names: Jazzy's Fast DDS reads one, Kilted's the other
    return env


def _start_nodes(args: argparse.Namespace, env: Dict[str, str]) -> tuple:
    """pose_lifter and video_source (publishing args.source) as processes, their output in
    out/<node>.log; returns (lifter, source)."""
    cfg = share_path("config")
    py = [sys.executable, "-m"]
    os.makedirs("out", exist_ok=True)
    logs = {n: open(os.path.join("out", f"{n}.log"), "w") for n in ("pose_lifter", "video_source")}
    lifter = subprocess.Popen(
        py
        + [
            "pose_lifting_ros.pose_lifter",
            "--ros-args",
            "--params-file",
            os.path.join(cfg, "pose_lifter.yaml"),
        ],
        env=env,
        stdout=logs["pose_lifter"],
        stderr=subprocess.STDOUT,
    )
    source = subprocess.Popen(
        py
        + [
            "pose_lifting_ros.video_source",
            "--ros-args",
            "--params-file",
            os.path.join(cfg, "video_source.yaml"),
            "-p",
            f"source:={args.source}",
            "-p",
            f"rate_hz:={args.rate}",
            "-p",
            f"max_frames:={args.frames}",
            "-p",
            "loop:=false",
            "-p",
            "wait_for_subscribers:=2",
        ],
        env=env,
        stdout=logs["video_source"],
        stderr=subprocess.STDOUT,
    )
    return lifter, source


def _record(args: argparse.Namespace, env: Dict[str, str]) -> tuple:
    """Start the nodes (once rclpy and the messages import) and record the images and
    Skeleton3DArray messages they publish, until the source has sent its frames and the lifter
    has gone quiet, a node fails, or args.timeout; then both nodes are stopped. Returns (images
    by stamp, messages)."""
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from pose_lifting.msg import Skeleton3DArray

    lifter, source = _start_nodes(args, env)
    rclpy.init()
    node = rclpy.create_node("pose_lifting_demo_recorder")
    images: Dict[tuple, object] = {}
    recs: List = []
    node.create_subscription(
        Image,
        "image",
        lambda m: images.__setitem__((m.header.stamp.sec, m.header.stamp.nanosec), m),
        qos_profile_sensor_data,
    )
    node.create_subscription(Skeleton3DArray, "skeletons", recs.append, 50)
    t0 = time.monotonic()
    last_activity = t0
    seen = (0, 0)
    try:
        while time.monotonic() - t0 < args.timeout:
            rclpy.spin_once(node, timeout_sec=0.1)
            if (len(images), len(recs)) != seen:
                seen, last_activity = (len(images), len(recs)), time.monotonic()
            if lifter.poll() is not None or (source.poll() is not None and source.returncode != 0):
                break
            # the source has sent its frames and the lifter has gone quiet (it gets longer before
            # its first output: models load and warm up)
            if source.poll() is not None and time.monotonic() - last_activity > (
                3.0 if recs else 15.0
            ):
                break
    finally:
        for p in (source, lifter):
            stop_process(p)
        node.destroy_node()
        rclpy.try_shutdown()
    return images, recs


def _report(args: argparse.Namespace, images: Dict[tuple, object], recs: List) -> None:
    """Skeletons per frame and a summary on stdout, the JSON and (args.render) the render."""
    import numpy as np

    from pose_lifting_ros.conversions import image_to_rgb, msg_to_frame

    frames = [msg_to_frame(m) for m in recs]
    rows = []
    for m, f in zip(recs, frames):
        depths = ", ".join(f"#{p.id} {p.joints_3d[0, 2]:.1f} m" for p in f.persons)
        rows.append(
            {
                "stamp": f.time_s,
                "people": len(f.persons),
                "ids": [p.id for p in f.persons],
                "pelvis_depth_m": [round(float(p.joints_3d[0, 2]), 3) for p in f.persons],
            }
        )
        print(f"frame {len(rows):3d}  {len(f.persons)} skeleton(s)  {depths}")
    n = np.array([r["people"] for r in rows])
    ids = sorted({i for r in rows for i in r["ids"]})
    print(
        f"{len(images)} images received, {len(recs)} Skeleton3DArray messages received, "
        f"{n.mean():.1f} people per frame, {len(ids)} track ids; intrinsics "
        f"{'estimated' if frames[0].intrinsics.estimated else 'from CameraInfo'}"
    )
    write_json(args.json, {"images": len(images), "messages": len(recs), "frames": rows}, indent=1)
    if args.render:
        from pose_lifting_core.media import RenderWriter
        from pose_lifting_core.tooling.render import View3D, render_frame

        writer, view = RenderWriter(args.render, fps=args.rate), View3D()
        for m, f in zip(recs, frames):
            img = images.get((m.header.stamp.sec, m.header.stamp.nanosec))
            if img is not None:
                writer.write(render_frame(image_to_rgb(img), f.persons, f.intrinsics, view))
        writer.close()
        view.close()
        print(f"wrote {args.render} and {args.json}")


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pose_lifting_demo", description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=share_path("samples", "vtest.avi"))
    ap.add_argument("--frames", type=int, default=40, help="frames to publish")
    ap.add_argument("--rate", type=float, default=5.0, help="publish rate (Hz)")
    ap.add_argument("--render", default=os.path.join("out", "ros_demo.mp4"))
    ap.add_argument("--json", default=os.path.join("out", "ros_demo.json"))
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args(argv)
    env = _env()
    os.environ.update(
        {k: env[k] for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE", *PROFILE_VARS)}
    )
    images, recs = _record(args, env)
    if not recs:
        print(
            f"pose_lifting_demo: error: no skeletons received ({len(images)} images); see "
            "out/pose_lifter.log",
            file=sys.stderr,
        )
        return 1
    _report(args, images, recs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
