"""PoseEstimator with keypoints from the caller (no detector): batching, ids, intrinsics, JSON."""

import json

import numpy as np
import pytest

from pose_lifting_core.camera import project
from pose_lifting_core.pipeline import (
    PipelineConfig,
    PoseEstimator,
    frame_to_dict,
    resolve_intrinsics,
)
from pose_lifting_core.skeleton import JOINT_NAMES
from conftest import STANDING

K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
BASE = STANDING.copy()


@pytest.fixture(scope="module")
def _lifter():
    return PoseEstimator(PipelineConfig(device="cpu")).lifter


@pytest.fixture
def estimator(_lifter):
    """A fresh estimator (its own tracker) sharing one loaded lifter."""
    return PoseEstimator(PipelineConfig(device="cpu"), lifter=_lifter)


def _crowd(n, t=0.0):
    X = np.stack(
        [BASE + np.array([-3.0 + 0.6 * i + 0.02 * t, 0.1, 3.0 + 0.7 * i]) for i in range(n)]
    )
    return X, project(X, K)


def test_many_people_lifted_in_one_batch(estimator, monkeypatch):
    calls = []
    real = estimator.lifter.estimate
    monkeypatch.setattr(
        estimator.lifter, "estimate", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k)
    )
    X, kp = _crowd(10)
    estimator.reset()
    res = estimator.process_keypoints(kp, None, "h36m17", (1280, 720), K)
    assert calls == [10]
    assert len(res.persons) == 10
    depth = np.array([p.joints_3d[0, 2] for p in res.persons])
    np.testing.assert_allclose(depth, X[:, 0, 2], rtol=0.15)
    assert not res.intrinsics.estimated


def test_track_ids_continue_over_frames(estimator):
    estimator.reset()
    first = None
    for t in range(15):
        _, kp = _crowd(3, t)
        order = np.random.default_rng(t).permutation(3)
        res = estimator.process_keypoints(kp[order], None, "h36m17", (1280, 720), K)
        ids = np.empty(3, int)
        ids[order] = [p.id for p in res.persons]
        first = ids if first is None else first
        assert (ids == first).all()


def test_missing_or_zero_K_falls_back_to_the_prior(estimator):
    _, kp = _crowd(1)
    for bad in (None, np.zeros((3, 3)), np.full((3, 3), np.nan)):
        res = estimator.process_keypoints(kp, None, "h36m17", (1280, 720), bad)
        assert res.intrinsics.estimated and res.intrinsics.cx == 640
    assert resolve_intrinsics(K, 1280, 720).fx == 900


def test_intrinsics_follow_every_change_of_K_and_image_size(estimator):
    """The estimator keeps the resolved intrinsics while K and the size stay the same."""
    _, kp = _crowd(1)
    K2 = K.copy()
    K2[0, 0] = K2[1, 1] = 1200.0
    seen = []
    for k, size in (
        (K, (1280, 720)),
        (K, (1280, 720)),
        (K2, (1280, 720)),
        (None, (1280, 720)),
        (None, (640, 480)),
        (K.reshape(9), (1280, 720)),
        (K, (1280, 720)),
    ):
        r = estimator.process_keypoints(kp, None, "h36m17", size, k).intrinsics
        seen.append((r.fx, r.cx, r.estimated))
    prior = resolve_intrinsics(None, 1280, 720).fx
    assert seen == [
        (900, 640, False),
        (900, 640, False),
        (1200, 640, False),
        (prior, 640, True),
        (prior / 2, 320, True),
        (prior, 640, True),
        (900, 640, False),
    ]
    K_mutated = K.copy()
    estimator.process_keypoints(kp, None, "h36m17", (1280, 720), K_mutated)
    K_mutated[0, 0] = 700.0  # the same array, changed in place
    assert (
        estimator.process_keypoints(kp, None, "h36m17", (1280, 720), K_mutated).intrinsics.fx
        == 700
    )


def test_empty_frame_gives_empty_result(estimator):
    res = estimator.process_keypoints(np.zeros((0, 17, 2)), None, "coco17", (640, 480), None)
    assert res.persons == [] and frame_to_dict(res)["persons"] == []


def test_json_schema(estimator):
    _, kp = _crowd(2)
    d = json.loads(
        json.dumps(
            frame_to_dict(estimator.process_keypoints(kp, None, "h36m17", (1280, 720), K, 0.5))
        )
    )
    assert set(d) == {"index", "time_s", "image_size", "intrinsics", "persons"}
    assert d["time_s"] == 0.5 and d["image_size"] == [1280, 720]
    assert d["intrinsics"] == {"fx": 900, "fy": 900, "cx": 640, "cy": 360, "estimated": False}
    p = d["persons"][0]
    assert set(p) == {"id", "score", "reprojection_error_px", "joints", "keypoints_2d"}
    assert list(p["joints"]) == list(JOINT_NAMES) and all(
        len(v) == 3 for v in p["joints"].values()
    )
    assert list(p["keypoints_2d"]) == list(JOINT_NAMES) and all(
        len(v) == 3 for v in p["keypoints_2d"].values()
    )


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="max_people"):
        PipelineConfig(max_people=0).validate()
    with pytest.raises(ValueError, match="hfov_deg"):
        PipelineConfig(hfov_deg=200).validate()
    with pytest.raises(ValueError, match="smoothing_alpha"):
        PipelineConfig(smoothing_alpha=0).validate()
    with pytest.raises(
        ValueError, match="precision must be one of auto, fp32, bf16, int8, got 'fp16'"
    ):
        PipelineConfig(precision="fp16").validate()
    with pytest.raises(ValueError, match="device must be auto, cpu or cuda, got 'tpu'"):
        PipelineConfig(device="tpu").validate()


def test_nan_and_out_of_image_keypoints(estimator):
    X, kp = _crowd(3)
    kp = kp.copy()
    kp[0] = np.nan  # a person with no usable keypoint: left out, not an error
    kp[1] += np.array([-900.0, 0.0])  # partly outside the image (negative x): still lifted
    res = estimator.process_keypoints(kp, None, "h36m17", (1280, 720), K)
    assert len(res.persons) == 2
    assert all(np.isfinite(p.joints_3d).all() for p in res.persons)
    empty = estimator.process_keypoints(
        np.full((2, 17, 2), np.nan), None, "h36m17", (1280, 720), K, 3.0
    )
    assert empty.persons == [] and empty.time_s == 3.0


def test_keypoint_input_honours_max_people_min_person_score_and_person_scores(estimator):
    import dataclasses

    X, kp = _crowd(6)
    est = PoseEstimator(
        dataclasses.replace(estimator.config, max_people=3, min_person_score=0.5),
        lifter=estimator.lifter,
    )
    person = np.array([0.9, 0.2, 0.0, 0.7, 0.6, 0.95])  # 0: the detector left it unset
    res = est.process_keypoints(kp, None, "h36m17", (1280, 720), K, person_scores=person)
    # 1 is under the minimum; 2 falls back to its mean keypoint confidence (1.0); the top 3 stay
    depth = X[:, 0, 2]  # 3.0, 3.7, ... 0.7 m apart
    kept = sorted(int(np.argmin(np.abs(depth - p.joints_3d[0, 2]))) for p in res.persons)
    assert kept == [0, 2, 5]
    assert (
        len(
            est.process_keypoints(
                kp, None, "h36m17", (1280, 720), K, person_scores=np.full(6, 0.1)
            ).persons
        )
        == 0
    )
    with pytest.raises(ValueError, match="2 person scores for 6 people"):
        est.process_keypoints(kp, None, "h36m17", (1280, 720), K, person_scores=np.ones(2))


def test_duplicate_detector_ids_fall_back_to_tracker_ids(estimator):
    X, kp = _crowd(3)
    estimator.reset()
    res = estimator.process_keypoints(kp, None, "h36m17", (1280, 720), K, ids=np.array([5, 5, 9]))
    ids = [p.id for p in res.persons]
    assert len(set(ids)) == 3  # tracker ids, not 5, 5, 9
    own = estimator.process_keypoints(kp, None, "h36m17", (1280, 720), K, ids=np.array([5, 7, 9]))
    assert sorted(p.id for p in own.persons) == [5, 7, 9]


def test_ids_are_never_reused_through_resets_and_reconfiguration(estimator):
    import dataclasses

    _, kp = _crowd(3)
    est = PoseEstimator(estimator.config, lifter=estimator.lifter)
    first = {p.id for p in est.process_keypoints(kp, None, "h36m17", (1280, 720), K).persons}
    est.reset()
    second = {p.id for p in est.process_keypoints(kp, None, "h36m17", (1280, 720), K).persons}
    assert first == {1, 2, 3} and second == {4, 5, 6}
    lifter, tracker = est.lifter, est.tracker
    est.reconfigure(
        dataclasses.replace(est.config, tracker_max_age=0, smoothing_alpha=0.5, hfov_deg=75.0)
    )
    assert est.lifter is lifter and est.tracker is tracker and est.tracker.max_age == 0
    assert est.smoother is not None and est.smoother.alpha == 0.5
    far = kp + 400.0  # everyone moved: new tracks, new ids once seen in two frames
    assert est.process_keypoints(far, None, "h36m17", (1280, 720), None).tentative == 3
    third = {p.id for p in est.process_keypoints(far, None, "h36m17", (1280, 720), None).persons}
    assert third and third.isdisjoint(first | second) and min(third) > 6
    assert est.process_keypoints(
        kp, None, "h36m17", (1280, 720), None
    ).intrinsics.fx == pytest.approx(640 / np.tan(np.radians(37.5)))


def test_reconfigure_updates_the_detector_in_place_and_refuses_what_it_cannot_change(estimator):
    import dataclasses

    class FakeDetector:
        max_people, min_score, track, layout = 10, 0.5, True, "h36m17"

    det = FakeDetector()
    est = PoseEstimator(estimator.config, detector=det, lifter=estimator.lifter)
    est.reconfigure(
        dataclasses.replace(est.config, max_people=2, min_person_score=0.3, track=False)
    )
    assert (det.max_people, det.min_score, det.track) == (2, 0.3, False) and est.detector is det
    with pytest.raises(
        ValueError, match="cannot change landmark_model, detector_threads at run time"
    ):
        est.reconfigure(dataclasses.replace(est.config, landmark_model="lite", detector_threads=1))


def test_the_test_time_mirror_is_a_setting_that_changes_at_run_time(estimator):
    """mirror_average (a parameter of both nodes) reaches the lifter at start and on
    reconfigure; off, each person is lifted once and the joints move by millimetres."""
    import dataclasses

    X, kp = _crowd(3)
    est = PoseEstimator(estimator.config, lifter=estimator.lifter)
    assert est.lifter.mirror_average
    both = est.process_keypoints(kp, None, "h36m17", (1280, 720), K).persons
    try:
        est.reconfigure(dataclasses.replace(est.config, mirror_average=False))
        assert not est.lifter.mirror_average
        once = est.process_keypoints(kp, None, "h36m17", (1280, 720), K).persons
        moved = [
            np.linalg.norm(a.joints_3d - b.joints_3d, axis=-1).mean() for a, b in zip(both, once)
        ]
        assert len(once) == 3 and all(0.0005 < m < 0.05 for m in moved), moved
    finally:
        est.reconfigure(dataclasses.replace(est.config, mirror_average=True))
    assert est.lifter.mirror_average


def test_implausible_K_and_distortion_fall_back_and_far_people_are_dropped(estimator):
    import dataclasses

    X, kp = _crowd(3)  # 4.2-4.8 m from the camera
    est = PoseEstimator(estimator.config, lifter=estimator.lifter)
    tiny = np.array([[5e-7, 0, 640], [0, 5e-7, 360], [0, 0, 1.0]])  # kilometres before
    res = est.process_keypoints(kp, None, "h36m17", (1280, 720), tiny)
    assert res.intrinsics.estimated
    assert res.intrinsics.fx == pytest.approx(1280 / 2 / np.tan(np.radians(30)))
    # a plumb_bob D with 2 coefficients is ignored; the frame is still lifted
    D2 = ("plumb_bob", np.array([0.1, 0.01]))
    assert (
        len(est.process_keypoints(kp, None, "h36m17", (1280, 720), K, distortion=D2).persons) == 3
    )
    near = PoseEstimator(
        dataclasses.replace(estimator.config, max_distance_m=1.0), lifter=estimator.lifter
    )
    res = near.process_keypoints(kp, None, "h36m17", (1280, 720), K)
    assert res.persons == [] and res.too_far == 3


# --- implausible people are no results (issue 22, item 3) ----------------------------------------
def test_implausible_people_are_dropped_by_reason_and_counted(estimator):
    """All 17 joints at one pixel were "lifted" at 0.10 m (445 px reprojection error), and
    keypoints scaled by 1e27 at 1.6e26 m, both as plain results. The pipeline (both nodes and
    `estimate`) now leaves such people out and counts them by reason (plausibility.py)."""
    X, kp = _crowd(3)
    kp = kp.copy()
    kp[1] = kp[1, :1]  # every joint at one pixel
    kp[2] *= 1e27  # absurdly far
    est = PoseEstimator(estimator.config, lifter=estimator.lifter)
    res = est.process_keypoints(kp, None, "h36m17", (1280, 720), K)
    assert len(res.persons) == 1 and res.persons[0].joints_3d[0, 2] == pytest.approx(
        X[0, 0, 2], rel=0.15
    )
    assert res.dropped == {"degenerate_2d": 1, "too_far": 1}
    assert res.too_far == 1
    # a stated image size no camera has is refused, naming it
    for size in ((1, 1), (1e15, 1e15)):
        with pytest.raises(ValueError, match="implausible: each side must be 16-100000 px"):
            est.process_keypoints(kp[:1], None, "h36m17", size, None)


def test_the_plausibility_rule_names_every_reason():
    from pose_lifting_core import plausibility

    X = np.stack([BASE + np.array([0.0, 0.1, 4.0])] * 6)
    kp = project(X, K)
    conf = np.ones((6, 17))
    err = np.full(6, 2.0)
    conf[0, 2:] = 0.0  # two usable keypoints are enough to solve ...
    conf[1, 1:] = 0.0  # ... one is not
    X[2, 5, 0] = np.nan
    X[3] = X[3] - X[3, :1] + [0.0, 0.0, 0.1]  # the root solve's floor
    err[4] = 0.3 * plausibility.spread_px(kp[4:5], conf[4:5])[0]
    X[5] += [0.0, 0.0, 80.0]
    reasons = plausibility.implausible(X, kp, conf, err, 50.0)
    assert reasons.tolist() == [
        "",
        "too_few_joints",
        "non_finite",
        "too_near",
        "reprojection",
        "too_far",
    ]
    counts = plausibility.count(reasons)
    assert plausibility.describe(counts, 50.0) == (
        "1 with fewer than 2 usable keypoints, 1 with a joint position that is NaN or infinite, "
        "1 placed farther than 50 m (the maximum distance), 1 placed nearer than 0.2 m (no depth "
        "fits the keypoints), 1 with a reprojection error over 0.25 of their 2D size"
    )


def test_frames_of_another_size_are_never_linked(estimator):
    """Issue 22, item 5: frames of different sizes (a folder of photos, a camera changing its
    resolution) were tracked as one video. A change of size starts a new sequence: new track
    ids (none reused), the detector's tracked regions cleared; frame indices go on."""

    class Detector:
        max_people, min_score, track, layout = 10, 0.5, True, "h36m17"
        resets = 0

        def reset(self):
            Detector.resets += 1

    _, kp = _crowd(2)
    est = PoseEstimator(estimator.config, detector=Detector(), lifter=estimator.lifter)
    frames = [
        est.process_keypoints(kp, None, "h36m17", size, K)
        for size in ((1280, 720), (1280, 720), (1920, 1080), (1920, 1080))
    ]
    ids = [sorted(p.id for p in f.persons) for f in frames]
    assert ids[0] == ids[1] == [1, 2] and ids[2] == ids[3] == [3, 4]
    assert Detector.resets == 1 and [f.index for f in frames] == [0, 1, 2, 3]


def test_a_distance_jump_in_one_frame_is_not_given_the_same_id(estimator):
    """The pipeline gives the tracker each person's distance: a person whose keypoints suddenly
    shrink to 60 % about the pelvis (the same place, overlapping boxes) is placed about 1.7x as
    far, which nobody walks in one frame, so the result gets another id (vtest.avi: 41 of 1,848
    steps of a track changed its distance by more than 20 %, 6.7 m to 11.6 m); the person seen
    as before again gets the first id. By default (tracker_min_hits 2) the jumped result
    starts a tentative track and is held back (`tentative`) until seen again."""
    import dataclasses

    X = (BASE + np.array([0.0, 0.1, 4.0]))[None]
    kp = project(X, K)
    shrunk = kp[:, :1] + 0.6 * (kp - kp[:, :1])
    est = PoseEstimator(estimator.config, lifter=estimator.lifter)
    frames = [est.process_keypoints(k, None, "h36m17", (1280, 720), K) for k in (kp, shrunk, kp)]
    assert [len(f.persons) for f in frames] == [1, 0, 1] and frames[1].tentative == 1
    assert frames[2].persons[0].id == frames[0].persons[0].id
    at_once = dataclasses.replace(estimator.config, tracker_min_hits=1)
    est = PoseEstimator(at_once, lifter=estimator.lifter)
    frames = [est.process_keypoints(k, None, "h36m17", (1280, 720), K) for k in (kp, shrunk, kp)]
    dist = [np.linalg.norm(f.persons[0].joints_3d[0]) for f in frames]
    assert dist[1] > 1.3 * dist[0], dist
    ids = [f.persons[0].id for f in frames]
    assert ids[1] != ids[0] and ids[2] == ids[0], ids
