"""Lifter speed measurements for benchmarks/lifter_throughput.py and benchmarks/end_to_end.py.

Owns: the device's dense matrix-multiply throughput (measured, the reference), the lifter's
throughput against batch size (poses/s, FLOP/s, fraction of the matmul reference) and its
latency for 1 and 10 people (lift + root solve), for each number format the device runs natively
(fp32; bf16 and int8 where supported), each against PyTorch's matmul measured in the same format.
Times are medians of repeated runs after a warm-up; CUDA runs are synchronised.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch

from pose_lifting_core.camera import project
from pose_lifting_core.lifter import (
    Lifter,
    available_precisions,
    resolve_device,
    resolve_precision,
)
from pose_lifting_core.model import quantize_linear_int8


def _timeit(
    fn: Callable[[], object], device: torch.device, min_time: float = 0.2, max_reps: int = 200
) -> float:
    """Median seconds per call, after warm-up (three calls; one when a call takes over 0.1 s,
    which is then timed three times rather than five)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    fn()
    sync()
    slow = time.perf_counter() - t0 > 0.1
    for _ in range(0 if slow else 2):
        fn()
    sync()
    min_reps = 3 if slow else 5
    times: List[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (
        time.perf_counter() - start < min_time or len(times) < min_reps
    ):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def flops_per_pose(model: torch.nn.Module) -> int:
    """Multiply-adds x 2 of every linear layer (fp32, bf16 or int8) for one pose."""
    return sum(
        2 * m.in_features * m.out_features
        for m in model.modules()
        if hasattr(m, "in_features") and hasattr(m, "out_features")
    )


def matmul_flops(
    device: torch.device, n: int = 4096, k: int = 1024, m: int = 1024, precision: str = "fp32"
) -> float:
    """Dense matmul FLOP/s of this device for the lifter's layer shape (batch n, k -> m) in a
    number format: fp32 and bf16 as torch.mm; int8 as the same dynamically quantised linear
    layer the PyTorch int8 lifter uses (activations quantised per call, int8 x int8 -> fp32)."""
    a = torch.randn(n, k, device=device)
    with torch.inference_mode():
        if precision == "int8":
            layer = quantize_linear_int8(torch.nn.Sequential(torch.nn.Linear(k, m, bias=False)))
            t = _timeit(lambda: layer(a), device)
        else:
            dtype = torch.bfloat16 if precision == "bf16" else torch.float32
            a, b = a.to(dtype), torch.randn(k, m, device=device, dtype=dtype)
            t = _timeit(lambda: torch.mm(a, b), device)
    return 2.0 * n * k * m / t


def throughput(lifter: Lifter, batches: Sequence[int]) -> List[Dict[str, object]]:
    """Network throughput per batch size in the lifter's own number format (inputs already on
    the device; `Lifter.forward`, which chunks large batches): poses/s and FLOP/s."""
    fpp = flops_per_pose(lifter.model)
    rows = []
    for b in batches:
        x = torch.randn(b, lifter.codec.in_dim, device=lifter.device, dtype=lifter.dtype)
        t = _timeit(lambda: lifter.forward(x), lifter.device)
        rows.append({"batch": b, "seconds": t, "poses_per_s": b / t, "flops_per_s": b * fpp / t})
    return rows


def synthetic_people(n: int, seed: int = 0):
    """n people's pixel keypoints (17-joint layout), confidences and K, roughly standing
    3-9 m away."""
    rng = np.random.default_rng(seed)
    K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
    X = (
        rng.normal(0, 0.3, (n, 17, 3))
        + np.stack([rng.uniform(-3, 3, n), np.zeros(n), rng.uniform(3, 9, n)], -1)[:, None]
    )
    return project(X, K), np.ones((n, 17)), K


def latency(lifter: Lifter, people: int, mirror_average: bool = True) -> Dict[str, object]:
    """Seconds for `Lifter.lift` and for `Lifter.estimate` (lift + root solve + scores), with
    the test-time mirror on or off."""
    kp, conf, K = synthetic_people(people)
    before, lifter.mirror_average = lifter.mirror_average, mirror_average
    try:
        return {
            "people": people,
            "mirror_average": mirror_average,
            "lift_s": _timeit(lambda: lifter.lift(kp, conf, K), lifter.device),
            "estimate_s": _timeit(lambda: lifter.estimate(kp, conf, K), lifter.device),
        }
    finally:
        lifter.mirror_average = before


def run(
    device: str = "cpu", batches: Sequence[int] = (1, 16, 256, 1024, 4096, 16384, 65536)
) -> Dict[str, object]:
    """Everything, as a dict (lifter_throughput.py writes it as JSON): per number format the
    device runs natively, PyTorch's matmul in that format (the reference; the faster of a
    measurement before and one after the throughput sweep, since on a shared machine a slow
    moment during a single reference run would inflate the share), throughput against batch
    size, and latency."""
    dev = resolve_device(device)
    out: Dict[str, object] = {
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "default_precision": resolve_precision("auto", dev),
        "precisions": {},
    }
    for prec in available_precisions(dev):
        lifter = Lifter.load(device=device, precision=prec)
        before = matmul_flops(dev, precision=prec)
        rows = throughput(lifter, batches)
        ref = max(before, matmul_flops(dev, precision=prec))
        for r in rows:
            r["fraction_of_matmul"] = r["flops_per_s"] / ref
        out["flops_per_pose"] = flops_per_pose(lifter.model)
        out["precisions"][prec] = {
            "matmul_flops_per_s": ref,
            "throughput": rows,
            "latency": [latency(lifter, n, m) for m in (True, False) for n in (1, 10)],
        }
    return out
