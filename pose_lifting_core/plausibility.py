"""Which lifted people are results: the one per-person rule of `lift`, `estimate` and both nodes.

Owns: the checks that keep confident nonsense out of every output. A lifted person is dropped,
with a reason, when:
  - too_few_joints: fewer than two usable keypoints (no root can be solved);
  - non_finite: a joint position is NaN or infinite;
  - degenerate_2d: the usable keypoints all lie within MIN_SPREAD_PX of each other (17 joints at
    one pixel were "lifted" at 0.10 m with a 445 px reprojection error);
  - too_far: the pelvis is farther than max_distance_m from the camera (keypoints scaled by
    1e27 gave 1.6e26 m);
  - too_near: the pelvis is nearer than MIN_DEPTH_M (the root solve stops at 0.1 m when no
    depth fits the keypoints: degenerate keypoints were published at z = 0.10 m);
  - reprojection: the mean reprojection error exceeds MAX_RELATIVE_REPROJECTION of the person's
    2D size (BlazePose people in the bundled image and video stayed under 0.09, exact keypoints
    under 0.01; 17 random pixels gave about 0.3).
The pipeline (both nodes and `estimate`) leaves such people out of the frame and counts them
by reason (FrameResult.dropped); `lift` writes NaN for them, with the reason, so rows keep
their order.

Shapes and units: joints_3d (N, 17, 3) metres, camera optical frame, pelvis first; keypoints
(N, 17, 2) pixels; confidence (N, 17); reprojection errors (N,) pixels. Pure numpy.
"""

from __future__ import annotations

from typing import Dict, Mapping

import numpy as np

MIN_SPREAD_PX = 2.0
"""The smallest 2D extent (pixels, larger side of the keypoints' box) a person can have."""

MIN_DEPTH_M = 0.2
"""The nearest a pelvis may be to the camera (metres); the root solve's floor is 0.1 m."""

MAX_RELATIVE_REPROJECTION = 0.25
"""The largest mean reprojection error, as a fraction of the person's 2D size, of a result."""

REASONS = ("too_few_joints", "non_finite", "degenerate_2d", "too_far", "too_near", "reprojection")
"""Every reason a person is dropped for, in the order they are checked (the first that applies
is the one given)."""


def reason_text(reason: str, max_distance_m: float) -> str:
    """A reason's words, as they follow a count of people in warnings and summaries."""
    return {
        "too_few_joints": "with fewer than 2 usable keypoints",
        "non_finite": "with a joint position that is NaN or infinite",
        "degenerate_2d": f"with keypoints all within {MIN_SPREAD_PX:g} px of each other",
        "too_far": f"placed farther than {max_distance_m:g} m (the maximum distance)",
        "too_near": f"placed nearer than {MIN_DEPTH_M:g} m (no depth fits the keypoints)",
        "reprojection": (
            f"with a reprojection error over {MAX_RELATIVE_REPROJECTION:g} of their 2D size"
        ),
    }[reason]


def spread_px(keypoints: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """The larger side (N,) px of each person's 2D box over the finite keypoints with confidence
    > 0; 0 where fewer than one such keypoint."""
    kp = np.asarray(keypoints, dtype=np.float64)
    valid = (np.asarray(confidence) > 0) & np.isfinite(kp).all(-1)
    with np.errstate(invalid="ignore"):
        lo = np.where(valid[..., None], kp, np.inf).min(-2)
        hi = np.where(valid[..., None], kp, -np.inf).max(-2)
        side = (hi - lo).max(-1)
    return np.where(np.isfinite(side), side, 0.0)


def implausible(
    joints_3d: np.ndarray,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    reprojection_error_px: np.ndarray,
    max_distance_m: float,
) -> np.ndarray:
    """The reason (N,) str each lifted person is not a result, "" for a plausible one (module
    docstring). joints_3d (N, 17, 3) metres with the pelvis first, keypoints (N, 17, 2) px and
    confidence (N, 17) as lifted, reprojection_error_px (N,)."""
    X = np.asarray(joints_3d, dtype=np.float64)
    n = len(X)
    err = np.asarray(reprojection_error_px, dtype=np.float64).reshape(n)
    conf = np.asarray(confidence)
    usable = ((conf > 0) & np.isfinite(np.asarray(keypoints, dtype=np.float64)).all(-1)).sum(-1)
    spread = spread_px(keypoints, conf)
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(X).all((-2, -1)) & np.isfinite(err)
        pelvis = np.where(finite[:, None], X[:, 0], 0.0)
        distance = np.linalg.norm(pelvis, axis=-1)
        checks = (
            ("too_few_joints", usable < 2),
            ("non_finite", ~finite),
            ("degenerate_2d", spread < MIN_SPREAD_PX),
            ("too_far", ~(distance <= max_distance_m)),
            ("too_near", pelvis[:, 2] < MIN_DEPTH_M),
            ("reprojection", ~(err <= MAX_RELATIVE_REPROJECTION * np.maximum(spread, 1e-12))),
        )
    reasons = np.full(n, "", dtype=f"<U{max(map(len, REASONS))}")
    for name, bad in checks:
        reasons = np.where((reasons == "") & bad, name, reasons)
    return reasons


def count(reasons: np.ndarray) -> Dict[str, int]:
    """{reason: how many} of the dropped people among `reasons` (N,) (`implausible`), in
    REASONS order, without the reasons no one was dropped for."""
    reasons = np.asarray(reasons)
    counts = {r: int((reasons == r).sum()) for r in REASONS}
    return {r: c for r, c in counts.items() if c}


def describe(counts: Mapping[str, int], max_distance_m: float) -> str:
    """One line for {reason: count}: "2 with keypoints all within 2 px of each other, 1 placed
    beyond max_distance_m (50 m)"."""
    return ", ".join(f"{c} {reason_text(r, max_distance_m)}" for r, c in counts.items() if c)
