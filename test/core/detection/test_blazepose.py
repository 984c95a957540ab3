"""BlazePose through LiteRT: real images, video, tracking, bad inputs, missing models.

Needs opencv-python, ai-edge-litert and the fetched model files (scripts/setup.sh); the image
and video tests also need basketball1.png and vtest.avi (in samples/, else ../shared/data/media).
"""

import math
import os

import numpy as np
import pytest

from conftest import ROOT, SHARED
from pose_lifting_core.detection import Detector, DetectorError, Person2D
from pose_lifting_core.detection.models import MODELS, model_dir, model_path
from pose_lifting_core.skeleton import BLAZEPOSE33_NAMES

cv2 = pytest.importorskip("cv2", reason="needs opencv-python (scripts/setup.sh)")
pytest.importorskip("ai_edge_litert", reason="needs ai-edge-litert (scripts/setup.sh)")
from pose_lifting_core.detection.blazepose import (  # noqa: E402
    BlazePoseDetector,
    as_rgb,
    roi_from_alignment,
    ssd_anchors,
)

_missing = [
    m.filename
    for n, m in MODELS.items()
    if n in ("detector", "full") and not os.path.isfile(os.path.join(model_dir(), m.filename))
]
needs_models = pytest.mark.skipif(
    bool(_missing), reason=f"model files {_missing} not in {model_dir()}; run scripts/setup.sh"
)

BASKETBALL = next(
    (
        p
        for p in (
            os.path.join(ROOT, "samples", "basketball1.png"),
            os.path.join(SHARED, "data", "media", "basketball1.png"),
        )
        if os.path.isfile(p)
    ),
    os.path.join(SHARED, "data", "media", "basketball1.png"),
)
VTEST = next(
    (
        p
        for p in (
            os.path.join(ROOT, "samples", "vtest.avi"),
            os.path.join(SHARED, "data", "media", "vtest.avi"),
        )
        if os.path.isfile(p)
    ),
    os.path.join(SHARED, "data", "media", "vtest.avi"),
)
needs_basketball = pytest.mark.skipif(
    not os.path.isfile(BASKETBALL), reason="needs ../shared/data/media/basketball1.png"
)
needs_vtest = pytest.mark.skipif(
    not os.path.isfile(VTEST), reason="needs ../shared/data/media/vtest.avi"
)
K = {n: i for i, n in enumerate(BLAZEPOSE33_NAMES)}

# Hand-checked positions (pixels) of the fully visible man on the left of basketball1.png, who
# faces the camera (so his left side is on the image's right). His ankles are hidden under the
# jeans' hems; the models put them 10-25 px higher than these guesses.
LEFT_MAN = {
    "nose": (92, 120),
    "left_shoulder": (115, 150),
    "right_shoulder": (50, 155),
    "left_hip": (112, 285),
    "right_hip": (62, 290),
    "left_knee": (120, 375),
    "right_knee": (65, 375),
    "left_ankle": (122, 450),
    "right_ankle": (57, 460),
}


@pytest.fixture(scope="module")
def detector():
    return BlazePoseDetector()


def _grey(path):
    im = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    assert im is not None, path
    return im


def _vtest_frames(n, step=1):
    cap = cv2.VideoCapture(VTEST)
    frames = []
    for i in range(n * step):
        ok, f = cap.read()
        assert ok, f"could not read frame {i} of {VTEST}"
        if i % step == 0:
            frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def _hips(people):
    return np.array([p.keypoints[[K["left_hip"], K["right_hip"]]].mean(0) for p in people])


# --- geometry ------------------------------------------------------------------------------------
def test_anchors_match_the_pose_detector_layout():
    a = ssd_anchors(224)
    assert a.shape == (2254, 2)
    np.testing.assert_allclose(a[0], [4, 4])  # stride 8: first cell centre
    np.testing.assert_allclose(a[1], [4, 4])  # two anchors per cell
    np.testing.assert_allclose(a[-1], [208, 208])  # stride 32 (7x7): last cell centre


def test_roi_from_alignment_points_makes_the_body_upright():
    upright = roi_from_alignment(np.array([100.0, 200.0]), np.array([100.0, 120.0]))
    assert upright.angle == pytest.approx(0.0)
    assert upright.size == pytest.approx(2 * 80 * 1.25)
    assert (upright.cx, upright.cy) == (100.0, 200.0)
    lying = roi_from_alignment(np.array([100.0, 200.0]), np.array([180.0, 200.0]))  # head right
    assert lying.angle == pytest.approx(math.pi / 2)


def test_person2d_checks_shapes_and_is_read_only():
    p = Person2D(np.zeros((33, 2)), np.ones(33), np.array([0, 0, 1, 1]), 0.9, "blazepose33")
    with pytest.raises(ValueError):
        p.keypoints[0, 0] = 1.0
    with pytest.raises(ValueError, match="scores"):
        Person2D(np.zeros((33, 2)), np.ones(17), np.zeros(4), 0.9, "blazepose33")


# --- errors --------------------------------------------------------------------------------------
@needs_models
@pytest.mark.parametrize(
    "image, problem",
    [
        (np.zeros((48, 64, 3), np.float32), "dtype must be uint8, got float32"),
        (np.zeros((48, 64, 4), np.uint8), "shape must be HxWx3"),
        (np.zeros((48,), np.uint8), "shape must be HxWx3"),
        (np.zeros((0, 64, 3), np.uint8), "empty"),
        (np.zeros((48, 0), np.uint8), "empty"),
        ([[0, 1], [2, 3]], "numpy array"),
    ],
)
def test_bad_images_raise_detector_error_naming_the_problem(detector, image, problem):
    with pytest.raises(DetectorError, match=problem.replace("(", r"\(")):
        detector.detect(image)


@needs_models
def test_grey_and_tiny_images_are_accepted(detector):
    for im in (
        np.full((48, 64), 90, np.uint8),
        np.full((48, 64, 1), 90, np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((5, 700, 3), np.uint8),
    ):
        assert detector.detect(im) == []


def test_missing_model_file_raises_detector_error_naming_it(tmp_path):
    with pytest.raises(
        DetectorError,
        match=r"pose_detection\.tflite is missing; run: pose-lifting fetch-models "
        r"\(on a ROS install: ros2 run pose_lifting fetch_models\)",
    ):
        BlazePoseDetector(model_dir=str(tmp_path))
    with pytest.raises(DetectorError, match=r"pose_landmark_heavy\.tflite"):
        model_path("heavy", str(tmp_path))


@needs_models
def test_corrupt_model_file_raises_detector_error_naming_it(tmp_path):
    (tmp_path / "pose_detection.tflite").write_bytes(b"not a flatbuffer" * 64)
    os.symlink(model_path("full"), tmp_path / "pose_landmark_full.tflite")
    with pytest.raises(DetectorError, match=r"pose_detection\.tflite could not be loaded"):
        BlazePoseDetector(model_dir=str(tmp_path))


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="model_complexity"):
        BlazePoseDetector("huge")
    with pytest.raises(ValueError, match="person_detector"):
        BlazePoseDetector(person_detector="yolo")


# --- real images ---------------------------------------------------------------------------------
@needs_models
@needs_basketball
def test_basketball_finds_both_people_with_keypoints_in_place(detector):
    assert isinstance(detector, Detector)
    people = detector.detect(_grey(BASKETBALL))
    assert len(people) == 2, [p.box for p in people]
    left, right = sorted(people, key=lambda p: p.box[0])
    for p in people:
        assert p.layout == "blazepose33" and p.keypoints.shape == (33, 2)
        assert p.scores.shape == (33,) and ((p.scores >= 0) & (p.scores <= 1)).all()
        assert 0.5 <= p.score <= 1
    # The fully visible man on the left: every checked keypoint within 30 px (he is ~370 px tall;
    # the full model is 5-13 px off except at the ankles, 12 and 22 px).
    for name, xy in LEFT_MAN.items():
        err = np.linalg.norm(left.keypoints[K[name]] - xy)
        assert err < 30, (name, left.keypoints[K[name]], xy)
        assert left.scores[K[name]] > 0.5, name
    y = lambda n: left.keypoints[K[n]][1]  # noqa: E731
    x = lambda n: left.keypoints[K[n]][0]  # noqa: E731
    for side in ("left", "right"):
        assert (
            y("nose")
            < y(f"{side}_shoulder")
            < y(f"{side}_hip")
            < y(f"{side}_knee")
            < y(f"{side}_ankle")
        )
    for part in ("shoulder", "elbow", "hip", "knee", "ankle"):  # facing the camera: not swapped
        assert x(f"left_{part}") > x(f"right_{part}"), part
    assert 40 < left.box[0] < 70 and 90 < left.box[1] < 125 and left.box[3] > 440
    # The man on the right is cut off by the frame; his head is around (525, 100).
    assert right.box[0] > 400
    assert np.linalg.norm(right.keypoints[K["nose"]] - (525, 100)) < 40
    for side in ("left", "right"):
        assert 100 < right.keypoints[K[f"{side}_shoulder"]][1] < 200


@needs_models
@needs_basketball
def test_max_people_keeps_the_most_confident():
    people = BlazePoseDetector(max_people=1).detect(_grey(BASKETBALL))
    assert len(people) == 1 and people[0].box[0] < 100


@needs_models
@needs_vtest
def test_vtest_finds_several_people_in_most_frames(detector):
    counts = [len(detector.detect(f)) for f in _vtest_frames(10, step=2)]
    assert sum(c >= 3 for c in counts) >= 8, counts
    assert max(counts) <= 7, counts


# --- tracking ------------------------------------------------------------------------------------
@needs_models
@needs_vtest
def test_tracking_gives_the_same_people_as_detection():
    frames = _vtest_frames(12)
    det = BlazePoseDetector()
    trk = BlazePoseDetector(track=True, redetect_every=6)
    det_runs = 0
    matched = total = 0
    for f in frames:
        a, b = det.detect(f), trk.detect(f)
        det_runs += trk.last_timing["detector_runs"] > 0
        assert abs(len(a) - len(b)) <= 1
        ha, hb = _hips(a), _hips(b)
        for h in hb:
            total += 1
            if len(ha) and np.linalg.norm(ha - h, axis=1).min() < 10:
                matched += 1
    assert matched >= 0.9 * total and total >= 30, (matched, total)
    assert det_runs <= 5  # detectors ran on the first frame, every 6th and after a loss only


@needs_models
@needs_basketball
def test_tracking_one_person_costs_one_landmark_run_per_frame():
    one = np.ascontiguousarray(_grey(BASKETBALL)[:, :320])  # the man on the left only
    trk = BlazePoseDetector(person_detector="blazepose", track=True, redetect_every=4)
    runs = []
    for _ in range(8):
        people = trk.detect(one)
        assert len(people) == 1
        runs.append((trk.last_timing["detector_runs"], trk.last_timing["landmark_runs"]))
    # the detector runs in the first frame, and from the 5th on beside the frames (started after
    # the frame's own work): its proposal then overlaps the track, which keeps its region and is
    # run first, so still one run
    assert runs[:5] == [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1)], runs
    assert all(lmk == 1 for _, lmk in runs) and sum(d for d, _ in runs) <= 3, runs
    trk.reset()
    trk.detect(one)
    assert trk.last_timing["detector_runs"] == 1


def test_images_over_the_size_limit_are_refused_in_one_line():
    from pose_lifting_core.detection import MAX_IMAGE_PIXELS, image_size_problem

    assert image_size_problem(7680, 4320) is None  # 8K video
    assert (
        "image 20000x20000 has 400 megapixels; the limit is 40 megapixels"
        in image_size_problem(20000, 20000)
    )
    with pytest.raises(DetectorError, match="the limit is 40 megapixels"):
        as_rgb(np.zeros((7000, MAX_IMAGE_PIXELS // 7000 + 1), np.uint8))


def test_an_oversized_image_file_is_refused_from_its_header(tmp_path):
    import time

    from PIL import Image

    from pose_lifting_core.media import MediaError, read_image

    path = str(tmp_path / "big.png")
    Image.new("L", (9000, 5000)).save(path)  # 45 megapixels of one grey: a small file
    t0 = time.perf_counter()
    with pytest.raises(
        MediaError, match="big.png: image 9000x5000 has 45 megapixels; the limit is 40"
    ):
        read_image(path)
    assert time.perf_counter() - t0 < 1.0  # not decoded


@needs_models
def test_the_hog_search_area_is_bounded(detector, monkeypatch):
    """At HD the HOG search runs on about the area of a 640x480 image (x1.6 upscale), so its
    cost does not grow with the image; boxes come back in full-image pixels."""
    import cv2

    d = BlazePoseDetector(person_detector="hog")
    seen = []
    real = d._hog.detectMultiScale

    def spy(grey, **kw):
        seen.append(grey.shape)
        return real(grey, **kw)

    monkeypatch.setattr(
        d,
        "_hog",
        type("H", (), {"winSize": d._hog.winSize, "detectMultiScale": staticmethod(spy)}),
    )
    rgb = cv2.cvtColor(
        cv2.imread(os.path.join(ROOT, "samples", "basketball1.png")), cv2.COLOR_BGR2RGB
    )
    hd = cv2.resize(rgb, (1920, 1440))
    small = d._hog_proposals(rgb)
    big = d._hog_proposals(hd)
    assert seen[0][0] * seen[0][1] == pytest.approx(640 * 480 * 1.6**2, rel=0.01)
    assert seen[1][0] * seen[1][1] == pytest.approx(640 * 480 * 1.6**2, rel=0.02)
    if small and big:  # the same person, three times larger in the HD image
        assert big[0][0].size == pytest.approx(3 * small[0][0].size, rel=0.1)


@needs_models
def test_a_static_scene_does_not_drift_with_tracking():
    """Thirty identical frames with tracking: each person's distance stays within 15 % of the
    untracked estimate (the landmarks fed their own crop, and one person drifted from 2.4 to
    1.4 m, before tracks were re-anchored on the detector when their region's scale creeps)."""
    import cv2

    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator

    rgb = cv2.cvtColor(
        cv2.imread(os.path.join(ROOT, "samples", "basketball1.png")), cv2.COLOR_BGR2RGB
    )
    still = sorted(
        p.joints_3d[0, 2] for p in PoseEstimator(PipelineConfig(track=False)).process(rgb).persons
    )
    est = PoseEstimator(PipelineConfig(track=True))
    for i in range(30):
        depths = sorted(p.joints_3d[0, 2] for p in est.process(rgb, None, float(i)).persons)
        assert len(depths) == len(still) == 2, i
        np.testing.assert_allclose(depths, still, rtol=0.15, err_msg=f"frame {i}")


@needs_models
@needs_basketball
def test_a_still_scene_gives_still_distances_with_tracking():
    """Twenty identical frames with tracking: once a track's region settles, each person keeps
    one crop, so one distance. Before, a tracked region followed its landmarks every frame and
    was re-anchored on every detector proposal, so the person cut off by the frame edge, whose
    legs the landmark model invents anew in each crop, cycled between 2.35 and 2.90 m (20 %)
    every 7 frames."""
    import cv2

    from pose_lifting_core.pipeline import PipelineConfig, PoseEstimator

    rgb = cv2.cvtColor(cv2.imread(BASKETBALL), cv2.COLOR_BGR2RGB)
    est = PoseEstimator(PipelineConfig(track=True))
    seen = {}
    for i in range(20):
        for p in est.process(rgb, None, float(i)).persons:
            seen.setdefault(p.id, []).append(float(np.linalg.norm(p.joints_3d[0])))
    assert len(seen) == 2 and all(len(d) == 20 for d in seen.values()), seen
    for tid, d in seen.items():
        d = np.array(d)
        assert np.ptp(d) < 0.1 * np.median(d), (tid, d.round(2))  # the first frames included
        assert np.ptp(d[3:]) < 0.005 * np.median(d), (tid, d.round(3))  # then still


@needs_models
@needs_basketball
def test_a_held_region_follows_a_slowly_moving_person():
    """A still person's region is held while their crop stays the same; the crop is compared
    with the one of when they stopped, not the last frame's, so a person moving by 0.1 px a
    frame (under the stillness threshold from one frame to the next) is still followed."""
    d = BlazePoseDetector(person_detector="blazepose", track=True, redetect_every=10**6)
    one = _grey(BASKETBALL)[:, :320]  # the man on the left only
    first, held, start = None, 0, None
    for i in range(100):
        m = np.float32([[1, 0, 0.1 * i], [0, 1, 0]])
        img = cv2.warpAffine(one, m, one.shape[::-1], borderMode=cv2.BORDER_REPLICATE)
        people = d.detect(img)
        assert len(people) == 1, i
        nose = people[0].keypoints[K["nose"], 0] - 0.1 * i  # where it was in frame 0
        first = nose if first is None else first
        assert abs(nose - first) < 3, (i, nose, first)
        held += d._tracked[0].still
        start = d._tracked[0].roi.cx if i == 1 else start
    assert held > 50  # held most of the time...
    assert d._tracked[0].roi.cx > start + 5  # ...and moved on with the person (10 px)


@needs_models
@needs_basketball
def test_tracking_runs_the_person_detector_beside_the_frames():
    """With anyone tracked, the BlazePose person detector runs in its worker thread: a search
    that does not end stalls no frame, the tracks carry the people meanwhile, and its proposals
    join the first frame after it is done."""
    import threading
    import time

    d = BlazePoseDetector(person_detector="blazepose", track=True, redetect_every=2)
    real = d._blazepose_proposals
    release = threading.Event()
    in_worker = []

    def held(rgb, model=None):
        in_worker.append(threading.current_thread().name.startswith("detector"))
        if in_worker[-1]:
            release.wait(30)  # the search lasts until the test lets it end
        return real(rgb, model)

    d._blazepose_proposals = held
    one = _grey(BASKETBALL)
    assert len(d.detect(one)) == 2 and in_worker == [False]  # the first frame waits for it
    times = []
    for _ in range(6):
        t0 = time.perf_counter()
        assert len(d.detect(one)) >= 1
        times.append(time.perf_counter() - t0)
    assert in_worker.count(True) == 1, in_worker  # started once, in the worker; one at a time
    assert d._det_search.busy and max(times) < 10, times  # no frame waited for it
    d.redetect_every = 10**6  # no new search from here on
    release.set()
    deadline = time.perf_counter() + 10
    while d._det_search.busy and time.perf_counter() < deadline:
        d.detect(one)
    # its proposals joined a frame (a frame may still run the detector itself after a loss)
    assert not d._det_search.busy and in_worker.count(True) == 1
    assert len(d.detect(one)) == 2


@needs_models
@needs_basketball
def test_tracking_runs_hog_beside_the_frames_and_no_frame_waits_for_it(monkeypatch):
    """In tracking mode HOG searches the first frame in the frame and later ones in the worker
    thread; however slow a search is, the frames go on without it and its proposals join a
    later frame."""
    import threading
    import time

    import pose_lifting_core.detection.blazepose as bp

    monkeypatch.setattr(bp, "_HOG_EVERY_FRAMES", 3)
    d = BlazePoseDetector(track=True, redetect_every=2)
    real = d._hog_proposals
    calls, joined = [], []

    def slow(image):
        in_worker = threading.current_thread().name.startswith("hog")
        calls.append(in_worker)
        if in_worker and len(calls) > 1:
            time.sleep(1.0)
        out = real(image)
        joined.append(len(out))
        return out

    d._hog_proposals = slow
    one = _grey(BASKETBALL)
    t0 = time.perf_counter()
    first = d.detect(one)
    assert len(first) == 2 and len(calls) == 1 and time.perf_counter() - t0 < 30
    times = []
    for _ in range(12):
        t0 = time.perf_counter()
        assert len(d.detect(one)) >= 1
        times.append(time.perf_counter() - t0)
    assert len(calls) >= 2 and all(calls[1:]), calls  # started, in the worker
    assert max(times) < 0.8, times  # no frame waited for the 1 s search
    monkeypatch.setattr(bp, "_HOG_EVERY_FRAMES", 10**6)  # no new search from here on
    d._lost = False
    deadline = time.perf_counter() + 10
    while d._hog_search.busy and time.perf_counter() < deadline:
        d.detect(one)  # the search's proposals join a frame once it is done
    assert not d._hog_search.busy
