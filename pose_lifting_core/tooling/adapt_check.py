"""Whether an adapted lifter got worse, judged on the user's own 2D alone (no 3D truth).

Owns: the check figures `pose-lifting adapt` prints for the starting and the adapted model on
the same people: how far the lifted skeleton, placed by the root solve, reprojects from the
keypoints (pixels), how unequal its left and right bones are (millimetres), how far its bones
fall outside the 2D pose prior's length limits (millimetres), and the rotation-cycle error
(millimetres: turn the skeleton, view it again, lift that view and turn it back). None needs
3D truth; each is zero for a correct lifter on exact 2D. And the split that keeps the last part
of a recording out of the adaptation, so that the figures are also measured on people it never
saw (`split_tail`).

Shapes: keypoints (N, 17, 2) px, confidence (N, 17), K (N, 3, 3) px; metres inside.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Dict, Tuple

import numpy as np
import torch

from pose_lifting_core.camera import project
from pose_lifting_core.solvers import solve_root
from pose_lifting_core.tooling import selfsup
from pose_lifting_core.tooling.adapt import AdaptData
from pose_lifting_core.tooling.data.synth import rotation_about

FIGURES = ("reprojection_px", "symmetry_mm", "limits_mm", "cycle_mm")


def split_tail(data: AdaptData, fraction: float) -> Tuple[AdaptData, AdaptData]:
    """(adapted on, checked on): the rows in input order, the last `fraction` of them checked
    (in a recording, its end: later frames of the same scene, not frames between seen ones)."""
    n = len(data.keypoints)
    k = int(round(n * fraction))
    if fraction > 0 and (k < 1 or k >= n):
        raise ValueError(f"--holdout {fraction:g} of {n} people leaves none to adapt or check on")
    cut = n - k

    def part(sl: slice) -> AdaptData:
        return replace(
            data,
            keypoints=data.keypoints[sl],
            confidence=data.confidence[sl],
            K=data.K[sl],
            known=data.known[sl],
        )

    return part(slice(0, cut)), part(slice(cut, n))


@torch.no_grad()
def check_figures(
    model, codec, data: AdaptData, focal_px: float, limits: torch.Tensor, seed: int = 0
) -> Dict[str, float]:
    """The figures (FIGURES) of `model` on `data`, the median over people, rows of unknown K
    seen with focal length `focal_px` and the principal point at the image centre; `limits`
    (B, 2) metres: the 2D pose prior's bone-length limits."""
    uv = torch.as_tensor(data.keypoints, dtype=torch.float32)
    w = torch.as_tensor(data.confidence, dtype=torch.float32).clamp(0, 1)
    K = torch.as_tensor(data.K, dtype=torch.float32).clone()
    unknown = ~torch.as_tensor(data.known)
    if unknown.any():
        cx, cy = (float(v) / 2.0 for v in data.image_size)
        Ku = torch.tensor([[focal_px, 0.0, cx], [0.0, focal_px, cy], [0.0, 0.0, 1.0]])
        K[unknown] = Ku
    model = model.float().eval()

    def lift(uv_, w_, K_):
        return codec.decode(model(codec.encode(uv_, w_, K_)))

    X = lift(uv, w, K)
    T = solve_root(X, uv, w, K)
    d = (project(X + T[:, None], K, min_depth=1e-3) - uv).norm(dim=-1)
    reproj = (d * w).sum(-1) / w.sum(-1).clamp(min=1e-9)
    sym, lim = selfsup.bone_losses(X, limits.float())
    gen = torch.Generator().manual_seed(seed)
    angles = (torch.rand(len(uv), generator=gen) * 2 - 1) * math.pi
    R = rotation_about(selfsup.body_up_axis(X), angles)
    cyc, _ = selfsup.cycle_loss(lift, X, T, w, K, R)
    values = (reproj, sym * 1000, lim * 1000, cyc * 1000)
    return {k: float(np.nanmedian(v.numpy())) for k, v in zip(FIGURES, values)}


def report(before: Dict[str, float], after: Dict[str, float]) -> str:
    """One line: each figure, starting model -> adapted, and which got worse (over 5 %)."""
    parts, worse = [], []
    for k in FIGURES:
        parts.append(
            f"{k.rsplit('_', 1)[0]} {before[k]:.1f} -> {after[k]:.1f} {k.rsplit('_')[-1]}"
        )
        if after[k] > before[k] * 1.05 + 1e-6:
            worse.append(k.rsplit("_", 1)[0])
    verdict = f"worse: {', '.join(worse)}" if worse else "none worse"
    return "; ".join(parts) + f" ({verdict})"
