"""Best-effort images between two processes on one machine: how many arrive, per Fast DDS setup.

A bare rclpy publisher process sends sensor_msgs/Image (rgb8, random pixels) with the QoS a camera
driver uses (best effort, keep last, depth 5; 1 and 10 once; RELIABLE once, for comparison) at a
fixed rate; a bare rclpy subscriber process (the same QoS) counts what arrives. Each
configuration says what each side's environment carries: no profile (what rmw_fastrtps gives
every participant), the shipped config/fastdds_large_images.xml through
FASTDDS_DEFAULT_PROFILES_FILE (what docs/ROS.md said; Fast DDS 3 / Kilted reads it) or
FASTRTPS_DEFAULT_PROFILES_FILE (what Fast DDS 2.14 / Jazzy reads), on one side or both, a
UDP-only profile. Both processes wait for the match (the subscriber sees the publisher, the
publisher the subscriber) before the first frame; the subscriber is then given until every
frame arrived or DRAIN_S after the last was sent. Domain ids of its own,
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST. Writes the "image-transport" section of
docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/image_transport_loss.py [--frames 20] [--no-write]
       [--configs builtin,profile_both] [--sizes 640x480] [--rates 2] [--depths 1,5]
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(ROOT, "config", "fastdds_large_images.xml")
DRAIN_S = 3.0  # how long the subscriber may still receive after the last frame was sent
MATCH_TIMEOUT_S = 30.0
FASTRTPS, FASTDDS = "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"

UDP_ONLY = """<?xml version="1.0" encoding="UTF-8" ?>
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <transport_descriptors>
      <transport_descriptor>
        <transport_id>udp_big</transport_id>
        <type>UDPv4</type>
        <sendBufferSize>4194304</sendBufferSize>
        <receiveBufferSize>4194304</receiveBufferSize>
      </transport_descriptor>
    </transport_descriptors>
    <participant profile_name="udp_only" is_default_profile="true">
      <rtps>
        <userTransports><transport_id>udp_big</transport_id></userTransports>
        <useBuiltinTransports>false</useBuiltinTransports>
      </rtps>
    </participant>
  </profiles>
</dds>
"""

SIZES = ((480, 360), (640, 480), (1920, 1080), (2560, 1440), (3840, 2160))
RATES = (2.0, 30.0)
# name -> (what it is, sizes, history depths measured); the environments are in `configurations`
PLAN = {
    "builtin": ("no profile on either side", SIZES[:4], (5,)),
    "builtin_depths": ("no profile on either side", SIZES[1:2], (1, 10)),
    "profile_as_FASTDDS": (
        "shipped profile as FASTDDS_DEFAULT_PROFILES_FILE on both sides (what docs/ROS.md said)",
        SIZES[1:4],
        (5,),
    ),
    "profile_both": (
        "shipped profile as FASTRTPS_DEFAULT_PROFILES_FILE (and FASTDDS_...) on both sides",
        SIZES[1:],
        (5,),
    ),
    "profile_publisher_only": ("shipped profile on the publisher's side only", SIZES[1:3], (5,)),
    "profile_subscriber_only": (
        "shipped profile on the subscriber's side only (a camera driver without it)",
        SIZES[1:3],
        (5,),
    ),
    "udp_only_both": (
        "a UDPv4-only profile with 4 MiB socket buffers on both sides",
        SIZES[1:2],
        (5,),
    ),
    "reliable_builtin": (
        "RELIABLE publisher and subscriber, no profile (not sensor-data QoS)",
        SIZES[1:3],
        (5,),
    ),
}


def configurations(tmp: str) -> dict:
    """name -> (publisher's profile variables, subscriber's profile variables, reliable)."""
    udp = os.path.join(tmp, "udp_only.xml")
    with open(udp, "w") as fh:
        fh.write(UDP_ONLY)
    both = {FASTRTPS: SHIPPED, FASTDDS: SHIPPED}
    return {
        "builtin": ({}, {}, False),
        "builtin_depths": ({}, {}, False),
        "profile_as_FASTDDS": ({FASTDDS: SHIPPED}, {FASTDDS: SHIPPED}, False),
        "profile_both": (both, both, False),
        "profile_publisher_only": (both, {}, False),
        "profile_subscriber_only": ({}, both, False),
        "udp_only_both": ({FASTRTPS: udp}, {FASTRTPS: udp}, False),
        "reliable_builtin": ({}, {}, True),
    }


# ---------------------------------------------------------------------------- child processes


def _commands() -> "queue.Queue[str]":
    """The parent's commands, one per stdin line ("quit" at EOF)."""
    q: "queue.Queue[str]" = queue.Queue()

    def read() -> None:
        for line in sys.stdin:
            q.put(line.strip())
        q.put("quit")

    threading.Thread(target=read, daemon=True).start()
    return q


def _qos(depth: int, reliable: bool):
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    kind = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=kind)


def child_pub(
    width: int, height: int, rate: float, frames: int, depth: int, reliable: bool
) -> int:
    """Publisher: say "matched" once it sees a subscriber, wait for "go", send `frames` images
    at `rate`, say "sent", wait for "quit"."""
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node("image_loss_pub")
    pub = node.create_publisher(Image, "image", _qos(depth, reliable))
    msg = Image(width=width, height=height, encoding="rgb8", step=width * 3)
    msg.header.frame_id = "cam"
    msg.data = np.random.default_rng(0).integers(0, 255, height * width * 3, np.uint8).tobytes()
    cmds = _commands()
    deadline = time.monotonic() + MATCH_TIMEOUT_S
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    print("matched" if pub.get_subscription_count() else "unmatched", flush=True)
    while cmds.get() not in ("go", "quit"):
        pass
    t0 = time.monotonic()
    for i in range(frames):
        time.sleep(max(0.0, t0 + i / rate - time.monotonic()))  # the camera's frame rate
        msg.header.stamp.sec = i
        pub.publish(msg)
    print(f"sent {frames}", flush=True)
    while cmds.get() != "quit":
        pass
    node.destroy_node()
    rclpy.shutdown()
    return 0


def child_sub(depth: int, reliable: bool) -> int:
    """Subscriber: say "matched" once it sees the publisher, print each frame index received,
    stop on "quit"."""
    import rclpy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node("image_loss_sub")
    sub = node.create_subscription(
        Image,
        "image",
        lambda m: print(f"got {m.header.stamp.sec}", flush=True),
        _qos(depth, reliable),
    )
    cmds = _commands()
    said = False
    while True:
        rclpy.spin_once(node, timeout_sec=0.02)
        if not said and sub.get_publisher_count() > 0:
            print("matched", flush=True)
            said = True
        try:
            if cmds.get_nowait() == "quit":
                break
        except queue.Empty:
            pass
    node.destroy_node()
    rclpy.shutdown()
    return 0


# ---------------------------------------------------------------------------- the parent


class Child:
    """This script as a child process (--child ...), its stdout lines collected by a thread."""

    def __init__(self, args, env) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child"] + args,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        self.lines: list = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def has(self, prefix: str) -> bool:
        return any(line.startswith(prefix) for line in list(self.lines))

    def say(self, text: str) -> None:
        try:
            self.proc.stdin.write(text + "\n")
            self.proc.stdin.flush()
        except OSError:
            pass

    def stop(self) -> None:
        from pose_lifting_ros.runner import stop_process

        self.say("quit")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)


def wait_for(cond, timeout: float) -> bool:
    """Poll `cond` until it holds or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def base_env(domain: int) -> dict:
    """This environment without any Fast DDS profile, on its own domain, localhost only."""
    env = {k: v for k, v in os.environ.items() if k not in (FASTRTPS, FASTDDS)}
    env.pop("ROS_LOCALHOST_ONLY", None)
    env.update(
        ROS_DOMAIN_ID=str(domain),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS="1",
    )
    return env


def measure(pub_vars, sub_vars, reliable, size, rate, frames, depth, domain) -> dict:
    """One run: frames received of frames sent (0 sent when the two never matched)."""
    w, h = size
    env = base_env(domain)
    rel = str(int(reliable))
    sub = Child(["sub", str(depth), rel], dict(env, **sub_vars))
    pub = Child([str(v) for v in ("pub", w, h, rate, frames, depth, rel)], dict(env, **pub_vars))
    try:
        if not wait_for(lambda: sub.has("matched") and pub.has("matched"), MATCH_TIMEOUT_S + 5):
            return {"received": 0, "sent": 0}
        pub.say("go")
        wait_for(lambda: pub.has("sent"), frames / rate + 60)
        got = lambda: {line for line in list(sub.lines) if line.startswith("got ")}  # noqa: E731
        wait_for(lambda: len(got()) >= frames, DRAIN_S)
        return {"received": len(got()), "sent": frames if pub.has("sent") else 0}
    finally:
        pub.stop()
        sub.stop()


def _cell(r: dict) -> str:
    return f"{r['received']}/{r['sent']}" if r["sent"] else "no match"


def report(run, rows, frames: int, load: float) -> str:
    """The Markdown section."""
    sizes = sorted({r["size"] for r in rows}, key=lambda s: int(s.split("x")[0]))
    depths = sorted({r["depth"] for r in rows})
    out = [
        "## Best-effort images between processes (issue 22, item 7; "
        "`benchmarks/image_transport_loss.py`)",
        "",
        run.header(),
        "",
        "A bare rclpy publisher and a bare rclpy subscriber in two processes, sensor_msgs/Image "
        "rgb8, best effort (one row RELIABLE), keep last (the depth given; 5 is "
        "qos_profile_sensor_data's), "
        f"{frames} frames per rate; received/sent. ROS 2 Jazzy wheels (rmw_fastrtps_cpp, "
        "Fast DDS 2.14), ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST; load average "
        f"{load:.1f} when the run began.",
        "",
        "| configuration | depth | " + " | ".join(sizes) + " |",
        "|---|---|" + "---|" * len(sizes),
    ]
    for name, (what, _, _) in PLAN.items():
        for depth in depths:
            mine = [r for r in rows if r["config"] == name and r["depth"] == depth]
            if not mine:
                continue
            cells = []
            for size in sizes:
                rs = {r["rate_hz"]: r for r in mine if r["size"] == size}
                cells.append(
                    ", ".join(f"{_cell(rs[k])} at {k:g} Hz" for k in sorted(rs)) if rs else "-"
                )
            out.append(f"| {what} | {depth} | " + " | ".join(cells) + " |")
    out += [
        "",
        "rgb8 sizes: 480x360 is 518,400 B, just under Fast DDS's default 512 KiB shared-memory "
        "segment; 640x480 is 921,600 B, 1920x1080 6.2 MB, 2560x1440 11.1 MB, 3840x2160 24.9 MB, "
        "over the shipped profile's 16 MiB segment.",
    ]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--configs", default="", help="comma-separated names; default: all")
    ap.add_argument("--sizes", default="", help="e.g. 640x480,1920x1080; default: the plan's")
    ap.add_argument("--rates", default="2,30")
    ap.add_argument("--depths", default="", help="e.g. 1,5; default: the plan's")
    ap.add_argument("--no-write", action="store_true", help="print, do not write BENCHMARKS.md")
    args = ap.parse_args()
    if args.child:
        role, *rest = args.child
        if role == "pub":
            w, h, rate, frames, depth, rel = rest
            return child_pub(int(w), int(h), float(rate), int(frames), int(depth), rel == "1")
        return child_sub(int(rest[0]), rest[1] == "1")

    from _report import replace_section, this_run

    run = this_run(__file__)
    load = os.getloadavg()[0]  # a busy machine loses more: the section says how busy
    rates = [float(r) for r in args.rates.split(",")]
    only_depths = [int(d) for d in args.depths.split(",")] if args.depths else []
    only_sizes = (
        [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")] if args.sizes else []
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        configs = configurations(tmp)
        names = args.configs.split(",") if args.configs else list(PLAN)
        domain = 150 + os.getpid() % 60
        for name in names:
            for size in only_sizes or PLAN[name][1]:
                for rate in rates:
                    for depth in only_depths or PLAN[name][2]:
                        r = measure(*configs[name], size, rate, args.frames, depth, domain)
                        row = {
                            "config": name,
                            "size": f"{size[0]}x{size[1]}",
                            "rate_hz": rate,
                            "depth": depth,
                            **r,
                        }
                        rows.append(row)
                        print(row, flush=True)
    body = report(run, rows, args.frames, load)
    print(body)
    if not args.no_write:
        replace_section(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "image-transport", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
