"""PoseEstimator: image (or someone else's 2D keypoints) -> tracked metric 3D skeletons.

Owns: the one pipeline that the CLI and the ROS nodes share: detect -> convert to the 17-joint
layout -> lift all people in one batch -> solve roots -> drop implausible people (counted by
reason: plausibility.py) -> track ids -> (optional) smooth. It also
owns the handling of intrinsics: a valid K is used as given; a missing, all-zero or invalid K is
replaced by the field-of-view prior (principal point at the image centre) and flagged estimated.
Built once from a frozen `PipelineConfig` and reused frame after frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from pose_lifting_core import plausibility
from pose_lifting_core.camera import (
    DEFAULT_HFOV_DEG,
    HFOV_RANGE_DEG,
    Intrinsics,
    distortion_problem,
    intrinsics_from_fov,
    intrinsics_problem,
    stated_image_size_problem,
    undistort_pixels,
)
from pose_lifting_core.lifter import Lifter, check_precision
from pose_lifting_core.skeleton import JOINT_NAMES, to_skeleton17
from pose_lifting_core.tracking import Smoother, Tracker


@dataclass(frozen=True)
class PipelineConfig:
    """Every setting of the pipeline (ROS parameters and CLI flags map onto these)."""

    checkpoint: Optional[str] = None  # None: the shipped weights
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto | fp32 | bf16 | int8 (lifter.resolve_precision)
    mirror_average: bool = True  # each person also lifted mirrored, the two averaged (Lifter)
    landmark_model: str = "full"  # BlazePose lite | full | heavy
    person_detector: str = "both"  # blazepose | hog | both
    max_people: int = 10
    min_person_score: float = 0.5
    min_keypoint_score: float = 0.2  # keypoints below this get confidence 0
    detector_threads: int = 2
    hfov_deg: float = DEFAULT_HFOV_DEG  # field-of-view prior when K is unknown
    track: bool = True  # video: track ids (and detector ROIs) across frames
    tracker_min_iou: float = 0.1
    tracker_max_age: int = 20
    tracker_min_hits: int = 2  # a new person is output once seen in this many frames in a row
    smoothing_alpha: float = 1.0  # 1 = off; lag (1 - a) / a frames
    max_distance_m: float = 50.0  # people placed farther from the camera are dropped (counted)
    # every other implausible person is dropped too, counted by reason: plausibility.py

    def validate(self) -> "PipelineConfig":
        """Raise ValueError naming the first bad setting."""
        if self.max_people < 1:
            raise ValueError(f"max_people must be >= 1, got {self.max_people}")
        for name in ("min_person_score", "min_keypoint_score"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        lo, hi = HFOV_RANGE_DEG
        if not lo <= self.hfov_deg <= hi:
            raise ValueError(f"hfov_deg must be in [{lo:g}, {hi:g}], got {self.hfov_deg}")
        if not self.max_distance_m > 0:
            raise ValueError(f"max_distance_m must be > 0, got {self.max_distance_m}")
        if not 0.0 < self.smoothing_alpha <= 1.0:
            raise ValueError(f"smoothing_alpha must be in (0, 1], got {self.smoothing_alpha}")
        if self.tracker_min_hits < 1:
            raise ValueError(f"tracker_min_hits must be >= 1, got {self.tracker_min_hits}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        check_precision(self.precision)
        return self


@dataclass
class Person3D:
    """One person in one frame. keypoints_2d (17, 2) px and confidence (17,) in the 17-joint
    layout; joints_3d (17, 3) metres, camera optical frame; box (4,) px."""

    id: int
    score: float
    box: np.ndarray
    keypoints_2d: np.ndarray
    confidence: np.ndarray
    joints_3d: np.ndarray
    reprojection_error_px: float


@dataclass
class FrameResult:
    """Everything estimated for one frame; timing holds seconds per stage; dropped counts the
    lifted people left out as implausible, by reason (plausibility.REASONS; only reasons that
    occurred); tentative counts the plausible people left out because their track is new
    (PipelineConfig.tracker_min_hits)."""

    index: int
    time_s: float
    intrinsics: Intrinsics
    image_size: Tuple[int, int]
    persons: List[Person3D]
    timing: Dict[str, float] = field(default_factory=dict)
    dropped: Dict[str, int] = field(default_factory=dict)
    tentative: int = 0  # new people held back until seen in tracker_min_hits frames in a row

    @property
    def too_far(self) -> int:
        """People dropped for being placed beyond max_distance_m."""
        return self.dropped.get("too_far", 0)


def resolve_intrinsics(
    K: Optional[np.ndarray], width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG
) -> Intrinsics:
    """K as given when it is plausible for the image (camera.intrinsics_problem); otherwise
    (None, all zero, NaN, implausible) the field-of-view prior, flagged as estimated."""
    if (
        K is not None
        and intrinsics_problem(np.asarray(K, dtype=np.float64), width, height) is None
    ):
        return Intrinsics.from_K(K)
    return intrinsics_from_fov(width, height, hfov_deg)


class PoseEstimator:
    """detect -> lift -> solve -> track, for a stream of frames from one camera."""

    def __init__(
        self,
        config: PipelineConfig = PipelineConfig(),
        detector=None,
        lifter: Optional[Lifter] = None,
    ) -> None:
        self.config = config.validate()
        self.lifter = lifter or Lifter.load(config.checkpoint, config.device, config.precision)
        self.lifter.mirror_average = config.mirror_average
        self._detector = detector
        self.tracker = Tracker(
            config.tracker_min_iou, config.tracker_max_age, config.tracker_min_hits
        )
        self.smoother = Smoother(config.smoothing_alpha) if config.smoothing_alpha < 1.0 else None
        self._index = 0
        self._size: Optional[Tuple[int, int]] = None  # the image size of the current sequence
        self._distortion: Tuple[object, Optional[str]] = (None, None)  # (camera key, problem)
        self._intrinsics: Tuple[object, Intrinsics, np.ndarray] = (
            None,
            None,
            None,
        )  # (key, intrinsics, K)

    @property
    def detector(self):
        """The 2D detector, built on first use (BlazePose through LiteRT by default)."""
        if self._detector is None:
            from pose_lifting_core.detection.blazepose import BlazePoseDetector

            c = self.config
            self._detector = BlazePoseDetector(
                model_complexity=c.landmark_model,
                max_people=c.max_people,
                min_score=c.min_person_score,
                num_threads=c.detector_threads,
                person_detector=c.person_detector,
                track=c.track,
            )
        return self._detector

    def reconfigure(self, config: PipelineConfig) -> None:
        """Take new settings (run-time parameter updates) without a new lifter, detector or
        tracker: ids keep counting and the next frame costs what a normal one does. Settings
        the detector was built with and cannot change in place (models, threads) need a new
        PoseEstimator."""
        config = config.validate()
        fixed = (
            "checkpoint",
            "device",
            "precision",
            "landmark_model",
            "person_detector",
            "detector_threads",
        )
        changed = [f for f in fixed if getattr(config, f) != getattr(self.config, f)]
        if changed:
            raise ValueError(f"cannot change {', '.join(changed)} at run time")
        self.config = config
        self.lifter.mirror_average = config.mirror_average
        self.tracker.min_iou, self.tracker.max_age = config.tracker_min_iou, config.tracker_max_age
        self.tracker.min_hits = config.tracker_min_hits
        if config.smoothing_alpha >= 1.0:
            self.smoother = None
        elif self.smoother is None or self.smoother.alpha != config.smoothing_alpha:
            self.smoother = Smoother(config.smoothing_alpha)
        if self._detector is not None:
            for attr, value in (
                ("max_people", config.max_people),
                ("min_score", config.min_person_score),
                ("track", config.track),
            ):
                if hasattr(self._detector, attr):
                    setattr(self._detector, attr, value)
        self._intrinsics = (None, None, None)  # the field-of-view prior may have changed

    def reset(self) -> None:
        """Start a new sequence (tracks and detector tracking state cleared; ids keep counting,
        so none is reused)."""
        self._forget_tracks()
        self._index = 0
        self._size = None

    def _forget_tracks(self) -> None:
        """Clear what links frames: tracks, the detector's tracked regions, smoothing state."""
        self.tracker.reset()
        if self.smoother is not None:
            self.smoother = Smoother(self.config.smoothing_alpha)
        if self._detector is not None and hasattr(self._detector, "reset"):
            self._detector.reset()

    def _sequence_of(self, width: int, height: int) -> None:
        """Frames of another image size are another camera (or a folder's other photo): tracks
        never link them. A change of size clears the tracks, the detector's tracked regions and
        the smoothing (ids keep counting; frame indices go on)."""
        size = (int(width), int(height))
        if self._size is not None and size != self._size:
            self._forget_tracks()
        self._size = size

    def process(
        self,
        image: np.ndarray,
        K: Optional[np.ndarray] = None,
        time_s: Optional[float] = None,
        distortion: Optional[Tuple[str, np.ndarray]] = None,
    ) -> FrameResult:
        """One RGB (H, W, 3) uint8 image (grey accepted) -> FrameResult. K (3, 3) is this
        frame's (None: the prior for this image's size); distortion: (model, D) of the camera;
        with non-zero D the keypoints are undistorted before lifting (with K). A frame of
        another size than the last starts a new sequence (`_sequence_of`)."""
        t0 = time.perf_counter()
        h, w = image.shape[:2]
        self._sequence_of(w, h)
        people = self.detector.detect(image)[: self.config.max_people]
        t1 = time.perf_counter()
        if people:
            layout = people[0].layout
            kp = np.stack([p.keypoints for p in people])
            sc = np.stack([p.scores for p in people])
            boxes = np.stack([p.box for p in people])
            scores = np.array([p.score for p in people])
        else:
            layout, kp, sc, boxes, scores = (
                self.detector.layout,
                None,
                None,
                np.zeros((0, 4)),
                np.zeros(0),
            )
        res = self._lift(kp, sc, layout, boxes, scores, K, (w, h), time_s, distortion=distortion)
        res.timing = {"detect_s": t1 - t0, **res.timing}
        return res

    def process_keypoints(
        self,
        keypoints: np.ndarray,
        scores: Optional[np.ndarray],
        layout: str,
        image_size: Tuple[int, int],
        K: Optional[np.ndarray] = None,
        time_s: Optional[float] = None,
        ids: Optional[np.ndarray] = None,
        distortion: Optional[Tuple[str, np.ndarray]] = None,
        person_scores: Optional[np.ndarray] = None,
    ) -> FrameResult:
        """Bring your own detector: keypoints (N, J, 2) px of `layout`, scores (N, J) or None.

        person_scores (N,): the detector's confidence per person; where it is 0 or absent (a
        detector that does not fill it) the person's mean keypoint confidence stands in. People
        under `min_person_score` are dropped and at most `max_people` of the highest are lifted.
        ids (N,): the detector's own track ids; used when all are > 0 and distinct, else ids come
        from the tracker (so no two people of a frame share an id). image_size (width, height)
        px, (0, 0) where not stated (K must then be usable); an implausible stated size
        (camera.stated_image_size_problem: 1x1, 1e15) raises ValueError naming it."""
        if any(image_size):
            problem = stated_image_size_problem(*image_size)
            if problem is not None:
                raise ValueError(problem)
        self._sequence_of(*image_size)
        kp = np.asarray(keypoints, dtype=np.float64).reshape((-1,) + np.shape(keypoints)[-2:])
        sc = None if scores is None else np.asarray(scores, dtype=np.float64)
        k17, c17 = to_skeleton17(kp, sc, layout)
        mean_conf = c17.mean(-1) if len(kp) else np.zeros(0)
        ps = (
            mean_conf
            if person_scores is None
            else np.asarray(person_scores, dtype=np.float64).reshape(-1)
        )
        if len(ps) != len(kp):
            raise ValueError(f"{len(ps)} person scores for {len(kp)} people")
        ps = np.where(np.isfinite(ps) & (ps > 0), np.clip(ps, 0.0, 1.0), mean_conf)
        keep = np.flatnonzero(ps >= self.config.min_person_score)
        keep = keep[np.argsort(-ps[keep], kind="stable")][: self.config.max_people]
        ids = None if ids is None else np.asarray(ids).reshape(-1)
        own = None
        if ids is not None and len(ids) == len(kp):
            own = ids[keep]
            if not ((own > 0).all() and len(np.unique(own)) == len(own)):
                own = None
        kp, k17, c17 = kp[keep], k17[keep], c17[keep]
        sc = None if sc is None else sc[keep]
        return self._lift(
            kp,
            sc,
            layout,
            _boxes(k17, c17),
            ps[keep],
            K,
            image_size,
            time_s,
            own,
            (k17, c17),
            distortion,
        )

    def _resolve_intrinsics(
        self, K: Optional[np.ndarray], w: int, h: int
    ) -> Tuple[Intrinsics, np.ndarray]:
        """resolve_intrinsics and its K matrix, kept while K and the image size stay the same."""
        Ka = None if K is None else np.asarray(K, dtype=np.float64)
        key = (None if Ka is None else (Ka.shape, Ka.tobytes()), w, h)
        cached_key, intr, K_used = self._intrinsics
        if key != cached_key:
            intr = resolve_intrinsics(K, w, h, self.config.hfov_deg)
            K_used = intr.K
            K_used.setflags(write=False)  # shared by every frame until K or the size changes
            self._intrinsics = (key, intr, K_used)
        return intr, K_used

    def distortion_problem(
        self, distortion: Tuple[str, np.ndarray], K: np.ndarray, w: int, h: int
    ) -> Optional[str]:
        """camera.distortion_problem for this camera, remembered while the camera stays the
        same (the nodes ask every frame, to warn; `_lift` asks before undistorting)."""
        model, D = distortion
        K = np.asarray(K, dtype=np.float64)
        key = (model, np.asarray(D, dtype=np.float64).tobytes(), K.tobytes(), w, h)
        if self._distortion[0] != key:
            self._distortion = (key, distortion_problem(model, D, K, w, h))
        return self._distortion[1]

    def _lift(
        self,
        kp,
        sc,
        layout,
        boxes,
        scores,
        K,
        image_size,
        time_s,
        own_ids=None,
        converted=None,
        distortion=None,
    ) -> FrameResult:
        t0 = time.perf_counter()
        w, h = image_size
        intr, K = self._resolve_intrinsics(K, w, h)
        persons: List[Person3D] = []
        dropped: Dict[str, int] = {}
        tentative = 0
        t2 = t0
        if kp is not None and len(kp):
            k17, c17 = converted if converted is not None else to_skeleton17(kp, sc, layout)
            if (
                distortion is not None
                and not intr.estimated
                and self.distortion_problem(distortion, K, w, h) is None
            ):
                k17 = undistort_pixels(k17, K, distortion[1], distortion[0])
            c17 = np.where(c17 >= self.config.min_keypoint_score, c17, 0.0)
            out = self.lifter.estimate(k17, c17, K)
            t2 = time.perf_counter()
            reasons = plausibility.implausible(
                out.joints_3d, k17, c17, out.reprojection_error_px, self.config.max_distance_m
            )
            ok = reasons == ""
            dropped = plausibility.count(reasons)
            if own_ids is not None:
                ids = own_ids[ok]
            elif self.config.track:
                distance = np.linalg.norm(out.joints_3d[ok, 0], axis=-1)  # the pelvis's
                ids = self.tracker.update(boxes[ok], distance, time_s)
                tentative = int((ids == 0).sum())  # new, not yet seen in min_hits frames
                ok[np.flatnonzero(ok)[ids == 0]] = False
                ids = ids[ids > 0]
            else:
                ids = np.arange(1, ok.sum() + 1)
            joints = out.joints_3d[ok]
            if self.smoother is not None:
                joints = self.smoother(ids, joints)
            idx = np.flatnonzero(ok)
            persons = [
                Person3D(
                    int(i),
                    float(scores[j]),
                    boxes[j],
                    k17[j],
                    c17[j],
                    joints[n],
                    float(out.reprojection_error_px[j]),
                )
                for n, (i, j) in enumerate(zip(ids, idx))
            ]
        elif self.config.track:
            self.tracker.update(np.zeros((0, 4)), time_s=time_s)
        t3 = time.perf_counter()
        res = FrameResult(
            self._index,
            float(self._index if time_s is None else time_s),
            intr,
            (int(w), int(h)),
            persons,
            {"lift_solve_s": t2 - t0, "track_s": t3 - t2, "lift_solve_track_s": t3 - t0},
            dropped,
            tentative,
        )
        self._index += 1
        return res


def _boxes(kp: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """Boxes (N, 4) around the confident keypoints (N, J, 2)."""
    valid = conf[..., None] > 0
    lo = np.where(valid, kp, np.inf).min(1)
    hi = np.where(valid, kp, -np.inf).max(1)
    return np.where(np.isfinite(np.concatenate([lo, hi], -1)), np.concatenate([lo, hi], -1), 0.0)


def intrinsics_to_dict(intr: Intrinsics) -> Dict[str, object]:
    """{"fx", "fy", "cx", "cy" (pixels), "estimated"}: the JSON form of intrinsics."""
    return {
        "fx": intr.fx,
        "fy": intr.fy,
        "cx": intr.cx,
        "cy": intr.cy,
        "estimated": intr.estimated,
    }


def frame_to_dict(frame: FrameResult) -> Dict[str, object]:
    """The JSON form of a frame: {"index", "time_s", "image_size": [width, height] px,
    "intrinsics": {"fx", "fy", "cx", "cy", "estimated"} (this frame's: a folder's images may
    differ), "persons": [...]} (README, "Images and video")."""
    return {
        "index": frame.index,
        "time_s": round(frame.time_s, 6),
        "image_size": [int(frame.image_size[0]), int(frame.image_size[1])],
        "intrinsics": intrinsics_to_dict(frame.intrinsics),
        "persons": [
            {
                "id": p.id,
                "score": round(p.score, 4),
                "reprojection_error_px": round(p.reprojection_error_px, 3),
                "joints": {
                    n: [round(float(v), 4) for v in p.joints_3d[j]]
                    for j, n in enumerate(JOINT_NAMES)
                },
                "keypoints_2d": {
                    n: [
                        round(float(p.keypoints_2d[j, 0]), 2),
                        round(float(p.keypoints_2d[j, 1]), 2),
                        round(float(p.confidence[j]), 3),
                    ]
                    for j, n in enumerate(JOINT_NAMES)
                },
            }
            for p in frame.persons
        ],
    }
