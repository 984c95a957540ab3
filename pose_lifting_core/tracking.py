"""Track ids across frames, and optional temporal smoothing of 3D skeletons.

Owns: `Tracker` (greedy association of people to tracks by box overlap or by the distance of
their box from a constant-velocity prediction, gated on a physically possible change of their
distance from the camera; ids that persist while a person stays in view or is missed for up to
`max_age` frames; a new person gets an id once seen in `min_hits` consecutive frames, so
one-frame blips never become tracks), `Smoother` (per-track exponential smoothing of 3D
joints; off unless asked for) and `colour` (a track id's colour: the one palette of the renders
and the RViz markers).

Shapes: boxes (N, 4) pixels x0, y0, x1, y1; joints (N, J, 3) metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

_PALETTE = np.array(
    [
        (230, 25, 75),
        (60, 180, 75),
        (0, 130, 200),
        (245, 130, 48),
        (145, 30, 180),
        (70, 240, 240),
        (240, 50, 230),
        (210, 245, 60),
        (250, 190, 212),
        (0, 128, 128),
        (220, 190, 255),
        (170, 110, 40),
    ],
    dtype=np.uint8,
)


def colour(track_id: int) -> Tuple[int, int, int]:
    """RGB colour of a track id: the same in renders (tooling.render) and RViz markers
    (pose_lifting_ros.visualization)."""
    c = _PALETTE[int(track_id) % len(_PALETTE)]
    return int(c[0]), int(c[1]), int(c[2])


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


# A detection whose box centre lies within this many box heights of a track's predicted centre
# (per frame since the track was last seen: the prediction's error grows with the gap) is near
# enough to match it even without overlap: the boxes of far pedestrians are narrower than their
# step from one frame to the next, or than the jitter of their keypoints (with overlap alone,
# vtest.avi gave 64 ids in 795 frames, the median track 15 frames long).
CENTRE_GATE_HEIGHTS = 0.5
# ...if its box height is within this factor of the track's.
MAX_HEIGHT_RATIO = 1.5
# A detection placed farther from or nearer to the camera than a track by more than this fraction
# of the track's distance (per frame since it was seen), or than `MAX_SPEED_MPS` covers in the
# time since where frame times are given (slow cameras), is not that track's person: a walking
# person's distance does not change by 20 % between two frames (at 10 frames/s, 2 m at 10 m).
# On vtest.avi such jumps were two people's landmarks mixed, or a person's track taken over by
# another (6.7 m to 11.6 m). The fraction allows for the monocular distance's own noise.
MAX_DISTANCE_CHANGE = 0.2
MAX_SPEED_MPS = 3.0


@dataclass
class _Track:
    id: int  # 0 while tentative (seen in fewer than min_hits consecutive frames)
    box: np.ndarray
    distance: float = float("nan")  # metres from the camera when last matched (NaN: unknown)
    seen_s: float = float("nan")  # time of the frame it was last matched in (NaN: not given)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    age: int = 0  # frames since last matched
    hits: int = 1

    def predicted(self) -> np.ndarray:
        """The box now, at constant velocity from where it was last seen."""
        return self.box + self.velocity * (self.age + 1)


class Tracker:
    """Greedy tracker with constant-velocity box prediction.

    A detection may match a track when their boxes (the track's predicted) overlap by at least
    `min_iou`, or when its centre is within `CENTRE_GATE_HEIGHTS` box heights per frame unseen of
    the predicted centre and its height within `MAX_HEIGHT_RATIO`; and, where distances are
    given, its distance from the camera differs from the track's by at most
    `MAX_DISTANCE_CHANGE` of it per frame unseen, or `MAX_SPEED_MPS` times the time since
    where frame times are given (whichever allows more). Pairs go best first (most overlap,
    least centre distance).

    min_iou: the least overlap between a predicted track box and a detection to match them
        by overlap.
    max_age: frames a track survives unmatched (a person briefly missed keeps the id).
    min_hits: consecutive frames a new track must be matched in before it gets an id (SORT's
        rule); until then `update` gives it id 0 and a miss ends it. On vtest.avi 12 of 72 ids
        lasted one frame (docs/BENCHMARKS.md). Tracks born in the first frame after
        construction or `reset` get their ids at once (a photo, a video's first frame)."""

    def __init__(self, min_iou: float = 0.1, max_age: int = 20, min_hits: int = 2) -> None:
        if not 0.0 <= min_iou < 1.0:
            raise ValueError(f"min_iou must be in [0, 1), got {min_iou}")
        if max_age < 0:
            raise ValueError(f"max_age must be >= 0, got {max_age}")
        if min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {min_hits}")
        self.min_iou = min_iou
        self.max_age = max_age
        self.min_hits = min_hits
        self._tracks: List[_Track] = []
        self._next_id = 1
        self._fresh = True  # no frame seen since construction or reset

    def reset(self) -> None:
        """Forget every track. Ids keep counting: an id is never given to two people in one
        Tracker's life (Skeleton3D.msg promises subscribers that)."""
        self._tracks = []
        self._fresh = True

    @property
    def active_ids(self) -> List[int]:
        """Ids of the confirmed tracks alive now."""
        return [t.id for t in self._tracks if t.id]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _cost(
        self, boxes: np.ndarray, distances: Optional[np.ndarray], time_s: Optional[float]
    ) -> np.ndarray:
        """(T, N) cost of matching track t to detection n, lower is better; inf where they may
        not match (see the class docstring)."""
        pred = np.array([t.predicted() for t in self._tracks]).reshape(-1, 4)
        iou = box_iou(pred, boxes)
        unseen = 1.0 + np.array([t.age for t in self._tracks], dtype=np.float64)[:, None]
        centre = lambda b: (b[:, :2] + b[:, 2:]) / 2  # noqa: E731
        height = lambda b: np.maximum(b[:, 3] - b[:, 1], 1.0)  # noqa: E731
        hp, hd = height(pred)[:, None], height(boxes)[None, :]
        shift = np.linalg.norm(centre(pred)[:, None] - centre(boxes)[None], axis=-1)
        shift = shift / np.maximum(hp, hd)
        near = (shift <= CENTRE_GATE_HEIGHTS * unseen) & (
            np.maximum(hp / hd, hd / hp) <= MAX_HEIGHT_RATIO
        )
        ok = (iou >= self.min_iou) | near
        if distances is not None:
            had = np.array([t.distance for t in self._tracks], dtype=np.float64)[:, None]
            since = np.array([t.seen_s for t in self._tracks], dtype=np.float64)[:, None]
            dt = np.zeros_like(since) if time_s is None else float(time_s) - since
            allowed = np.maximum(
                MAX_DISTANCE_CHANGE * unseen * had,
                MAX_SPEED_MPS * np.where(np.isfinite(dt), np.maximum(dt, 0.0), 0.0),
            )
            known = np.isfinite(had) & np.isfinite(distances)[None, :]
            ok &= ~known | (np.abs(distances[None, :] - had) <= allowed)
        return np.where(ok, shift - iou, np.inf)

    def update(
        self,
        boxes: np.ndarray,
        distances: Optional[np.ndarray] = None,
        time_s: Optional[float] = None,
    ) -> np.ndarray:
        """Assign a track id (N,) int to each detection box of this frame (ids start at 1; 0
        for a person on a tentative track, see `min_hits`).
        distances (N,): each person's distance from the camera in metres (NaN where unknown),
        or None: then no association is gated on it. time_s: this frame's time in seconds, or
        None (then the gate allows for no movement beyond its fraction)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if distances is not None:
            distances = np.asarray(distances, dtype=np.float64).reshape(-1)
            if len(distances) != len(boxes):
                raise ValueError(f"{len(distances)} distances for {len(boxes)} boxes")
        ids = np.zeros(len(boxes), dtype=np.int64)
        cost = self._cost(boxes, distances, time_s)
        matched_t, matched_d = set(), set()
        if cost.size:
            for flat in np.argsort(cost, axis=None, kind="stable").tolist():  # best first
                ti, di = divmod(flat, cost.shape[1])
                if not np.isfinite(cost[ti, di]):
                    break
                if ti in matched_t or di in matched_d:
                    continue
                t = self._tracks[ti]
                t.velocity = 0.5 * t.velocity + 0.5 * (boxes[di] - t.box) / (t.age + 1)
                t.box, t.age, t.hits = boxes[di].copy(), 0, t.hits + 1
                if distances is not None:
                    t.distance = float(distances[di])
                t.seen_s = float("nan") if time_s is None else float(time_s)
                if not t.id and t.hits >= self.min_hits:
                    t.id = self._new_id()
                ids[di] = t.id
                matched_t.add(ti)
                matched_d.add(di)
        for ti, t in enumerate(self._tracks):
            if ti not in matched_t:
                t.age += 1
        # a tentative track ends at its first miss
        self._tracks = [t for t in self._tracks if t.age <= (self.max_age if t.id else 0)]
        confirm = self._fresh or self.min_hits <= 1
        for di in range(len(boxes)):
            if di not in matched_d:
                d = float("nan") if distances is None else float(distances[di])
                seen = float("nan") if time_s is None else float(time_s)
                ids[di] = self._new_id() if confirm else 0
                self._tracks.append(_Track(int(ids[di]), boxes[di].copy(), d, seen))
        self._fresh = False
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
