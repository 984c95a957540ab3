"""The speed-benchmark helpers (benchmarks/_lifter_speed.py) measure something real, and the
throughput script refuses CUDA in one line where there is none."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))


def test_lifter_speed_measures_something_real():
    import torch

    import _lifter_speed as b
    from pose_lifting_core.lifter import Lifter

    lifter = Lifter.load(device="cpu")
    rows = b.throughput(lifter, [1, 64])
    # positive and finite only: which batch size is faster depends on the machine's load, and
    # speed belongs in benchmarks, not in tests
    assert [r["batch"] for r in rows] == [1, 64], rows
    assert all(0 < r["poses_per_s"] < float("inf") for r in rows)
    assert b.flops_per_pose(lifter.model) == 2 * (54 * 1024 + 4 * 1024 * 1024 + 1024 * 51)
    assert b.matmul_flops(torch.device("cpu"), 256, 256, 256) > 1e8
    assert b.matmul_flops(torch.device("cpu"), 256, 256, 256, "int8") > 1e8
    lat = b.latency(lifter, 2)
    assert lat["people"] == 2 and lat["estimate_s"] > 0 and lat["lift_s"] > 0


def test_throughput_script_without_cuda_is_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "benchmarks", "lifter_throughput.py"),
            "--device",
            "cuda",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "CUDA is not available" in r.stderr
