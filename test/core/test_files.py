"""files.py: atomic writes and same-file checks; every writer of the package goes through them."""

import json
import os
import stat

import numpy as np
import pytest
import torch

from pose_lifting_core import files
from pose_lifting_core.files import atomic_path, same_file


def _listing(folder):
    return sorted(os.listdir(folder))


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "out.npz"
    out.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(str(out)) as tmp:
            open(tmp, "wb").write(b"half")
            raise KeyboardInterrupt
    assert out.read_bytes() == b"old" and _listing(tmp_path) == ["out.npz"]
    with atomic_path(str(out)) as tmp:
        # hidden, beside the target, with its extension (numpy's savez appends .npz otherwise)
        assert os.path.dirname(tmp) == str(tmp_path)
        name = os.path.basename(tmp)
        assert name.startswith(".out.tmp") and name.endswith(".npz")
        np.savez(tmp, a=np.arange(3))
        assert out.read_bytes() == b"old", "the target changes only at the end"
    with np.load(out) as z:
        assert z["a"].tolist() == [0, 1, 2]
    assert _listing(tmp_path) == ["out.npz"]


def test_permissions_and_links_are_those_of_a_plain_write(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_path(str(tmp_path / "sub" / "new.json")) as tmp:
            open(tmp, "w").write("{}")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(os.stat(tmp_path / "sub" / "new.json").st_mode) == 0o644
    kept = tmp_path / "kept.txt"
    kept.write_text("a")
    os.chmod(kept, 0o640)
    with atomic_path(str(kept)) as tmp:
        open(tmp, "w").write("b")
    assert kept.read_text() == "b" and stat.S_IMODE(os.stat(kept).st_mode) == 0o640
    link = tmp_path / "link.txt"
    link.symlink_to(kept)
    with atomic_path(str(link)) as tmp:
        open(tmp, "w").write("c")
    assert link.is_symlink() and kept.read_text() == "c"


def test_same_file_sees_through_spellings(tmp_path, monkeypatch):
    a = tmp_path / "a.png"
    a.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "soft.png").symlink_to(a)
    os.link(a, tmp_path / "hard.png")
    for spelling in ("a.png", "./a.png", "sub/../a.png", str(a), "soft.png", "hard.png"):
        assert same_file(spelling, str(a)), spelling
    assert same_file("sub/../new.npz", str(tmp_path / "new.npz")), "neither exists yet"
    (tmp_path / "b.png").write_bytes(b"x")
    assert not same_file("b.png", "a.png") and not same_file("new.npz", "a.png")


def _half_then_interrupt(*args, **kwargs):
    """A library writer interrupted half-way: some bytes land in its file, then SIGINT."""
    for a in args:
        if hasattr(a, "write"):  # json.dump(doc, fh)
            a.write("{")
            break
        if isinstance(a, str):  # np.savez(path), torch.save(obj, path), cv2.imwrite(path)
            open(a, "wb").write(b"PK\x03\x04 half an archive")
            break
    raise KeyboardInterrupt


def _writers(tmp_path):
    """(target file name, library function to interrupt, call that writes the target)."""
    from pose_lifting_core import media
    from pose_lifting_core.camera import project
    from pose_lifting_core.checkpoint import save_checkpoint
    from pose_lifting_core.codec import Codec, features_raw
    from pose_lifting_core.model import LinearModel
    from pose_lifting_core.tooling import lift_io
    from pose_lifting_core.tooling.adapt import save_pose_prior
    from pose_lifting_core.tooling.selfsup import PRIOR_JOINTS, PosePrior2D

    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    X = np.random.default_rng(0).normal(0, 0.3, (50, 17, 3)) + np.array([0, 0, 5.0])
    codec = Codec.fit(features_raw(project(X, K), np.ones((50, 17)), K), X - X[:, :1])

    def render_png(path):
        w = media.RenderWriter(path)
        w.write(np.zeros((8, 8, 3), np.uint8))
        w.close()

    return {
        "lift_output": (
            "o.npz",
            (np, "savez"),
            lambda p: lift_io.write_lift_output(
                p, np.zeros((1, 17, 3)), np.eye(3)[None], np.zeros(1), np.zeros(1)
            ),
        ),
        "lift_input": (
            "k.npz",
            (np, "savez"),
            lambda p: lift_io.write_lift_input(p, np.zeros((1, 17, 2)), np.ones((1, 17)), (4, 4)),
        ),
        "checkpoint": (
            "c.pt",
            (torch, "save"),
            lambda p: save_checkpoint(
                p, LinearModel(codec.in_dim, codec.out_dim, 8, 1), codec, {}, {}
            ),
        ),
        "pose_prior": (
            "p.pt",
            (torch, "save"),
            lambda p: save_pose_prior(
                p, PosePrior2D(2 * len(PRIOR_JOINTS), layers=2, hidden=8), {}
            ),
        ),
        "json": ("j.json", (json, "dump"), lambda p: files.write_json(p, {"a": 1})),
        "render_png": ("r.png", ("cv2", "imwrite"), render_png),
    }


@pytest.mark.parametrize(
    "writer", ["lift_output", "lift_input", "checkpoint", "pose_prior", "json", "render_png"]
)
def test_every_writer_leaves_an_existing_file_intact_when_interrupted(
    writer, tmp_path, monkeypatch
):
    import cv2

    name, (module, fn), write = _writers(tmp_path)[writer]
    target = tmp_path / name
    target.write_bytes(b"the previous, complete file")
    with monkeypatch.context() as m:
        m.setattr(cv2 if module == "cv2" else module, fn, _half_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            write(str(target))
    assert target.read_bytes() == b"the previous, complete file"
    assert _listing(tmp_path) == [name]
    write(str(target))  # uninterrupted: replaced, nothing left beside it
    assert target.read_bytes() != b"the previous, complete file"
    assert _listing(tmp_path) == [name]


def test_a_video_appears_only_when_complete(tmp_path):
    import cv2

    from pose_lifting_core.media import RenderWriter

    target = tmp_path / "r.mp4"
    target.write_bytes(b"old video")
    frame = np.full((32, 48, 3), 100, np.uint8)
    for commit in (False, True):
        w = RenderWriter(str(target), fps=5.0)
        for _ in range(3):
            w.write(frame)
        assert target.read_bytes() == b"old video", "encoded beside it, not over it"
        w.close(commit=commit)
        assert _listing(tmp_path) == ["r.mp4"]
    cap = cv2.VideoCapture(str(target))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    cap.release()
