"""Track ids across frames, and optional temporal smoothing of 3D skeletons.

Owns: `Tracker` (greedy association of people to tracks by box overlap with a constant-velocity
prediction, ids that persist while a person stays in view, tracks dropped after `max_age` unseen
frames) and `Smoother` (per-track exponential smoothing of 3D joints; off unless asked for).

Shapes: boxes (N, 4) pixels x0, y0, x1, y1; joints (N, J, 3) metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU (N, M) of boxes a (N, 4) and b (M, 4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    wh = np.clip(
        np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]),
        0,
        None,
    )
    inter = wh[..., 0] * wh[..., 1]
    area = lambda r: np.clip(r[:, 2:] - r[:, :2], 0, None).prod(-1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


@dataclass
class _Track:
    id: int
    box: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    age: int = 0  # frames since last matched
    hits: int = 1


class Tracker:
    """Greedy IoU tracker with constant-velocity box prediction.

    min_iou: the least overlap between a predicted track box and a detection to match them.
    max_age: frames a track survives unmatched (a person briefly missed keeps the id)."""

    def __init__(self, min_iou: float = 0.1, max_age: int = 20) -> None:
        if not 0.0 <= min_iou < 1.0:
            raise ValueError(f"min_iou must be in [0, 1), got {min_iou}")
        if max_age < 0:
            raise ValueError(f"max_age must be >= 0, got {max_age}")
        self.min_iou = min_iou
        self.max_age = max_age
        self._tracks: List[_Track] = []
        self._next_id = 1

    def reset(self) -> None:
        """Forget every track. Ids keep counting: an id is never given to two people in one
        Tracker's life (Skeleton3D.msg promises subscribers that)."""
        self._tracks = []

    @property
    def active_ids(self) -> List[int]:
        return [t.id for t in self._tracks]

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """Assign a track id (N,) int to each detection box of this frame (ids start at 1)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids = np.zeros(len(boxes), dtype=np.int64)
        pred = np.array([t.box + t.velocity for t in self._tracks]).reshape(-1, 4)
        iou = box_iou(pred, boxes)
        matched_t, matched_d = set(), set()
        if iou.size:
            for flat in np.argsort(-iou, axis=None).tolist():  # best overlap first
                ti, di = divmod(flat, iou.shape[1])
                if iou[ti, di] < self.min_iou:
                    break
                if ti in matched_t or di in matched_d:
                    continue
                t = self._tracks[ti]
                t.velocity = 0.5 * t.velocity + 0.5 * (boxes[di] - t.box) / (t.age + 1)
                t.box, t.age, t.hits = boxes[di].copy(), 0, t.hits + 1
                ids[di] = t.id
                matched_t.add(ti)
                matched_d.add(di)
        for ti, t in enumerate(self._tracks):
            if ti not in matched_t:
                t.age += 1
        self._tracks = [t for t in self._tracks if t.age <= self.max_age]
        for di in range(len(boxes)):
            if di not in matched_d:
                self._tracks.append(_Track(self._next_id, boxes[di].copy()))
                ids[di] = self._next_id
                self._next_id += 1
        return ids


class Smoother:
    """Per-track exponential smoothing of 3D joints: y_t = a x_t + (1 - a) y_{t-1}.

    alpha = 1 is no smoothing. For a person moving at constant speed the output lags by
    (1 - alpha) / alpha frames (alpha 0.5: 1 frame, 33 ms at 30 fps). A track's state is
    dropped when the track is not seen in a frame."""

    def __init__(self, alpha: float = 0.5) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"smoothing alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self._state: Dict[int, np.ndarray] = {}

    @property
    def lag_frames(self) -> float:
        return (1.0 - self.alpha) / self.alpha

    def __call__(self, ids: np.ndarray, joints: np.ndarray) -> np.ndarray:
        out = np.array(joints, dtype=np.float64, copy=True)
        new_state = {}
        for i, tid in enumerate(np.asarray(ids).tolist()):
            prev = self._state.get(tid)
            if prev is not None and np.isfinite(out[i]).all():
                out[i] = self.alpha * out[i] + (1.0 - self.alpha) * prev
            new_state[tid] = out[i]
        self._state = new_state
        return out
