"""Lifter: a checkpoint's network on a device, lifting batches of people with the camera in
the loop.

Owns: the one inference engine (PyTorch), the device choice (CUDA when available, CPU
otherwise), the network's number format (bf16 where the hardware multiplies bf16 natively, fp32
otherwise, int8 hidden layers on x86 CPUs when asked for; docs/BENCHMARKS.md has the accuracy
and speed of each, and why PyTorch rather than ONNX Runtime), and the batched call
`estimate(keypoints, confidence, K) -> LiftResult` that lifts, solves the root translation and
scores every person by reprojection error (one float64 path, `place(lift())`, for every batch),
and the test-time mirror (each person lifted as seen and mirrored, the two averaged).
Checkpoints are read by checkpoint.py.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from pose_lifting_core.checkpoint import (  # re-exported: callers import these from lifter
    CHECKPOINT_FORMAT,  # noqa: F401
    DEFAULT_CHECKPOINT,  # noqa: F401
    CheckpointError,  # noqa: F401
    load_checkpoint,  # noqa: F401
    load_model,
    save_checkpoint,  # noqa: F401
)
from pose_lifting_core.camera import mirror_pixels
from pose_lifting_core.codec import Codec
from pose_lifting_core.model import (
    FusedInference,
    LinearModel,
    int8_available,
    quantize_hidden_int8,
)
from pose_lifting_core.skeleton import JOINT_NAMES, SKELETON
from pose_lifting_core.solvers import reprojection_error_px, solve_root


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' -> CUDA when available else CPU; 'cuda' without CUDA warns and falls back to CPU."""
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"device must be auto, cpu or cuda[:N], got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"device {device!r} requested but CUDA is not available; using CPU")
        return torch.device("cpu")
    return torch.device(device)


PRECISIONS = ("auto", "fp32", "bf16", "int8")
AUTO_PRECISION = (
    "bf16 on CPUs that multiply bf16 natively (AVX512-BF16 or AMX), else fp32; fp32 on CUDA"
)
"""What `resolve_precision('auto', ...)` picks, in words: the CLI's help and the nodes' parameter
description say it (int8 is never picked by auto)."""
SINGLE_THREAD_MAX = (
    16  # CPU batches up to this many rows run on one thread (Lifter.forward); a person is
    # two rows with the test-time mirror
)


def native_bf16(device: torch.device) -> bool:
    """Whether this device multiplies bf16 matrices in hardware (CPU: AVX512-BF16 or AMX; CUDA:
    compute capability 8.0 or newer). Without it bf16 is emulated and slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, c, lambda: False)()) for c in checks)


def available_precisions(device: torch.device) -> Tuple[str, ...]:
    """The number formats this device runs natively: fp32 always, bf16 with `native_bf16`, int8
    hidden layers on CPUs with PyTorch's x86 int8 kernels."""
    return (
        ("fp32",)
        + (("bf16",) if native_bf16(device) else ())
        + (("int8",) if device.type == "cpu" and int8_available() else ())
    )


def check_precision(precision: str) -> str:
    """`precision` if it is one of PRECISIONS; ValueError naming the choices otherwise."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def resolve_precision(precision: str, device: torch.device) -> str:
    """The network's number format. 'auto' on CPU -> bf16 where it is native, else fp32; int8 is
    only used when asked for: PyTorch quantises the activations per call, with one scale for
    the whole batch, so a person's joints move by a few millimetres (more in large batches) with
    the company they are lifted in (docs/BENCHMARKS.md, lifter runtimes). 'auto' on CUDA -> fp32,
    because bf16 has not been timed on a GPU yet (ask for 'bf16' explicitly). An explicit format
    the device lacks warns and gives the best available one."""
    check_precision(precision)
    have = available_precisions(device)
    if precision in have:
        return precision
    if device.type == "cuda":
        best = "bf16" if precision == "int8" and "bf16" in have else "fp32"
    else:
        best = (
            "bf16"
            if "bf16" in have
            else ("int8" if precision == "int8" and "int8" in have else "fp32")
        )
    if precision != "auto":
        warnings.warn(
            f"precision {precision!r} requested but {device.type} has no native {precision} "
            f"kernels; using {best}"
        )
    return best


@dataclass
class LiftResult:
    """Per-person results. joints_3d (N, J, 3) metres, absolute, camera optical frame;
    joints_rel (N, J, 3) root-relative; root (N, 3); reprojection_error_px (N,)."""

    joints_3d: np.ndarray
    joints_rel: np.ndarray
    root: np.ndarray
    reprojection_error_px: np.ndarray


_MIRROR = SKELETON.flip_permutation()  # the 2D keypoints' and confidences' order, mirrored


class Lifter:
    """Batched 2D->3D lifting with a checkpoint's network and codec.

    With `mirror_average` (the default) every person is also lifted mirrored (pixels mirrored
    about the principal point's vertical, left and right swapped), and the mirrored answer,
    mirrored back, is averaged with the direct one: the network runs on twice the rows, and a
    mirrored input gives exactly the mirrored output. Measured on leave-one-lab-out: 1-2 mm
    of MPJPE less on every lab (docs/BENCHMARKS.md, "test-time mirror")."""

    def __init__(
        self,
        model: LinearModel,
        codec: Codec,
        device: str = "auto",
        info: Optional[Dict[str, Any]] = None,
        precision: str = "auto",
        mirror_average: bool = True,
    ) -> None:
        if tuple(codec.joint_names) != JOINT_NAMES:
            raise CheckpointError("checkpoint joint order differs from the 17-joint skeleton")
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.dtype = (
            torch.bfloat16 if self.precision == "bf16" else torch.float32
        )  # the network's input
        # batch norm folded, no dropout; weights in the network's number format
        self.model = FusedInference(model.eval()).to(self.device, self.dtype)
        if self.precision == "int8":
            self.model = quantize_hidden_int8(self.model)
        self.codec = codec
        self.info = info or {}
        self.mirror_average = mirror_average

    @staticmethod
    def load(
        path: Optional[str] = None,
        device: str = "auto",
        precision: str = "auto",
        mirror_average: bool = True,
    ) -> "Lifter":
        """The lifter of a checkpoint (default: the shipped weights)."""
        model, codec, info = load_model(path)
        return Lifter(model, codec, device, info, precision, mirror_average)

    @property
    def chunk(self) -> int:
        """Largest batch sent through the network at once. On CPU, once a batch's activations
        leave the caches FLOP/s drop, so bigger batches go in chunks: 512 people with int8
        hidden layers (their fp32 activations plus int8 copies), 2048 in fp32 or bf16. On CUDA,
        65536."""
        if self.device.type == "cuda":
            return 65536
        return 512 if self.precision == "int8" else 2048

    @torch.inference_mode()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network on standardised inputs (N, in_dim), in chunks of `chunk`; computes in
        `self.dtype` and returns that format. On CPU, batches of up to SINGLE_THREAD_MAX rows
        (people, or half as many with the test-time mirror) run on one torch thread: a second
        thread saves little there, and torch's idle worker threads keep spinning after a
        multi-threaded call, which slows the detector running next (docs/BENCHMARKS.md, "after
        the detector")."""
        x = x.to(self.dtype)
        if (
            self.device.type == "cpu"
            and len(x) <= SINGLE_THREAD_MAX
            and torch.get_num_threads() > 1
        ):
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return self.model(x)
            finally:
                torch.set_num_threads(threads)
        if len(x) <= self.chunk:
            return self.model(x)
        return torch.cat([self.model(x[i : i + self.chunk]) for i in range(0, len(x), self.chunk)])

    @torch.inference_mode()
    def lift(self, keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray) -> np.ndarray:
        """Root-relative joints (N, J, 3) metres from pixels (N, J, 2), confidences (N, J) and
        K (3, 3) or (N, 3, 3). All people (of any number of frames) are lifted in one call."""
        keypoints = np.asarray(keypoints, dtype=np.float64)
        confidence = np.asarray(confidence)
        n = len(keypoints)
        if n == 0:
            return np.zeros((0, self.codec.num_joints, 3))
        x = self.codec.encode(keypoints, confidence, K)
        if self.mirror_average:
            mirrored = mirror_pixels(keypoints, K)[:, _MIRROR]
            x = np.concatenate([x, self.codec.encode(mirrored, confidence[:, _MIRROR], K)])
        xt = torch.from_numpy(x)
        if self.device.type == "cuda":
            xt = xt.pin_memory().to(self.device, non_blocking=True)
        X = self.codec.decode(self.forward(xt).float().cpu().numpy())
        if not self.mirror_average:
            return X
        return 0.5 * (X[:n] + SKELETON.mirror(X[n:]))

    def place(
        self, X_rel: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray
    ) -> LiftResult:
        """Put lifted root-relative skeletons (N, J, 3) in the camera frame (root solve) and
        score them by reprojection error against their keypoints (N, J, 2) px."""
        kp = np.asarray(keypoints, dtype=np.float64)
        conf = np.asarray(confidence, dtype=np.float64)
        T = solve_root(X_rel, kp, conf, K)
        X = X_rel + T[:, None]
        return LiftResult(X, X_rel, T, reprojection_error_px(X, kp, conf, K))

    def estimate(self, keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray) -> LiftResult:
        """Lift, place in the camera frame (root solve) and score every person."""
        return self.place(self.lift(keypoints, confidence, K), keypoints, confidence, K)
