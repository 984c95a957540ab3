"""Shared helpers for benchmark scripts: machine description, what run a figure came from (command,
machine, date, commit), Markdown section updates, the ROS environment of a benchmark's graph,
the pipeline's own time on the sample image, and the alternating blocks in which a chain and its
floor (the detector alone) are timed."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
import sys
from dataclasses import asdict, dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine() -> str:
    """One line naming the machine: CPU model, cores, memory, OS, torch and CUDA device."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, torch {torch.__version__}, {gpu}"
    )


def today() -> str:
    return datetime.date.today().isoformat()


def commit() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or "unknown"
        )
    except Exception:
        return "unknown"


@dataclass(frozen=True)
class Run:
    """Where a benchmark's figures come from: its command line, the machine, the date and the
    commit. Taken once, when the run starts, so the JSON and the Markdown say the same, and the
    commit is the code that was measured even if the tree moves on during a long run."""

    command: str
    machine: str
    date: str
    commit: str

    def record(self) -> dict:
        """The fields, for the JSON file."""
        return asdict(self)

    def header(self) -> str:
        """The first line of the script's Markdown section."""
        return (
            f"Command: `{self.command}`. Machine: {self.machine}. Date: {self.date}. "
            f"Commit: {self.commit}."
        )


def this_run(script: str) -> Run:
    """The Run of the benchmark `script` (its __file__) as invoked now."""
    command = "python " + " ".join([os.path.relpath(script, ROOT)] + sys.argv[1:])
    return Run(command, machine(), today(), commit())


def replace_section(path: str, name: str, body: str) -> None:
    """Replace the text between `<!-- name:begin -->` and `<!-- name:end -->` in a Markdown file
    (appending the section when the markers are absent)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = open(path).read() if os.path.exists(path) else ""
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        text = re.sub(
            re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(text)


def bench_env(domain_base: int) -> dict:
    """Environment for a benchmark's own ROS graph: a domain id of its own, localhost only, and
    the Fast DDS profile for large images; also applied to this process."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    profile = os.environ.get(
        "BENCH_FASTDDS", os.path.join(root, "config", "fastdds_large_images.xml")
    )
    # both names: Jazzy's Fast DDS 2.x reads FASTRTPS_..., Kilted's 3.x FASTDDS_...
    names = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
    env = dict(
        os.environ,
        ROS_DOMAIN_ID=str(domain_base + os.getpid() % 30),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        **{n: profile for n in names},
    )
    os.environ.update(
        {k: env[k] for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE") + names}
    )
    return env


def pipeline_seconds(rgb, repeats: int, **config) -> list:
    """Seconds per `PoseEstimator.process(rgb)` with PipelineConfig(device="cpu", **config),
    `repeats` times in this process; the estimator is freed afterwards."""
    import time

    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator

    est = PoseEstimator(PipelineConfig(device="cpu", **config))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        est.process(rgb)
        times.append(time.perf_counter() - t0)
    return times


BLOCK = 20  # frames per block when a chain and the detector alone are timed in alternation


def floor_block(i: int) -> bool:
    """Whether frame i of an alternating run belongs to the floor (detector alone): blocks of
    BLOCK frames, floor first, so that each side sees its own steady state and both the same
    machine state."""
    return (i // BLOCK) % 2 == 0
