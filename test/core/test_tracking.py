import numpy as np
import pytest

from pose_lifting_core.tracking import Smoother, Tracker, box_iou


def test_iou():
    a = np.array([[0, 0, 10, 10]])
    assert box_iou(a, a)[0, 0] == pytest.approx(1.0)
    assert box_iou(a, np.array([[5, 0, 15, 10]]))[0, 0] == pytest.approx(50 / 150)
    assert box_iou(a, np.array([[20, 20, 30, 30]]))[0, 0] == 0
    assert box_iou(np.zeros((0, 4)), a).shape == (0, 1)


def _walkers(frames=60, n=4, seed=0):
    """Synthetic pedestrians: boxes moving at constant speeds, crossing each other."""
    rng = np.random.default_rng(seed)
    start = np.stack([rng.uniform(0, 600, n), rng.uniform(100, 300, n)], -1)
    vel = rng.uniform(-6, 6, (n, 2))
    size = np.stack([rng.uniform(40, 60, n), rng.uniform(100, 140, n)], -1)
    for t in range(frames):
        c = start + vel * t
        yield np.concatenate([c - size / 2, c + size / 2], -1)


def test_ids_persist_across_a_synthetic_sequence():
    tr = Tracker()
    seen = []
    for boxes in _walkers():
        perm = np.random.default_rng(len(seen)).permutation(len(boxes))  # detector order varies
        ids = tr.update(boxes[perm])
        seen.append(ids[np.argsort(perm)])
    seen = np.array(seen)
    assert (seen == seen[0]).all(), "each walker keeps its first id"
    assert sorted(seen[0]) == [1, 2, 3, 4]


def test_missed_frames_keep_the_id_and_new_people_get_new_ids():
    tr = Tracker(max_age=3)
    box = np.array([[100, 100, 150, 220]], dtype=float)
    assert tr.update(box)[0] == 1
    tr.update(np.zeros((0, 4)))  # missed for two frames
    tr.update(np.zeros((0, 4)))
    assert tr.update(box + 4)[0] == 1
    assert list(tr.update(np.vstack([box + 8, [[400, 100, 450, 220]]]))) == [1, 2]
    for _ in range(5):
        tr.update(np.zeros((0, 4)))
    assert tr.active_ids == []
    assert tr.update(box)[0] == 3  # ids are never reused


def test_tracker_rejects_bad_parameters():
    with pytest.raises(ValueError, match="min_iou"):
        Tracker(min_iou=1.5)
    with pytest.raises(ValueError, match="max_age"):
        Tracker(max_age=-1)


def test_smoother_lag_matches_its_statement():
    s = Smoother(alpha=0.5)
    assert s.lag_frames == pytest.approx(1.0)
    out = [s(np.array([7]), np.full((1, 17, 3), float(t)))[0, 0, 0] for t in range(50)]
    assert out[-1] == pytest.approx(49 - s.lag_frames, abs=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        Smoother(0.0)


def test_smoother_resets_tracks_that_left():
    s = Smoother(alpha=0.5)
    s(np.array([1]), np.zeros((1, 17, 3)))
    s(np.array([2]), np.zeros((1, 17, 3)))  # track 1 unseen: its state is dropped
    out = s(np.array([1]), np.ones((1, 17, 3)))
    assert out[0, 0, 0] == 1.0
