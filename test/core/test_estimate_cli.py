"""`pose-lifting estimate`: real images through the whole chain, JSON output, render, errors."""

import json
import os

import pytest

from pose_lifting_core.skeleton import JOINT_NAMES
from pose_lifting_core.tooling.cli import main

from conftest import ROOT

SAMPLE = os.path.join(ROOT, "samples", "basketball1.png")


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_estimate_on_the_bundled_image(tmp_path, capsys):
    out_json, out_png = str(tmp_path / "o.json"), str(tmp_path / "r.png")
    code, out, err = _run(["estimate", SAMPLE, "--output", out_json, "--render", out_png], capsys)
    assert code == 0, err
    doc = json.load(open(out_json))
    assert set(doc) == {"intrinsics", "frames"}
    assert (
        set(doc["intrinsics"]) == {"fx", "fy", "cx", "cy", "estimated"}
        and doc["intrinsics"]["estimated"]
    )
    frame = doc["frames"][0]
    assert set(frame) == {"index", "time_s", "image_size", "intrinsics", "persons"}
    assert frame["image_size"] == [640, 480] and frame["intrinsics"] == doc["intrinsics"]
    assert len(frame["persons"]) == 2, "both people in basketball1.png"
    for p in frame["persons"]:
        assert set(p) == {"id", "score", "reprojection_error_px", "joints", "keypoints_2d"}
        assert list(p["joints"]) == list(JOINT_NAMES)
        assert 0.5 < p["joints"]["pelvis"][2] < 8.0, "plausible metric distance in metres"
    import cv2

    img = cv2.imread(out_png)
    assert img is not None and img.shape[0] == 480 and img.shape[1] > 640
    assert "2.0 people per frame" in out


def test_estimate_with_intrinsics_is_not_flagged(tmp_path, capsys):
    out_json = str(tmp_path / "o.json")
    code, _, err = _run(
        ["estimate", SAMPLE, "--intrinsics", "500", "500", "320", "240", "--output", out_json],
        capsys,
    )
    assert code == 0, err
    assert json.load(open(out_json))["intrinsics"] == {
        "fx": 500.0,
        "fy": 500.0,
        "cx": 320.0,
        "cy": 240.0,
        "estimated": False,
    }


def test_estimate_with_camera_info_yaml(tmp_path, capsys):
    y = tmp_path / "cam.yaml"
    y.write_text(
        "image_width: 640\nimage_height: 480\ncamera_name: test\n"
        "camera_matrix:\n  rows: 3\n  cols: 3\n"
        "  data: [520.0, 0, 318.0, 0, 521.0, 241.0, 0, 0, 1]\n"
        "distortion_model: plumb_bob\n"
        "distortion_coefficients:\n  rows: 1\n  cols: 5\n  data: [0, 0, 0, 0, 0]\n"
    )
    out_json = str(tmp_path / "o.json")
    assert (
        _run(["estimate", SAMPLE, "--camera-info", str(y), "--output", out_json], capsys)[0] == 0
    )
    assert json.load(open(out_json))["intrinsics"]["fx"] == 520.0


RECTIFIED_YAML = (
    "image_width: 640\nimage_height: 480\ncamera_name: test\n"
    "camera_matrix:\n  rows: 3\n  cols: 3\n  data: [520.0, 0, 318.0, 0, 521.0, 241.0, 0, 0, 1]\n"
    "distortion_model: plumb_bob\n"
    "distortion_coefficients:\n  rows: 1\n  cols: 5\n  data: [-0.2, 0.05, 0, 0, 0]\n"
    "rectification_matrix:\n  rows: 3\n  cols: 3\n  data: [1, 0, 0, 0, 1, 0, 0, 0, 1]\n"
    "projection_matrix:\n  rows: 3\n  cols: 4\n"
    "  data: [480.0, 0, 330.0, 0, 0, 482.0, 236.0, 0, 0, 0, 1, 0]\n"
)


def test_estimate_rectified_takes_P_and_no_distortion(tmp_path, capsys, monkeypatch):
    """Issue 23, item 2: `--camera-info` always applied K and D. A rectified input
    (`--rectified`, image_proc's image_rect) is lifted with the projection matrix's left 3x3
    and no distortion, by the nodes' rule (camera_model); a raw one with K and D."""
    import numpy as np

    from pose_lifting_core.pipeline import PoseEstimator

    seen = []
    real = PoseEstimator.process

    def record(self, image, K=None, time_s=None, distortion=None):
        seen.append((None if K is None else np.array(K), distortion))
        return real(self, image, K, time_s, distortion)

    monkeypatch.setattr(PoseEstimator, "process", record)
    y = tmp_path / "cam.yaml"
    y.write_text(RECTIFIED_YAML)
    out_json = str(tmp_path / "o.json")
    for flags, fx, K_want, D_want in (
        (["--rectified"], 480.0, [[480, 0, 330], [0, 482, 236], [0, 0, 1]], None),
        ([], 520.0, [[520, 0, 318], [0, 521, 241], [0, 0, 1]], [-0.2, 0.05, 0, 0, 0]),
    ):
        args = ["estimate", SAMPLE, "--camera-info", str(y), "--output", out_json, "--quiet"]
        code, _, err = _run(args + flags, capsys)
        assert code == 0 and "warning" not in err, err
        doc = json.load(open(out_json))
        assert doc["intrinsics"]["fx"] == fx and not doc["intrinsics"]["estimated"]
        K, distortion = seen[-1]
        np.testing.assert_array_equal(K, K_want)
        if D_want is None:
            assert distortion is None
        else:
            assert distortion[0] == "plumb_bob" and list(distortion[1]) == D_want
    _bad(["estimate", SAMPLE, "--rectified"], capsys, "--rectified needs --camera-info")
    no_p = tmp_path / "no_p.yaml"
    no_p.write_text(RECTIFIED_YAML.split("rectification_matrix")[0])
    code, _, err = _run(
        ["estimate", SAMPLE, "--camera-info", str(no_p), "--rectified", "--output", out_json],
        capsys,
    )
    assert code == 0 and "has no 3x4 projection matrix P" in err, err
    assert json.load(open(out_json))["intrinsics"]["estimated"]


def _bad(args, capsys, match):
    code, _, err = _run(args, capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and match in err, err


def test_unreadable_inputs(tmp_path, capsys):
    _bad(["estimate", str(tmp_path / "none.png")], capsys, "input not found")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png")
    _bad(["estimate", str(junk)], capsys, "cannot decode image")
    vid = tmp_path / "junk.mp4"
    vid.write_bytes(b"\x00" * 100)
    _bad(["estimate", str(vid)], capsys, "cannot decode video")
    (tmp_path / "empty").mkdir()
    _bad(["estimate", str(tmp_path / "empty")], capsys, "has no images")
    txt = tmp_path / "a.txt"
    txt.write_text("x")
    _bad(["estimate", str(txt)], capsys, "unknown input type")


def test_bad_intrinsics(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["estimate", SAMPLE, "--intrinsics", "0", "500", "320", "240"])
    assert "must be a positive number" in capsys.readouterr().err
    y = tmp_path / "zero.yaml"
    y.write_text(
        "image_width: 640\nimage_height: 480\n"
        "camera_matrix:\n  data: [0, 0, 0, 0, 0, 0, 0, 0, 0]\n"
    )
    _bad(["estimate", SAMPLE, "--camera-info", str(y)], capsys, "invalid camera matrix")
    y2 = tmp_path / "size.yaml"
    y2.write_text(
        "image_width: 1280\nimage_height: 720\n"
        "camera_matrix:\n  data: [900, 0, 640, 0, 900, 360, 0, 0, 1]\n"
    )
    _bad(["estimate", SAMPLE, "--camera-info", str(y2)], capsys, "camera_info is for 1280x720")
    y3 = tmp_path / "broken.yaml"
    y3.write_text("camera_matrix: [unclosed\n")
    _bad(["estimate", SAMPLE, "--camera-info", str(y3)], capsys, "not valid YAML")


def test_a_bad_file_in_a_folder_is_skipped_and_counted(tmp_path, capsys):
    import shutil

    shutil.copy(SAMPLE, tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"")  # an empty file
    shutil.copy(SAMPLE, tmp_path / "c.png")
    out_json = str(tmp_path / "out" / "o.json")
    code, out, err = _run(["estimate", str(tmp_path), "--output", out_json, "--quiet"], capsys)
    assert code == 0, err
    assert f"warning: skipped {tmp_path}/b.png: cannot decode image" in err
    assert "2 frame(s)" in out and "1 unreadable file(s) skipped" in out
    assert len(json.load(open(out_json))["frames"]) == 2


def test_nothing_processable_and_unwritable_outputs_fail_before_work(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"not an image")
    code, _, err = _run(["estimate", str(bad), "--quiet"], capsys)
    assert code == 2 and "no image in folder" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "taken").mkdir()
    code, _, err = _run(["estimate", SAMPLE, "--output", str(tmp_path / "taken")], capsys)
    assert code == 2 and "is a folder" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _run(["estimate", SAMPLE, "--output", str(blocker / "o.json")], capsys)
    assert code == 2 and "cannot create the folder" in err


def test_estimate_leaves_implausible_people_out_and_says_why(tmp_path, capsys, monkeypatch):
    """Issue 22, item 3: a detection whose keypoints all sit at one pixel was lifted at 0.10 m
    as a plain result. `estimate` (the pipeline the nodes share) leaves it out, and the summary
    and one warning count such people by reason."""
    import numpy as np

    from conftest import STANDING
    from pose_lifting_core.camera import intrinsics_from_fov, project
    from pose_lifting_core.detection import Person2D
    from pose_lifting_core.detection import blazepose

    kp = project(STANDING + np.array([0.0, 0.1, 4.0]), intrinsics_from_fov(640, 480).K)
    people = [
        Person2D(kp, np.ones(17), [0, 0, 640, 480], 0.9, "h36m17"),
        Person2D(np.tile(kp[:1], (17, 1)), np.ones(17), [0, 0, 1, 1], 0.9, "h36m17"),
    ]

    class TwoPeople:
        layout = "h36m17"

        def __init__(self, **kwargs):
            pass

        def detect(self, image):
            return people

    monkeypatch.setattr(blazepose, "BlazePoseDetector", TwoPeople)
    out_json = str(tmp_path / "o.json")
    code, out, err = _run(["estimate", SAMPLE, "--output", out_json, "--quiet"], capsys)
    assert code == 0, err
    why = "1 implausible people left out (1 with keypoints all within 2 px of each other)"
    assert why in out, out
    assert err.strip() == (
        "warning: 1 implausible people left out: 1 with keypoints all within 2 px of each other"
    )
    persons = json.load(open(out_json))["frames"][0]["persons"]
    assert len(persons) == 1 and 3.4 < persons[0]["joints"]["pelvis"][2] < 4.6


def test_a_folder_of_images_of_different_sizes_is_not_one_video(tmp_path, capsys):
    """Issue 22, item 5: a 640x480 photo and a 2x upscale of it in one folder were tracked as one
    video: the larger got its person at 4.80 m instead of 2.54 m and missed the other, a 640x480
    `--camera-info` was applied to it without a word, and `--keypoints-out` stored 640x480 for
    every frame. Each frame now has its own size and intrinsics, and frames of different sizes
    are never linked."""
    import cv2
    import numpy as np

    folder = tmp_path / "photos"
    folder.mkdir()
    img = cv2.imread(SAMPLE)
    cv2.imwrite(str(folder / "a.png"), img)
    cv2.imwrite(str(folder / "b.png"), cv2.resize(img, (1280, 960)))
    out_json, kp_out = str(tmp_path / "o.json"), str(tmp_path / "kp.npz")
    args = ["estimate", str(folder), "--output", out_json, "--quiet"]
    code, out, err = _run(args + ["--keypoints-out", kp_out], capsys)
    assert code == 0, err
    a, b = json.load(open(out_json))["frames"]
    assert (a["image_size"], b["image_size"]) == ([640, 480], [1280, 960])
    assert a["intrinsics"]["estimated"] and b["intrinsics"]["cx"] == 2 * a["intrinsics"]["cx"]
    assert len(a["persons"]) == len(b["persons"]) == 2, "both people in both images"
    z = lambda f: sorted(p["joints"]["pelvis"][2] for p in f["persons"])  # noqa: E731
    np.testing.assert_allclose(z(b), z(a), rtol=0.1)  # the same scene, the same distances
    assert not {p["id"] for p in a["persons"]} & {p["id"] for p in b["persons"]}, "not linked"
    with np.load(kp_out) as kp:
        n_a = len(a["persons"])
        assert kp["image_size"].tolist() == [[640, 480]] * n_a + [[1280, 960]] * (4 - n_a)
    # the keypoints file lifts, each row with its own image's prior
    code, out, _ = _run(["lift", "--keypoints", kp_out, "--output", str(tmp_path / "l")], capsys)
    assert code == 0 and "lifted 4/4" in out
    with np.load(str(tmp_path / "l.npz")) as lifted:
        assert lifted["K"][:, 0, 2].tolist() == [320.0] * n_a + [640.0] * (4 - n_a)
    # a camera_info for 640x480: used for that size; the other size gets the prior, warned once
    y = tmp_path / "cam.yaml"
    y.write_text(
        "image_width: 640\nimage_height: 480\n"
        "camera_matrix:\n  data: [520.0, 0, 318.0, 0, 521.0, 241.0, 0, 0, 1]\n"
    )
    cv2.imwrite(str(folder / "c.png"), cv2.resize(img, (1280, 960)))
    code, out, err = _run(args + ["--camera-info", str(y)], capsys)
    assert code == 0, err
    assert err.strip() == (
        "warning: camera_info is for 640x480 but the image is 1280x960: intrinsics estimated "
        "from a 60 deg field of view"
    )
    frames = json.load(open(out_json))["frames"]
    assert [f["intrinsics"]["estimated"] for f in frames] == [False, True, True]
    assert frames[0]["intrinsics"]["fx"] == 520.0


def test_a_folder_of_photos_outputs_new_people_at_once():
    """A folder's photos need not be a sequence: a person who appears in a later photo is output
    at once (tracker_min_hits 1), not held back until a second photo as in a video or a bag,
    where one-frame false detections must not become tracks."""
    import argparse
    import types

    from pose_lifting_core.tooling.cli import _pipeline_config

    args = argparse.Namespace(
        checkpoint=None,
        device="cpu",
        precision="auto",
        landmark_model="full",
        person_detector="both",
        max_people=10,
        max_distance=50.0,
        hfov=60.0,
    )
    hits = {k: _pipeline_config(args, types.SimpleNamespace(kind=k)) for k in ("folder", "video")}
    assert hits["folder"].track and hits["folder"].tracker_min_hits == 1
    assert hits["video"].track and hits["video"].tracker_min_hits == 2
