"""Camera-in-the-loop solvers, vectorised over people (no per-joint Python loops).

Owns: the root translation that makes a root-relative skeleton reproject onto its 2D keypoints,
the per-person reprojection error in pixels, and the pooled focal-length estimate for a static
camera with its uncertainty.

Shapes: X_rel (N, J, 3) metres, root-relative, camera optical frame; keypoints (N, J, 2) pixels;
weights/confidences (N, J); K (3, 3) or (N, 3, 3); T (N, 3) metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Tuple

import numpy as np
import torch

from pose_lifting_core.camera import normalize, project
from pose_lifting_core.codec import _torch


def solve_root(
    X_rel: np.ndarray,
    keypoints: np.ndarray,
    weights: np.ndarray,
    K: np.ndarray,
    iterations: int = 3,
    min_depth: float = 0.1,
) -> np.ndarray:
    """Root translation T (N, 3) minimising the confidence-weighted reprojection error of
    X_rel + T onto the keypoints.

    Each joint gives two equations linear in T: (X+T)_x - x (X+T)_z = 0 and the same in y, with
    (x, y) = K⁻¹ u. The first solve weights them by confidence; later ones divide by the current
    depth, which turns the residual into an image-plane error (iteratively reweighted least
    squares). People with fewer than two usable joints get NaN. Depth is kept >= min_depth.
    iterations >= 1 (ValueError otherwise).

    The 3x3 normal equations, with s the joint weights and sums over joints,
        [Σs    0     -Σsx ] [Tx]   [ Σs bx           ]
        [0     Σs    -Σsy ] [Ty] = [ Σs by           ]
        [-Σsx  -Σsy  Σs r²] [Tz]   [ -Σs (x bx + y by)]
    are solved in closed form (Schur complement on Tz, after dividing by Σs), all people at
    once: one weighted sum of seven per-joint terms per iteration. numpy in, numpy out; torch
    in, torch out, differentiable in X_rel, the keypoints and K (self-supervised adaptation)."""
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    if not isinstance(X_rel, torch.Tensor):
        args = (_torch(a) for a in (X_rel, keypoints, weights, K))
        with torch.inference_mode():
            return solve_root(*args, iterations=iterations, min_depth=min_depth).numpy()
    xy = normalize(keypoints, K)
    finite = torch.isfinite(xy).all(-1) & torch.isfinite(weights)
    w = torch.where(finite, weights, 0.0)
    xy = torch.where(finite[..., None], xy, 0.0)
    Xz = X_rel[..., 2]
    # per joint: rows [1, 0, -x] and [0, 1, -y]; right-hand sides (bx, by) = (x, y) Xz - (Xx, Xy)
    b = xy * Xz[..., None] - X_rel[..., :2]
    terms = torch.cat(
        [
            torch.ones_like(Xz)[..., None],
            xy,
            (xy * xy).sum(-1, keepdim=True),
            b,
            (xy * b).sum(-1, keepdim=True),
        ],
        -1,
    )  # (N, J, 7): 1, x, y, r², bx, by, x bx + y by
    usable = (w > 0).sum(-1) >= 2  # one joint cannot fix the depth
    s = w
    T = torch.zeros(Xz.shape[:-1] + (3,), dtype=X_rel.dtype)  # set by iteration 0
    for it in range(iterations):
        if it > 0:
            z = (Xz + T[:, 2:3]).clamp(min=min_depth)
            s = w / (z * z)
        # weighted means (over joints, weights s) of x, y, r², bx, by, x bx + y by
        sums = (s[:, None, :] @ terms)[:, 0]
        total = sums[:, :1].clamp(min=torch.finfo(sums.dtype).tiny)
        mx, my, mr2, mbx, mby, mxb = (sums[:, 1:] / total).unbind(-1)
        # Tz from the Schur complement; Tx, Ty back-substituted. D = mean |p - p̄|² >= 0, and is
        # 0 only when every usable joint projects to the same point
        D = torch.maximum(mr2 - mx * mx - my * my, 1e-12 * (2.0 + mr2))
        Tz = ((mx * mbx + my * mby - mxb) / D).clamp(min=min_depth)
        T = torch.stack([mbx + mx * Tz, mby + my * Tz, Tz], -1)
    return torch.where(usable[:, None], T, torch.nan)


def person_size_px(keypoints: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """The larger side (N,) px of each person's 2D bounding box over the joints with confidence
    > 0, at least 1 (1 where there is none, or the box is not finite): the scale that makes the
    pixel errors of near and far people comparable. keypoints (N, J, 2), confidence (N, J);
    numpy in, numpy out; torch in, torch out (adaptation's reprojection loss)."""
    if not isinstance(keypoints, torch.Tensor):
        with torch.inference_mode():
            return person_size_px(_torch(keypoints), _torch(confidence)).numpy()
    valid = (confidence > 0)[..., None]
    lo = torch.where(valid, keypoints, torch.inf).amin(1)
    hi = torch.where(valid, keypoints, -torch.inf).amax(1)
    side = torch.where(torch.isfinite(hi - lo), hi - lo, 1.0)
    return side.amax(-1).clamp(min=1.0)


def reprojection_error_px(
    X_cam: np.ndarray, keypoints: np.ndarray, weights: np.ndarray, K: np.ndarray
) -> np.ndarray:
    """Confidence-weighted mean pixel distance (N,) between project(X_cam) and the keypoints.
    NaN for people with no usable joint."""
    with np.errstate(invalid="ignore", divide="ignore"):
        uv = project(X_cam, K)
        d = np.sqrt(((uv - keypoints) ** 2).sum(-1))
        finite = np.isfinite(d)
        w = np.where(finite & np.isfinite(weights), weights, 0.0)
        wsum = w.sum(-1)
        return np.where(wsum > 0, (np.where(finite, d, 0.0) * w).sum(-1) / wsum, np.nan)


@dataclass(frozen=True)
class FocalEstimate:
    """A pooled focal-length estimate: f in pixels, its relative standard deviation (bootstrap,
    over people/frames), how many samples it pooled, and the grid and cost curve it came from."""

    f_px: float
    rel_sd: float
    num_samples: int
    grid: np.ndarray
    cost: np.ndarray


def _parabolic_min(grid_log: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Minimum of each cost row (B, G) over the log-grid, refined by a parabola through the
    three points around the discrete minimum."""
    i = np.clip(cost.argmin(-1), 1, cost.shape[-1] - 2)
    r = np.arange(len(cost))
    c0, c1, c2 = cost[r, i - 1], cost[r, i], cost[r, i + 1]
    h = grid_log[1] - grid_log[0]
    denom = c0 - 2 * c1 + c2
    off = np.where(denom > 1e-12, 0.5 * (c0 - c2) / np.maximum(denom, 1e-12), 0.0)
    return grid_log[i] + np.clip(off, -1, 1) * h


def estimate_focal(
    lift: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    keypoints: np.ndarray,
    weights: np.ndarray,
    image_size: Tuple[int, int],
    f_range: Tuple[float, float] = (150.0, 8000.0),
    num_grid: int = 41,
    num_bootstrap: int = 200,
    seed: int = 0,
    max_people: int = 2000,
) -> FocalEstimate:
    """Pool many people/frames of one static camera to estimate its focal length (square
    pixels, principal point at the image centre).

    For each focal length f on a log grid, every sample is lifted with K(f), its root solved,
    and its reprojection error taken relative to its 2D size. One frame barely constrains f
    (after root solving the error is nearly flat in f); the pooled cost over many samples is
    minimised, and the spread of the minimum over bootstrap resamples of the samples gives the
    uncertainty. lift(keypoints (M, J, 2), weights (M, J), K (M, 3, 3)) -> X_rel (M, J, 3).
    More than `max_people` people are subsampled (seeded), so time and memory stay bounded."""
    if len(keypoints) == 0:
        raise ValueError("focal estimation needs at least one person")
    if len(keypoints) > max_people:  # bounded cost: a seeded random subset of the people
        pick = np.sort(
            np.random.default_rng(seed).choice(len(keypoints), max_people, replace=False)
        )
        keypoints, weights = np.asarray(keypoints)[pick], np.asarray(weights)[pick]
    S = len(keypoints)
    w, h = image_size
    grid = np.exp(np.linspace(np.log(f_range[0]), np.log(f_range[1]), num_grid))
    K = np.zeros((num_grid, S, 3, 3))
    K[..., 0, 0] = K[..., 1, 1] = grid[:, None]
    K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = w / 2.0, h / 2.0, 1.0
    K = K.reshape(-1, 3, 3)
    kp = np.broadcast_to(keypoints, (num_grid,) + keypoints.shape).reshape(
        -1, *keypoints.shape[1:]
    )
    wt = np.broadcast_to(weights, (num_grid,) + weights.shape).reshape(-1, weights.shape[1])
    X_rel = lift(kp, wt, K)
    T = solve_root(X_rel, kp, wt, K)
    err = reprojection_error_px(X_rel + T[:, None], kp, wt, K).reshape(num_grid, S)
    rel = (np.nan_to_num(err, nan=1e3) / person_size_px(keypoints, weights)) ** 2  # (G, S)
    cost = rel.mean(1)
    rng = np.random.default_rng(seed)
    boot = rel[:, rng.integers(0, S, (num_bootstrap, S))].mean(-1).T  # (B, G)
    glog = np.log(grid)
    best = float(_parabolic_min(glog, cost[None])[0])
    spread = float(np.std(_parabolic_min(glog, boot)))
    return FocalEstimate(float(np.exp(best)), float(np.exp(spread) - 1.0), S, grid, cost)


def fuse_focal(prior_f_px: float, estimate: FocalEstimate, prior_log_sd: float = 0.35) -> float:
    """Precision-weighted fusion, in log f, of the field-of-view prior (log-normal with
    `prior_log_sd`, 0.35 ~ horizontal fields of view of about 40-100 degrees) and the pooled
    estimate (its bootstrap spread as its standard deviation). Returns f in pixels."""
    sd = max(np.log1p(estimate.rel_sd), 1e-3)
    w_prior, w_est = 1.0 / prior_log_sd**2, 1.0 / sd**2
    return float(
        np.exp((w_prior * np.log(prior_f_px) + w_est * np.log(estimate.f_px)) / (w_prior + w_est))
    )
