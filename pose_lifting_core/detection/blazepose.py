"""BlazePose (MediaPipe Pose) run through LiteRT: multi-person 33-keypoint 2D detection.

Owns: the two-stage BlazePose pipeline re-implemented on numpy + OpenCV + LiteRT, following
MediaPipe's pose graphs (pose_detection, pose_detection_to_roi, pose_landmark_by_roi,
pose_landmarks_to_roi):

1. Person proposals. The BlazePose person detector (224x224 SSD, 2254 anchors) on the
   letterboxed image gives, per person, a face box and two alignment points: the mid-hip centre
   and a point whose offset from it encodes the body's size and rotation. Optionally OpenCV's
   HOG people detector adds upright-person boxes (it finds the small people in wide views
   that the BlazePose detector misses).
2. Landmarks. Each proposal becomes a rotated square region of interest (ROI) centred on the
   hips, turned so the body is upright and enlarged 1.25x; a 256x256 crop of it goes through the
   landmark model (lite/full/heavy), whose 39 landmarks (33 body + 2 auxiliary alignment points
   + 4 unused) are refined on the model's heatmap and mapped back to image pixels.

People whose torso (shoulders and hips) is not confidently seen are dropped; the same person
found by two proposals is kept once. In tracking mode (`track=True`, for video) the ROI of each
person in the next frame comes from this frame's auxiliary landmarks (or stays as it is while the
person's crop does not change: a still person gives one result), so the detectors run only
every `redetect_every` frames, when a tracked region's scale creeps, or after a person is lost;
their proposals find new people and re-anchor the tracks whose region crept, and a proposal
overlapping a track whose region kept its scale is not run.
While anyone is tracked they run beside the following frames, each in its own low-priority
worker thread, and their proposals join the first later frame in which they are done (the
BlazePose detector's the next frame, HOG's, ten times the cost and run only every
`_HOG_EVERY_FRAMES` frames or after a loss, `_HOG_LAG_FRAMES` later), so no frame waits for a
search and frame times have no detector spikes. A frame runs the BlazePose detector itself only
where waiting costs more: the first frame of a sequence, with nobody tracked, after a loss, or
when a region crept by `_ROI_MAX_SCALE_CHANGE` before a proposal re-anchored it; HOG runs in the
frame only on the first (with `person_detector="hog"` alone there is no creep re-anchoring).

Uses cv2 only for resizing, colour conversion, affine warps and the HOG detector.
"""

from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import numpy as np

from pose_lifting_core.detection import DetectorError, Person2D, image_size_problem
from pose_lifting_core.detection.models import LANDMARK_MODELS, model_path
from pose_lifting_core.tracking import box_iou as pairwise_iou

LAYOUT = "blazepose33"
NUM_KEYPOINTS = 33
TORSO = (11, 12, 23, 24)  # left/right shoulder, left/right hip
PERSON_DETECTORS = ("blazepose", "hog", "both")

# Person detector (MediaPipe pose_detection graph options).
_ANCHOR_STRIDES = (8, 16, 32, 32, 32)
_ANCHORS_PER_LAYER = 2  # aspect ratio 1.0 plus the interpolated-scale anchor, fixed size
_SCORE_CLIP = 100.0
_NMS_IOU = 0.3
# ROI from alignment points (pose_detection_to_roi / pose_landmarks_to_roi).
_ROI_SCALE = 1.25
# Landmark heatmap refinement (RefineLandmarksFromHeatmap options).
_HEATMAP_KERNEL = 7
_HEATMAP_MIN_CONF = 0.5
# HOG people detector: the 64x128 window holds a person about 96 px tall. People in wide views
# are often smaller, so the image is enlarged first; the ROI side is this many box heights.
_HOG_UPSCALE = 1.6
_HOG_ROI_PER_HEIGHT = 1.0
_HOG_MIN_WEIGHT = 0.3
_HOG_NMS_IOU = 0.5
_HOG_SCALE_STEP = 1.1
_HOG_MAX_PIXELS = 640 * 480  # larger images are searched scaled down to this area
# In tracking mode the HOG search starts on a re-detection frame at least this many frames
# after the last one (one second at 30 Hz: how long a new person only HOG finds can wait), or
# at once when a person was lost...
_HOG_EVERY_FRAMES = 30
# ...and its proposals join the first frame at least this many frames later in which it is
# done (a frame never waits for it); the BlazePose detector's join the next frame.
_HOG_LAG_FRAMES = 8
# A proposal whose ROI overlaps a kept person's ROI by more than this is not run again.
_ROI_MATCH_IOU = 0.4
# A tracked ROI (from the previous frame's landmarks) whose side differs by more than this
# fraction from its side right after the last detector proposal starts the proposal detectors
# beside the frames...
_ROI_EARLY_SCALE_CHANGE = 0.1
# ...and by more than this, before they re-anchored it, runs them in the frame: landmarks
# feeding their own crop let it creep (a static person drifted from 2.4 m to 1.4 m in 30 frames).
_ROI_MAX_SCALE_CHANGE = 0.2
# A tracked person whose crop is the same as in the previous frame (while held: as when they
# stopped, so slow motion adds up), within this mean absolute difference per pixel and channel
# (0-255 levels: about a camera's noise), is still, and keeps the crop for the next frame
# instead of the one its landmarks give. On a still person the
# landmarks of one crop give a slightly different crop, whose landmarks give another: followed
# every frame, the crop of a person cut off by the frame edge wandered (turning by 15 degrees
# and growing by 15 % in six frames), and with it the invented legs and the distance (2.35-2.90 m
# on twenty identical frames). A moving person's crop changes, and follows the landmarks.
_STILL_LEVELS = 2.0
# Two results whose nose/shoulder/hip keypoints are on average closer than this fraction of
# the ROI side are the same person.
_SAME_PERSON_DIST = 0.1


@dataclass(frozen=True)
class Roi:
    """A rotated square region: centre (cx, cy) and side `size` in pixels; `angle` in radians
    is how far the body is turned clockwise on screen from upright (the crop turns it back)."""

    cx: float
    cy: float
    size: float
    angle: float

    def box(self) -> np.ndarray:
        """(4,) axis-aligned x0, y0, x1, y1 of the unrotated square, pixels."""
        h = self.size / 2
        return np.array([self.cx - h, self.cy - h, self.cx + h, self.cy + h])


def _creep(roi: Roi, anchor: float) -> float:
    """How far a tracked region's side has moved from its anchor (the side right after its last
    detector proposal), as a fraction of the anchor."""
    return abs(roi.size / max(anchor, 1e-9) - 1.0)


def _background_priority() -> None:
    """Give the calling thread a low scheduling priority (Linux threads have their own nice
    value), so the frames in the foreground get the CPU first; a no-op where unsupported."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


class _Background:
    """One search at a time in its own low-priority worker thread. `poll()`, called once per
    frame, hands over the result in the first frame at least `lag` frames after the start in
    which the search is done, so a frame never waits for it."""

    def __init__(self, name: str, lag: int):
        self.name, self.lag = name, lag
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pending: Optional[Tuple[Future, int]] = None  # (search, frames since its start)

    @property
    def busy(self) -> bool:
        """A search was started and its result not yet handed over."""
        return self._pending is not None

    def _worker(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                1, thread_name_prefix=self.name, initializer=_background_priority
            )
        return self._pool

    def start(self, fn, *args) -> None:
        """Run fn(*args) in the worker; its result comes from a later `poll()`."""
        self._pending = (self._worker().submit(fn, *args), 0)

    def run_now(self, fn, *args):
        """fn(*args), waited for: in the worker, after any search still running there (one at a
        time), once the worker exists."""
        return fn(*args) if self._pool is None else self._pool.submit(fn, *args).result()

    def poll(self) -> list:
        """The finished search's result if it is due now, else []."""
        if self._pending is None:
            return []
        search, waited = self._pending[0], self._pending[1] + 1
        self._pending = (search, waited)
        if waited < self.lag or not search.done():
            return []
        self._pending = None
        return search.result()

    def drop(self) -> None:
        """Forget the search still running (it belongs to an old sequence)."""
        self._pending = None


def roi_from_alignment(
    center: np.ndarray, scale_point: np.ndarray, scale: float = _ROI_SCALE
) -> Roi:
    """ROI from two alignment points in pixels, as MediaPipe's AlignmentPointsRects +
    RectTransformation do: side = 2 |scale_point - center| * scale, rotation such that the
    vector centre -> scale point points up in the crop."""
    dx, dy = float(scale_point[0] - center[0]), float(scale_point[1] - center[1])
    size = 2.0 * math.hypot(dx, dy) * scale
    angle = math.pi / 2 - math.atan2(-dy, dx)
    angle = (angle + math.pi) % (2 * math.pi) - math.pi
    return Roi(float(center[0]), float(center[1]), size, angle)


def ssd_anchors(input_size: int, strides: Sequence[int] = _ANCHOR_STRIDES) -> np.ndarray:
    """(N, 2) SSD anchor centres in input-tensor pixels, in the model's output order
    (fixed-size anchors; consecutive layers with equal stride share one feature map)."""
    out = []
    i = 0
    while i < len(strides):
        stride, per_cell = strides[i], 0
        while i < len(strides) and strides[i] == stride:
            per_cell += _ANCHORS_PER_LAYER
            i += 1
        fm = int(math.ceil(input_size / stride))
        ys, xs = np.meshgrid(np.arange(fm), np.arange(fm), indexing="ij")
        centres = np.stack([(xs + 0.5) / fm, (ys + 0.5) / fm], -1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out) * input_size


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box a (4,) with boxes b (N, 4), x0 y0 x1 y1 (tracking.box_iou, one row)."""
    return pairwise_iou(np.asarray(a)[None], b)[0]


def weighted_nms(
    boxes: np.ndarray, points: np.ndarray, scores: np.ndarray, iou: float = _NMS_IOU
) -> List[Tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression.

    boxes (N, 4), points (N, K, 2), scores (N,). Going down the scores, each detection absorbs
    the rest that overlap it by IoU > `iou`; boxes and points of a group are averaged weighted
    by score, and the group keeps its best score. Returns [(box, points, score)], best first.
    """
    remaining = np.argsort(-scores, kind="stable")
    out = []
    while remaining.size:
        merge = box_iou(boxes[remaining[0]], boxes[remaining]) > iou
        merge[0] = True  # also for a degenerate (zero-area) box
        group = remaining[merge]
        w = scores[group] / max(float(scores[group].sum()), 1e-12)
        out.append(
            (
                (boxes[group] * w[:, None]).sum(0),
                (points[group] * w[:, None, None]).sum(0),
                float(scores[remaining[0]]),
            )
        )
        remaining = remaining[~merge]
    return out


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> List[int]:
    """Plain non-maximum suppression: indices of the kept boxes (N, 4), best score first."""
    remaining = np.argsort(-scores, kind="stable")
    keep = []
    while remaining.size:
        keep.append(int(remaining[0]))
        drop = box_iou(boxes[remaining[0]], boxes[remaining]) > iou
        drop[0] = True
        remaining = remaining[~drop]
    return keep


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Check an image and return it as a contiguous (H, W, 3) uint8 RGB array.

    Accepts (H, W, 3) uint8 RGB, and grey (H, W) or (H, W, 1) uint8, which is replicated.
    Raises DetectorError naming the problem (not an array, wrong dtype, shape, empty).
    """
    if not isinstance(image, np.ndarray):
        raise DetectorError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise DetectorError(f"image dtype must be uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise DetectorError(f"image shape must be HxWx3 (RGB) or HxW (grey), got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise DetectorError(f"image is empty (shape {image.shape})")
    too_big = image_size_problem(image.shape[1], image.shape[0])
    if too_big:
        raise DetectorError(too_big)
    return np.ascontiguousarray(image)


class _Model:
    """A LiteRT interpreter with its input read from the model (float32 NHWC expected)."""

    def __init__(self, path: str, num_threads: int):
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interp = Interpreter(model_path=path, num_threads=num_threads)
            self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise DetectorError(f"model file {path} could not be loaded (corrupt?): {e}")
        inp = self.interp.get_input_details()
        if len(inp) != 1 or len(inp[0]["shape"]) != 4 or inp[0]["dtype"] != np.float32:
            raise DetectorError(
                f"model file {path}: expected one float32 NHWC input, got "
                f"{[(d['shape'].tolist(), d['dtype'].__name__) for d in inp]}"
            )
        self.path = path
        self.input_index = inp[0]["index"]
        _, self.height, self.width, _ = (int(v) for v in inp[0]["shape"])
        self.outputs = self.interp.get_output_details()

    def run(self, tensor: np.ndarray) -> List[np.ndarray]:
        """tensor (H, W, 3) float32 -> the outputs, in the order of the output details."""
        self.interp.set_tensor(self.input_index, tensor[None])
        self.interp.invoke()
        return [self.interp.get_tensor(d["index"]) for d in self.outputs]

    def output_by_shape(self, pred) -> int:
        """Index (into `outputs`) of the one output whose shape satisfies pred(shape)."""
        hits = [i for i, d in enumerate(self.outputs) if pred(tuple(int(v) for v in d["shape"]))]
        if len(hits) != 1:
            raise DetectorError(
                f"model file {self.path}: unexpected outputs "
                f"{[d['shape'].tolist() for d in self.outputs]}"
            )
        return hits[0]


@dataclass
class _Result:
    """One landmark-model result: all 39 landmarks in pixels and the person's scores."""

    roi: Roi
    points: np.ndarray  # (L, 2) pixels, L >= 35 (33 body + 2 auxiliary)
    scores: np.ndarray  # (33,)
    presence: float
    anchor: float = 0.0  # the track's ROI side right after its last detector proposal
    still: bool = False  # the crop is the track's earlier one, within _STILL_LEVELS
    next_crop: Optional[np.ndarray] = None  # the crop of follow_roi() to compare the next with

    def torso_score(self) -> float:
        return float(self.scores[list(TORSO)].mean())

    def next_roi(self) -> Roi:
        """The ROI the auxiliary hip-centre and scale points give."""
        return roi_from_alignment(self.points[33], self.points[34])

    def follow_roi(self) -> Roi:
        """The ROI for the next frame: this one while the person is still (their crop unchanged:
        one crop, so one result), else the one the landmarks give."""
        return self.roi if self.still else self.next_roi()


_Region = Tuple[Roi, float, Optional[np.ndarray]]
"""A tracked region for this frame: (ROI, its anchored side in pixels, the track's earlier crop
of it or None), as `_Result.follow_roi`, `_Result.anchor` and `_Result.next_crop` give."""


@dataclass(frozen=True)
class _Plan:
    """Which proposal detectors one `detect` call runs (`BlazePoseDetector._plan`).

    due: the proposal detectors are due (no tracking, a person lost, a region crept, or
    `redetect_every` frames passed); in_frame: the BlazePose detector, when due, runs in the
    frame (else beside the following frames); hog_in_frame: likewise HOG; blazepose: the
    BlazePose detector is a proposal source at all."""

    due: bool
    in_frame: bool
    hog_in_frame: bool
    blazepose: bool

    def detected(self, joined: bool, started: bool) -> bool:
        """Whether the frame counts as a detection (restarting the `redetect_every` count): a
        search's proposals joined it, or the detectors were due and ran in it, started beside
        it, or (HOG alone) have no BlazePose search to wait for."""
        return joined or (self.due and (self.in_frame or not self.blazepose or started))


@dataclass
class _Frame:
    """One `detect` call's working state: the (H, W, 3) uint8 RGB image, the people kept so
    far, and the figures of `last_timing` (seconds, counts)."""

    rgb: np.ndarray
    kept: List[_Result] = field(default_factory=list)
    from_track: Set[int] = field(default_factory=set)  # id() of kept results from a track
    t_det: float = 0.0
    t_lmk: float = 0.0
    n_det: int = 0
    n_lmk: int = 0

    def timing(self) -> Dict[str, float]:
        """The frame's `last_timing`."""
        return {
            "detector_s": self.t_det,
            "landmark_s": self.t_lmk,
            "landmark_runs": self.n_lmk,
            "detector_runs": self.n_det,
        }


class BlazePoseDetector:
    """Multi-person BlazePose 33-keypoint detector (implements `Detector`).

    model_complexity: landmark model "lite", "full" or "heavy" (or 0, 1, 2 as in MediaPipe).
    max_people: at most this many people per image.
    min_score: minimum pose presence (landmark model) for a person to be kept (MediaPipe: 0.5).
    min_detection_score: minimum BlazePose person-detector score for a proposal (MediaPipe's
        pose graph: 0.2; proposals are cheap to reject since the presence score gates them).
    num_threads: LiteRT CPU threads per model.
    person_detector: proposal source, "blazepose", "hog" or "both" (the default). HOG finds
        small people in wide views that the BlazePose detector misses, and costs about ten
        times as much (docs/DETECTION.md), so "blazepose" is the fast choice for close-range
        cameras, and `track=True` runs the proposal detectors only every `redetect_every` frames.
    min_torso_score: a person is kept only if the mean keypoint score over shoulders and hips
        reaches this.
    track: treat consecutive `detect` calls as video frames; each person's next ROI comes from
        its landmarks (held while the person is still), and the proposal detectors run only
        every `redetect_every` frames, when a region creeps, or after a person is lost, beside
        the frames while anyone is tracked.
        `reset()` starts a new sequence.
    model_dir: directory of the .tflite files (default `models.model_dir()`).

    After each `detect`, `last_timing` holds {"detector_s", "landmark_s", "landmark_runs",
    "detector_runs"} for that call (seconds, counts): detector runs in the frame and searches
    started beside the frames, detector_s the time of those in the frame.
    """

    layout: str = LAYOUT

    def __init__(
        self,
        model_complexity: Union[str, int] = "full",
        max_people: int = 10,
        min_score: float = 0.5,
        min_detection_score: float = 0.2,
        num_threads: int = 2,
        person_detector: str = "both",
        min_torso_score: float = 0.5,
        track: bool = False,
        redetect_every: int = 10,
        model_dir: Optional[str] = None,
    ):
        if isinstance(model_complexity, int) and not isinstance(model_complexity, bool):
            if not 0 <= model_complexity < len(LANDMARK_MODELS):
                raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity}")
            model_complexity = LANDMARK_MODELS[model_complexity]
        if model_complexity not in LANDMARK_MODELS:
            raise ValueError(
                f"model_complexity must be one of {LANDMARK_MODELS}, got {model_complexity!r}"
            )
        if person_detector not in PERSON_DETECTORS:
            raise ValueError(
                f"person_detector must be one of {PERSON_DETECTORS}, got {person_detector!r}"
            )
        if max_people < 1 or redetect_every < 1 or num_threads < 1:
            raise ValueError("max_people, redetect_every and num_threads must be >= 1")
        import cv2

        self.model_complexity = model_complexity
        self.max_people = int(max_people)
        self.min_score = float(min_score)
        self.min_detection_score = float(min_detection_score)
        self.min_torso_score = float(min_torso_score)
        self.person_detector = person_detector
        self.track = bool(track)
        self.redetect_every = int(redetect_every)
        self._det = _Model(model_path("detector", model_dir), num_threads)
        # the worker thread's own detector: one thread, so no thread pool of normal priority, and
        # no interpreter shared with the frames (built here: building it in the worker would
        # hold the GIL, and stall a frame, for tens of milliseconds)
        self._det_background = _Model(model_path("detector", model_dir), 1)
        self._lmk = _Model(model_path(model_complexity, model_dir), num_threads)
        self._setup_detector()
        self._setup_landmarks()
        self._hog = None
        self._det_search = _Background("detector", 1)
        self._hog_search = _Background("hog", _HOG_LAG_FRAMES)
        if person_detector in ("hog", "both"):
            self._hog = cv2.HOGDescriptor()
            self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.last_timing: Dict[str, float] = {}
        self.reset()

    # --- set-up from the models' tensor details -------------------------------------------------
    def _setup_detector(self) -> None:
        m = self._det
        if m.width != m.height:
            raise DetectorError(
                f"model file {m.path}: expected a square input, got {m.height}x{m.width}"
            )
        self._anchors = ssd_anchors(m.width)
        n = len(self._anchors)
        self._det_boxes = m.output_by_shape(lambda s: len(s) == 3 and s[1] == n and s[2] >= 12)
        self._det_scores = m.output_by_shape(lambda s: len(s) == 3 and s[1] == n and s[2] == 1)

    def _setup_landmarks(self) -> None:
        m = self._lmk
        flat = [
            i
            for i, d in enumerate(m.outputs)
            if len(d["shape"]) == 2 and int(d["shape"][1]) % 5 == 0 and d["shape"][1] > 5
        ]
        if len(flat) != 1:
            raise DetectorError(
                f"model file {m.path}: no single landmark output among "
                f"{[d['shape'].tolist() for d in m.outputs]}"
            )
        self._lmk_points = flat[0]
        self._num_landmarks = int(m.outputs[flat[0]]["shape"][1]) // 5
        if self._num_landmarks < 35:
            raise DetectorError(f"model file {m.path}: {self._num_landmarks} landmarks, need 35")
        self._lmk_flag = m.output_by_shape(lambda s: int(np.prod(s)) == 1)
        self._lmk_heatmap = m.output_by_shape(
            lambda s: len(s) == 4 and s[3] == self._num_landmarks
        )

    def reset(self) -> None:
        """Forget the tracked people (start of a new video)."""
        self._det_search.drop()  # a search still running belongs to the old sequence
        self._hog_search.drop()
        self._tracked: List[_Result] = []
        self._frames_since_detection = 0
        self._lost = True
        self._first_frame = True
        self._frames_since_hog = 0

    # --- stage 1: proposals ---------------------------------------------------------------------
    def _blazepose_proposals(
        self, rgb: np.ndarray, m: Optional[_Model] = None
    ) -> List[Tuple[Roi, float]]:
        """BlazePose person-detector proposals in an (H, W, 3) RGB image, as ROIs (pixels) with
        their scores, through model `m` (default: the frame's own detector)."""
        import cv2

        m = m or self._det
        h, w = rgb.shape[:2]
        s = m.width / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        ox, oy = (m.width - nw) // 2, (m.height - nh) // 2
        if s <= 0.25:  # HD: halve first (OpenCV's fast exact 2x box), the area step then costs
            # a third (10 -> 3.4 ms from 1920x1080); pixels differ from one area step by ~0.2/255
            rgb = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        small = cv2.resize(
            rgb, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        )
        canvas = np.zeros((m.height, m.width, 3), np.float32)
        canvas[oy : oy + nh, ox : ox + nw] = small.astype(np.float32) * (2.0 / 255.0) - 1.0
        outs = m.run(canvas)
        raw = outs[self._det_boxes][0]
        scores = _sigmoid(np.clip(outs[self._det_scores][0, :, 0], -_SCORE_CLIP, _SCORE_CLIP))
        keep = scores >= self.min_detection_score
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        # Tensor pixels (box centre/keypoints are offsets from the anchor centre) -> image pixels.
        sx, sy = nw / w, nh / h

        def to_img(p: np.ndarray) -> np.ndarray:
            return np.stack([(p[..., 0] - ox) / sx - 0.5, (p[..., 1] - oy) / sy - 0.5], -1)

        centre = to_img(raw[:, 0:2] + anchors)
        half = np.stack([raw[:, 2] / sx, raw[:, 3] / sy], -1) / 2
        boxes = np.concatenate([centre - half, centre + half], 1)
        nk = (raw.shape[1] - 4) // 2
        kps = to_img(raw[:, 4 : 4 + 2 * nk].reshape(-1, nk, 2) + anchors[:, None, :])
        return [
            (roi_from_alignment(k[0], k[1]), sc) for _, k, sc in weighted_nms(boxes, kps, scores)
        ]

    def _hog_proposals(self, image: np.ndarray) -> List[Tuple[Roi, float]]:
        """HOG people boxes in an (H, W, 3) RGB or (H, W) grey image, as square ROIs (pixels)
        with their SVM weights. Touches nothing but the HOG descriptor, so it can run in the
        worker thread."""
        import cv2

        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        # the search runs on at most _HOG_MAX_PIXELS (before the upscale): its cost, which grows
        # with the area, stays that of a 640x480 image at HD and beyond
        h, w = grey.shape
        up = _HOG_UPSCALE * min(1.0, float(np.sqrt(_HOG_MAX_PIXELS / (w * h))))
        if up != 1.0:
            interp = cv2.INTER_LINEAR if up > 1.0 else cv2.INTER_AREA
            grey = cv2.resize(grey, None, fx=up, fy=up, interpolation=interp)
        win_w, win_h = self._hog.winSize
        if grey.shape[0] < win_h or grey.shape[1] < win_w:
            return []  # smaller than one detection window (OpenCV crashes on these)
        rects, weights = self._hog.detectMultiScale(
            grey, winStride=(8, 8), padding=(8, 8), scale=_HOG_SCALE_STEP
        )
        if len(rects) == 0:
            return []
        rects = np.asarray(rects, np.float64) / up
        weights = np.asarray(weights, np.float64).reshape(-1)
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], 1)
        out = []
        for i in nms(boxes, weights, iou=_HOG_NMS_IOU):
            if weights[i] < _HOG_MIN_WEIGHT:
                continue
            box, wt = boxes[i], weights[i]
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            out.append(
                (Roi(cx - 0.5, cy - 0.5, (box[3] - box[1]) * _HOG_ROI_PER_HEIGHT, 0.0), float(wt))
            )
        return out

    # --- stage 2: landmarks ---------------------------------------------------------------------
    def _crop(self, rgb: np.ndarray, roi: Roi) -> Tuple[np.ndarray, np.ndarray]:
        """The landmark model's input crop of `roi` in `rgb`, and the affine (2, 3) matrix that
        takes a crop pixel (u, v, 1) to image pixels."""
        import cv2

        m = self._lmk
        c, s = math.cos(roi.angle), math.sin(roi.angle)
        a = (roi.size / m.width) * np.array([[c, -s], [s, c]])
        centre = np.array([roi.cx, roi.cy])
        half = np.array([m.width / 2, m.height / 2])
        # crop pixel (u, v) -> image pixel: centre + a @ ((u, v) + 0.5 - half)
        mat = np.hstack([a, (centre + a @ (0.5 - half))[:, None]])
        crop = cv2.warpAffine(
            rgb,
            mat,
            (m.width, m.height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        return crop, mat

    def _landmarks(
        self, rgb: np.ndarray, roi: Roi, before: Optional[np.ndarray] = None
    ) -> _Result:
        """The landmark model on `roi` of `rgb`; `before`: the track's earlier crop of the same
        ROI, to tell whether the person is still (`_Result.still`)."""
        import cv2

        m = self._lmk
        crop, mat = self._crop(rgb, roi)
        outs = m.run(crop.astype(np.float32) * (1.0 / 255.0))
        lm = outs[self._lmk_points].reshape(self._num_landmarks, 5).astype(np.float64)
        xy = self._refine(lm[:, :2], outs[self._lmk_heatmap][0])
        points = (xy - 0.5) @ mat[:, :2].T + mat[:, 2]
        scores = np.minimum(_sigmoid(lm[:NUM_KEYPOINTS, 3]), _sigmoid(lm[:NUM_KEYPOINTS, 4]))
        presence = float(np.ravel(outs[self._lmk_flag])[0])
        res = _Result(roi, points, scores, presence)
        if before is not None and before.shape == crop.shape:
            res.still = float(cv2.absdiff(crop, before).mean()) < _STILL_LEVELS
            if res.still:  # compared with the crop of when the person stopped: no slow drift
                res.next_crop = before
        return res

    def _refine(self, xy: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
        """Refine (L, 2) crop-pixel landmarks on the (h, w, L) heatmap logits: within a 7x7
        window around each landmark, the sigmoid-weighted mean cell position replaces the
        regressed one where the window's peak confidence reaches 0.5 (MediaPipe's
        RefineLandmarksFromHeatmap)."""
        hh, hw, nl = heatmap.shape
        cell = np.array([self._lmk.width / hw, self._lmk.height / hh])
        col_row = np.floor(xy / cell).astype(int)
        inside = ((col_row >= 0) & (col_row < [hw, hh])).all(1)
        r = _HEATMAP_KERNEL // 2
        pad = np.pad(heatmap, ((r, r), (r, r), (0, 0)), constant_values=-np.inf)
        off = np.arange(-r, r + 1)
        cr = np.clip(col_row, 0, [hw - 1, hh - 1])
        rows = (cr[:, 1, None] + off + r)[:, :, None]
        cols = (cr[:, 0, None] + off + r)[:, None, :]
        conf = _sigmoid(pad[rows, cols, np.arange(nl)[:, None, None]])  # (L, k, k)
        total = conf.sum((1, 2))
        peak = conf.max((1, 2))
        mean_col = (conf.sum(1) * (cr[:, 0, None] + off)).sum(1) / np.maximum(total, 1e-12)
        mean_row = (conf.sum(2) * (cr[:, 1, None] + off)).sum(1) / np.maximum(total, 1e-12)
        # Cell index times cell size, as MediaPipe decodes it: on these models the refined points
        # then agree with the regressed ones on average (a +0.5 cell offset would shift them
        # by ~1.7 crop pixels).
        refined = np.stack([mean_col, mean_row], 1) * cell
        use = inside & (peak >= _HEATMAP_MIN_CONF) & (total > 0)
        return np.where(use[:, None], refined, xy)

    # --- people ---------------------------------------------------------------------------------
    def _accept(self, res: _Result) -> bool:
        return res.presence >= self.min_score and res.torso_score() >= self.min_torso_score

    @staticmethod
    def _same_person(a: _Result, b: _Result) -> bool:
        idx = [0, *TORSO]
        d = np.linalg.norm(a.points[idx] - b.points[idx], axis=1).mean()
        return d < _SAME_PERSON_DIST * max(a.roi.size, b.roi.size)

    def _to_person(self, res: _Result, shape: Tuple[int, int]) -> Person2D:
        kp = res.points[:NUM_KEYPOINTS]
        h, w = shape
        lo = np.clip(kp.min(0), 0, [w - 1, h - 1])
        hi = np.clip(kp.max(0), 0, [w - 1, h - 1])
        return Person2D(
            keypoints=kp,
            scores=res.scores,
            box=np.concatenate([lo, hi]),
            score=res.presence,
            layout=LAYOUT,
        )

    def detect(self, image: np.ndarray) -> List[Person2D]:
        """People in `image` ((H, W, 3) uint8 RGB, or (H, W) / (H, W, 1) grey), most confident
        first; keypoints in pixels. Raises DetectorError for an unusable image.

        One frame: decide from the tracks what runs (`_plan`), take the proposals that are due
        or run in the frame, run the landmark model on the tracked regions and the proposals
        (`_run_regions`), start the searches that run beside the following frames, and keep
        this frame's people as the tracks of the next."""
        frame = _Frame(as_rgb(image))
        tracked = self._tracked if self.track else []
        follow = [
            (prev.follow_roi(), prev.anchor, prev.next_crop)
            for prev in sorted(tracked, key=lambda r: -r.presence)
        ]
        plan = self._plan(follow)
        proposals, hog, joined = self._take_proposals(frame, plan)
        self._run_regions(frame, follow, proposals, hog)
        # searches start once this frame's own work is done, so that they share the CPU with
        # the frames that follow and not with this one
        started = self._start_detector_search(frame, plan, joined)
        self._start_hog_search(frame, plan)
        self._update_tracks(frame, tracked, plan.detected(joined, started))
        self.last_timing = frame.timing()
        return [self._to_person(r, frame.rgb.shape[:2]) for r in frame.kept]

    def _plan(self, follow: List[_Region]) -> _Plan:
        """Which proposal detectors this frame needs, from the tracked regions `follow` (as
        `_run_regions` takes them) and the tracking state.

        The searches run beside the following frames while the tracks carry the people. The
        frame waits for the BlazePose detector on the first frame, with nobody tracked or after
        a loss (someone is missing until it is done), and when a region crept too far before a
        search started early re-anchored it (the person's distance creeps with it). HOG runs in
        the frame only on the first; without tracking, every detector runs in every frame."""
        creep = max((_creep(roi, anchor) for roi, anchor, _ in follow), default=0)
        return _Plan(
            due=(
                not self.track
                or self._lost
                or creep > _ROI_EARLY_SCALE_CHANGE
                or self._frames_since_detection + 1 >= self.redetect_every
            ),
            in_frame=(
                not self.track or self._first_frame or self._lost or creep > _ROI_MAX_SCALE_CHANGE
            ),
            hog_in_frame=not self.track or self._first_frame,
            blazepose=self.person_detector in ("blazepose", "both"),
        )

    def _take_proposals(
        self, frame: _Frame, plan: _Plan
    ) -> Tuple[List[Tuple[Roi, float]], List[Tuple[Roi, float]], bool]:
        """This frame's person proposals, (ROI, score) from the BlazePose detector and from HOG:
        those of the searches beside earlier frames that are handed over now, and those of the
        detectors `plan` runs in the frame (their time goes to `frame.t_det`).

        Returns (BlazePose proposals, HOG proposals, joined); joined: a BlazePose search beside
        the frames handed its proposals to this frame (they re-anchor its tracks)."""
        t0 = time.perf_counter()
        if not self.track:  # tracking switched off: a search still running is of another image
            self._det_search.drop()
            self._hog_search.drop()
        searching = self._det_search.busy
        proposals = self._det_search.poll()
        joined = searching and not self._det_search.busy
        hog = self._hog_search.poll()
        if plan.due and plan.in_frame and plan.blazepose:
            proposals += self._blazepose_proposals(frame.rgb)
            frame.n_det += 1
        if plan.due and plan.hog_in_frame and self._hog is not None:
            hog += self._hog_search.run_now(self._hog_proposals, frame.rgb)
            frame.n_det += 1
        frame.t_det += time.perf_counter() - t0
        return proposals, hog, joined

    def _run_regions(
        self,
        frame: _Frame,
        follow: List[_Region],
        proposals: List[Tuple[Roi, float]],
        hog: List[Tuple[Roi, float]],
    ) -> None:
        """The landmark model on the tracked regions `follow` and the proposals, in this order
        (each skipped where it overlaps a region already kept; see `_consider`).

        Tracks whose region kept its scale first: a proposal that overlaps one (the same
        person) is then not run, and the track keeps its region (re-anchoring it on every
        proposal changed a still person's crop every re-detection, and the distance of one cut
        off by the frame edge by 20 %). Then the proposals (BlazePose ones first, their ROI is
        the one the landmark model expects), best score first: they find new people, re-anchor
        a track whose person they find in a region that overlaps the track's too little to be
        skipped, and re-anchor the tracks whose region crept in scale, which follow their
        landmarks only where none did."""
        for roi, anchor, before in follow:
            if _creep(roi, anchor) <= _ROI_EARLY_SCALE_CHANGE:
                self._consider(frame, roi, anchor, before)
        for props in (proposals, hog):
            for roi, _ in sorted(props, key=lambda p: -p[1]):
                self._consider(frame, roi, None)
        for roi, anchor, before in follow:
            if _creep(roi, anchor) > _ROI_EARLY_SCALE_CHANGE:
                self._consider(frame, roi, anchor, before)

    def _consider(
        self,
        frame: _Frame,
        roi: Roi,
        anchor: Optional[float],
        before: Optional[np.ndarray] = None,
    ) -> None:
        """Landmarks in `roi`, kept in `frame` if they are a person not kept yet.

        `anchor` is the track's anchored ROI side (None: this ROI is a detector proposal, and
        the side the landmarks give now becomes the anchor); `before`: the track's earlier crop
        of `roi` (None for a proposal). Not run when `max_people` are kept, for a degenerate
        ROI, or one overlapping a kept person's by more than `_ROI_MATCH_IOU`. A proposal that
        finds the person of a kept track replaces the track's result (re-anchors it)."""
        kept = frame.kept
        if len(kept) >= self.max_people or not roi.size >= 1.0:  # also NaN
            return
        if (
            kept
            and box_iou(roi.box(), np.stack([k.roi.box() for k in kept])).max() > _ROI_MATCH_IOU
        ):
            return
        t0 = time.perf_counter()
        res = self._landmarks(frame.rgb, roi, before)
        frame.t_lmk += time.perf_counter() - t0
        frame.n_lmk += 1
        res.anchor = res.next_roi().size if anchor is None else anchor
        if not self._accept(res):
            return
        same = [i for i, k in enumerate(kept) if self._same_person(res, k)]
        if not same:
            kept.append(res)
            if anchor is not None:
                frame.from_track.add(id(res))
        elif anchor is None and id(kept[same[0]]) in frame.from_track:
            # a proposal whose region disagrees with a track's (they overlap too little to
            # skip it) and finds the same person re-anchors the track
            frame.from_track.discard(id(kept[same[0]]))
            kept[same[0]] = res

    def _start_detector_search(self, frame: _Frame, plan: _Plan, joined: bool) -> bool:
        """Start the BlazePose detector beside the following frames where it is due, did not
        run in this frame and none is running; not in the frame that took a search's proposals
        (`joined`: its creep was measured before they re-anchored the tracks). Returns whether
        it started."""
        start = (
            plan.due
            and not plan.in_frame
            and plan.blazepose
            and not joined
            and not self._det_search.busy
        )
        if start:
            self._det_search.start(
                self._blazepose_proposals, frame.rgb.copy(), self._det_background
            )
            frame.n_det += 1
        return start

    def _start_hog_search(self, frame: _Frame, plan: _Plan) -> None:
        """Start HOG beside the following frames (on a grey copy) where the detectors are due,
        HOG did not run in this frame and is not running, and `_HOG_EVERY_FRAMES` frames passed
        since its last start or a person was lost."""
        import cv2

        if (
            plan.due
            and not plan.hog_in_frame
            and self._hog is not None
            and not self._hog_search.busy
            and (self._frames_since_hog >= _HOG_EVERY_FRAMES or self._lost)
        ):
            grey = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
            self._hog_search.start(self._hog_proposals, grey)
            self._frames_since_hog = 0
            frame.n_det += 1

    def _update_tracks(self, frame: _Frame, tracked: List[_Result], detected: bool) -> None:
        """After the frame: its people, most confident first, become the tracks of the next
        frame (with the crops the next frame's are compared with, to tell a still person), and
        the counters move on; `detected`: this frame counts as a detection (`_Plan.detected`).
        A person lost (fewer people than `tracked`), or nobody kept, makes the next frame wait
        for the detector."""
        self._first_frame = False
        self._frames_since_hog += 1
        self._frames_since_detection = 0 if detected else self._frames_since_detection + 1
        lost = len(frame.kept) < len(tracked)
        frame.kept.sort(key=lambda r: -r.presence)
        self._tracked = frame.kept
        for r in frame.kept if self.track else []:
            if not r.still:
                r.next_crop = self._crop(frame.rgb, r.follow_roi())[0]
        self._lost = lost or not frame.kept
