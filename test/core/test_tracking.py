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
    other = [[400, 100, 450, 220]]
    assert list(tr.update(np.vstack([box + 8, other]))) == [1, 0]  # new: tentative
    assert list(tr.update(np.vstack([box + 12, other]))) == [1, 2]  # seen twice: an id
    for _ in range(5):
        tr.update(np.zeros((0, 4)))
    assert tr.active_ids == []
    assert tr.update(box)[0] == 0
    assert tr.update(box)[0] == 3  # ids are never reused


def test_tracker_rejects_bad_parameters():
    with pytest.raises(ValueError, match="min_iou"):
        Tracker(min_iou=1.5)
    with pytest.raises(ValueError, match="max_age"):
        Tracker(max_age=-1)
    with pytest.raises(ValueError, match="min_hits"):
        Tracker(min_hits=0)


def test_a_one_frame_blip_never_becomes_a_track():
    """SORT's rule (min_hits): a new person gets an id once seen in min_hits frames in a row;
    until then id 0, and one miss ends the tentative track without using up an id (on
    vtest.avi 12 of 72 ids lasted a single frame). People of the first frame after
    construction or reset get ids at once, so a photo or a video's first frame has ids."""
    box = np.array([[100.0, 100.0, 150.0, 220.0]])
    blip = np.array([[400.0, 100.0, 450.0, 220.0]])
    tr = Tracker()
    assert list(tr.update(box)) == [1]  # first frame: at once
    assert list(tr.update(np.vstack([box, blip]))) == [1, 0]
    assert list(tr.update(box)) == [1]  # the blip is gone, its track ended
    assert list(tr.update(np.vstack([box, blip]))) == [1, 0]  # seen again: tentative again
    assert list(tr.update(np.vstack([box, blip]))) == [1, 2]  # twice in a row: id 2, not 3
    assert tr.active_ids == [1, 2]
    tr.reset()
    assert list(tr.update(blip)) == [3]  # after a reset: at once again
    three = Tracker(min_hits=3)
    three.update(box)
    assert [int(three.update(np.vstack([box, blip]))[1]) for _ in range(3)] == [0, 0, 2]
    at_once = Tracker(min_hits=1)
    at_once.update(box)
    assert list(at_once.update(np.vstack([box, blip]))) == [1, 2]


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


def test_a_narrow_walker_keeps_its_id_through_misses_without_overlap():
    """A far pedestrian's box is narrower than their step between frames: consecutive boxes do
    not overlap, and matching by overlap alone gave a new id every frame (vtest.avi: 64 ids in
    795 frames, median track 15 frames). Matched by the distance from the predicted centre, they
    keep one id, also through two missed frames."""
    tr = Tracker(max_age=5)
    box = np.array([100.0, 100.0, 120.0, 180.0])  # 20 x 80 px, 25 px a frame to the right
    ids = []
    for t in range(12):
        if t in (5, 6):
            tr.update(np.zeros((0, 4)))
            continue
        ids.append(int(tr.update((box + [25 * t, 0, 25 * t, 0])[None])[0]))
    assert ids == [1] * 10, ids
    # someone else, far from the prediction or of another size, is not that person: new
    # (tentative) tracks, given ids when seen again
    others = np.array([[100.0, 100.0, 120.0, 180.0], [380, 200, 440, 440]])
    assert list(tr.update(others)) == [0, 0]
    assert list(tr.update(others)) == [2, 3]


def test_an_impossible_distance_jump_is_not_the_same_person():
    """Where the people's distances are given, a detection on a track's box whose distance
    differs from the track's by more than MAX_DISTANCE_CHANGE per frame (a walking person's
    cannot change by 20 % in a frame) does not take the track's id; the person, found again at
    a possible distance, does. A slow camera allows for MAX_SPEED_MPS over the time between."""
    from pose_lifting_core.tracking import MAX_DISTANCE_CHANGE, MAX_SPEED_MPS

    tr = Tracker()
    box = np.array([[300.0, 100.0, 340.0, 220.0]])
    assert tr.update(box, np.array([10.0]))[0] == 1
    assert tr.update(box + 1, np.array([10.3]))[0] == 1
    jump = 10.3 * (1 + MAX_DISTANCE_CHANGE) * 1.2
    assert tr.update(box + 2, np.array([jump]))[0] == 0  # 6.7 m to 11.6 m on vtest.avi
    assert tr.update(box + 3, np.array([10.4]))[0] == 1  # the person again: the old id
    assert tr.update(box + 3, np.array([np.nan]))[0] == 1  # an unknown distance gates nothing
    # 2 frames/s: 3.0 m to 3.7 m in 0.5 s (1.4 m/s) is a walk, 3.0 to 6.0 m is not
    slow = Tracker()
    assert slow.update(box, np.array([3.0]), time_s=0.0)[0] == 1
    assert slow.update(box, np.array([3.7]), time_s=0.5)[0] == 1
    assert 0.5 * MAX_SPEED_MPS < 3.0
    assert slow.update(box, np.array([3.7 + 3.0]), time_s=1.0)[0] == 0  # not track 1
