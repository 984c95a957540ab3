"""`pose-lifting lift`: the happy path and every bad-input path (one line, non-zero exit)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from pose_lifting_core.camera import project
from pose_lifting_core.codec import Codec, features_raw
from pose_lifting_core.lifter import save_checkpoint
from pose_lifting_core.model import LinearModel
from pose_lifting_core.skeleton import JOINT_NAMES
from pose_lifting_core.tooling.cli import main
from conftest import ROOT, STANDING, poisoned_checkpoint

K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])


@pytest.fixture()
def tiny_ckpt(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.3, (200, 17, 3)) + np.array([0, 0, 5.0])
    kp = project(X, K)
    codec = Codec.fit(features_raw(kp, np.ones((200, 17)), K), X - X[:, :1])
    path = str(tmp_path / "tiny.pt")
    save_checkpoint(path, LinearModel(codec.in_dim, codec.out_dim, 16, 1), codec, {}, {})
    return path


def _standing_h36m(n=4):
    """Pixel keypoints of a standing person (h36m17 layout) about 4 m in front of the camera."""
    base = STANDING.copy()
    X = base[None] + np.array([[0.3 * i, 0.2, 4.0 + i] for i in range(n)])[:, None]
    return X, project(X, K)


def _write(tmp_path, name="in.npz", **arrays):
    path = str(tmp_path / name)
    np.savez(path, **arrays)
    return path


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lift_with_known_K_writes_the_documented_output(tmp_path, capsys):
    X, kp = _standing_h36m()
    src = _write(tmp_path, keypoints=kp, layout="h36m17", K=K)
    dst = str(tmp_path / "out" / "o.npz")
    code, out, err = _run(["lift", "--keypoints", src, "--output", dst], capsys)
    assert code == 0, err
    with np.load(dst) as z:
        assert z["joints_3d"].shape == (4, 17, 3)
        assert list(z["joint_names"]) == list(JOINT_NAMES)
        assert z["K"].shape == (4, 3, 3) and not z["K_estimated"].any()
        assert z["reprojection_error_px"].shape == (4,)
        depth = z["joints_3d"][:, 0, 2]
        np.testing.assert_allclose(
            depth, X[:, 0, 2], rtol=0.15
        )  # metric distance from the shipped model
        assert (z["reprojection_error_px"] < 15).all()
    assert "lifted 4/4" in out


def test_lift_without_K_uses_the_prior_and_flags_it(tmp_path, capsys):
    _, kp = _standing_h36m(2)
    src = _write(
        tmp_path, keypoints=kp[:, :, :], layout="h36m17", image_size=np.array([1280, 720])
    )
    dst = str(tmp_path / "o.npz")
    assert _run(["lift", "--keypoints", src, "--output", dst, "--hfov", "90"], capsys)[0] == 0
    with np.load(dst) as z:
        assert z["K_estimated"].all()
        assert z["K"][0, 0, 0] == pytest.approx(640.0) and z["K"][0, 0, 2] == 640


def test_all_zero_K_is_treated_as_unknown(tmp_path, capsys):
    _, kp = _standing_h36m(1)
    src = _write(
        tmp_path,
        keypoints=kp,
        layout="h36m17",
        K=np.zeros((3, 3)),
        image_size=np.array([1280, 720]),
    )
    assert _run(["lift", "--keypoints", src, "--output", str(tmp_path / "o.npz")], capsys)[0] == 0
    with np.load(str(tmp_path / "o.npz")) as z:
        assert z["K_estimated"].all()


def test_coco_input_with_scores(tmp_path, capsys, tiny_ckpt):
    kp = np.random.default_rng(1).uniform(100, 600, (3, 17, 2))
    src = _write(tmp_path, keypoints=kp, scores=np.full((3, 17), 0.9), K=K)
    assert (
        _run(
            [
                "lift",
                "--keypoints",
                src,
                "--output",
                str(tmp_path / "o.npz"),
                "--checkpoint",
                tiny_ckpt,
            ],
            capsys,
        )[0]
        == 0
    )


def _bad(tmp_path, capsys, match, ckpt=None, **arrays):
    src = _write(tmp_path, **arrays) if arrays else str(tmp_path / "missing.npz")
    args = ["lift", "--keypoints", src, "--output", str(tmp_path / "o.npz")]
    if ckpt:
        args += ["--checkpoint", ckpt]
    code, _, err = _run(args, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert match in err, err
    assert not os.path.exists(str(tmp_path / "o.npz"))


def test_missing_file(tmp_path, capsys):
    _bad(tmp_path, capsys, "input file not found")


def test_not_an_npz(tmp_path, capsys):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"this is not a zip file")
    code, _, err = _run(
        ["lift", "--keypoints", str(path), "--output", str(tmp_path / "o.npz")], capsys
    )
    assert code == 2 and "cannot read" in err and len(err.strip().splitlines()) == 1


def test_missing_keypoints_key(tmp_path, capsys):
    _bad(tmp_path, capsys, "no 'keypoints'", points=np.zeros((1, 17, 2)))


def test_wrong_shape(tmp_path, capsys):
    _bad(tmp_path, capsys, "(N, 17, 2)", keypoints=np.zeros((1, 16, 2)), K=K)


def test_wrong_shape_for_layout(tmp_path, capsys):
    _bad(tmp_path, capsys, "(N, 33, 2)", keypoints=np.zeros((1, 17, 2)), layout="blazepose33", K=K)


def test_nan_keypoints(tmp_path, capsys):
    kp = np.ones((2, 17, 2))
    kp[1, 3, 0] = np.nan
    _bad(tmp_path, capsys, "NaN", keypoints=kp, K=K)


def test_unknown_layout(tmp_path, capsys):
    _bad(
        tmp_path,
        capsys,
        "unknown layout 'openpose'",
        keypoints=np.ones((1, 17, 2)),
        layout="openpose",
        K=K,
    )


def test_bad_scores(tmp_path, capsys):
    _bad(
        tmp_path,
        capsys,
        "'scores' must have shape",
        keypoints=np.ones((2, 17, 2)),
        scores=np.ones((2, 5)),
        K=K,
    )
    _bad(
        tmp_path,
        capsys,
        "[0, 1]",
        keypoints=np.ones((2, 17, 2)),
        scores=np.full((2, 17), 3.0),
        K=K,
    )


def test_bad_K(tmp_path, capsys):
    _bad(tmp_path, capsys, "'K' must have shape", keypoints=np.ones((2, 17, 2)), K=np.eye(4))
    _bad(tmp_path, capsys, "non-positive focal", keypoints=np.ones((2, 17, 2)), K=-K)
    nan_K = K.copy()
    nan_K[0, 0] = np.nan
    _bad(tmp_path, capsys, "'K' has 1 NaN", keypoints=np.ones((2, 17, 2)), K=nan_K)


def test_no_K_and_no_image_size(tmp_path, capsys):
    _bad(tmp_path, capsys, "no usable 'K' and no 'image_size'", keypoints=np.ones((2, 17, 2)))


def test_bad_image_size(tmp_path, capsys):
    _bad(
        tmp_path,
        capsys,
        "'image_size' must be two positive",
        keypoints=np.ones((2, 17, 2)),
        image_size=np.array([640, 0]),
    )


def test_text_keypoints(tmp_path, capsys):
    _bad(tmp_path, capsys, "must be numeric", keypoints=np.array([["a"] * 2] * 17)[None], K=K)


def test_missing_checkpoint(tmp_path, capsys):
    _bad(
        tmp_path,
        capsys,
        "checkpoint not found",
        ckpt=str(tmp_path / "nope.pt"),
        keypoints=np.ones((1, 17, 2)),
        K=K,
    )


def test_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage" * 100)
    _bad(tmp_path, capsys, "corrupt", ckpt=str(bad), keypoints=np.ones((1, 17, 2)), K=K)


def test_a_checkpoint_with_non_finite_weights_is_one_line(tmp_path, capsys, tiny_ckpt):
    """`lift` with a NaN checkpoint said "lifted 0/4" with exit 0; now one line, exit 2."""
    bad = str(tmp_path / "nan.pt")
    poisoned_checkpoint(tiny_ckpt, bad)
    _bad(tmp_path, capsys, "NaN or infinite values", ckpt=bad, keypoints=np.ones((1, 17, 2)), K=K)


def test_bad_argument_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["lift", "--keypoints", "a", "--output", "b", "--hfov", "-3"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_console_script_exits_non_zero_with_one_line(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "pose-lifting")
    if not os.path.exists(exe):
        pytest.skip("pose-lifting console script not installed (run scripts/setup.sh)")
    r = subprocess.run(
        [
            exe,
            "lift",
            "--keypoints",
            str(tmp_path / "none.npz"),
            "--output",
            str(tmp_path / "o.npz"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "input file not found" in r.stderr


@pytest.mark.parametrize("mode", ["pooled", "fused"])
def test_lift_pooled_focal_modes(tmp_path, capsys, mode):
    _, kp = _standing_h36m(4)
    src = _write(tmp_path, keypoints=kp, layout="h36m17", image_size=np.array([1280, 720]))
    code, out, err = _run(
        ["lift", "--keypoints", src, "--output", str(tmp_path / "o.npz"), "--focal", mode], capsys
    )
    assert code == 0, err
    assert "pooled focal estimate" in out
    with np.load(str(tmp_path / "o.npz")) as z:
        assert z["K_estimated"].all() and (z["K"][:, 0, 0] > 0).all()


def test_fetch_models_lists_and_reports_failures_in_one_line(tmp_path, capsys, monkeypatch):
    code, out, _ = _run(["fetch-models", "--dir", str(tmp_path), "--list"], capsys)
    assert code == 0 and f"detector: missing {tmp_path}/pose_detection.tflite" in out
    from pose_lifting_core.detection import DetectorError, models

    def offline(source, tmp):
        raise DetectorError("pip download mediapipe==0.10.21 failed: no network")

    monkeypatch.setattr(models, "_download_package", offline)
    code, _, err = _run(["fetch-models", "--dir", str(tmp_path), "--models", "detector"], capsys)
    assert code == 2 and err.strip() == (
        "pose-lifting fetch-models: error: pip download mediapipe==0.10.21 failed: no network"
    )


@pytest.mark.parametrize(
    "args, match",
    [
        (["evaluate", "--samples", "0"], "argument --samples: must be in [1, 10000000], got '0'"),
        (
            ["evaluate", "--noise-px", "nan"],
            "argument --noise-px: must be in [0, 1000], got 'nan'",
        ),
        (["train", "--epochs", "2.5"], "argument --epochs: not an integer: '2.5'"),
        (["train", "--stature-prior-fraction", "1.5"], "must be in [0, 1], got '1.5'"),
        (
            ["estimate", "x.png", "--max-people", "0"],
            "argument --max-people: must be in [1, 1000]",
        ),
        (["estimate", "x.png", "--smoothing", "0"], "argument --smoothing: must be in [0.01, 1]"),
        (
            ["lift", "--keypoints", "a", "--output", "b", "--hfov", "0.0001"],
            "argument --hfov: must be in [10, 170], got '0.0001'",
        ),
        (["estimate", "x.png", "--hfov", "179"], "argument --hfov: must be in [10, 170]"),
        (["adapt", "a.npz", "--output", "b.pt", "--hfov", "5"], "argument --hfov: must be in"),
        (["lift", "--keypoints", "a", "--output", "b", "--max-distance", "0"], "must be in"),
    ],
)
def test_numeric_arguments_are_range_checked_in_one_line(args, match, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and match in err, err


def test_lift_prints_the_path_it_wrote(tmp_path, capsys):
    X, kp = _standing_h36m()
    path = _write(tmp_path, keypoints=kp, layout="h36m17", K=K)
    code, out, _ = _run(
        ["lift", "--keypoints", path, "--output", str(tmp_path / "result")], capsys
    )
    assert code == 0 and f"-> {tmp_path}/result.npz" in out
    assert os.path.isfile(tmp_path / "result.npz")


def test_lift_does_not_use_an_implausible_K(tmp_path, capsys):
    X, kp = _standing_h36m()
    tiny = np.array([[5e-7, 0, 640], [0, 5e-7, 360], [0, 0, 1.0]])
    path = _write(
        tmp_path, keypoints=kp, layout="h36m17", K=tiny, image_size=np.array([1280, 720])
    )
    code, out, err = _run(
        ["lift", "--keypoints", path, "--output", str(tmp_path / "o.npz")], capsys
    )
    assert code == 0 and "implausible for a 1280 px wide image" in err and "K not used" in err
    with np.load(str(tmp_path / "o.npz")) as z:
        assert z["K_estimated"].all() and z["K"][0, 0, 0] > 100
    path = _write(
        tmp_path,
        name="nosize.npz",
        keypoints=kp,
        layout="h36m17",
        K=np.array([[500.0, 3, 640], [0, 500, 360], [0, 0, 1]]),
    )
    code, _, err = _run(["lift", "--keypoints", path, "--output", str(tmp_path / "p.npz")], capsys)
    assert code == 2 and "skew" in err and "image_size to use the prior" in err


# --- implausible inputs (issue 22, item 3) ---------------------------------------------------
def _K_with(**entries):
    k = K.copy()
    for name, v in entries.items():
        k[{"fx": (0, 0), "fy": (1, 1), "cx": (0, 2)}[name]] = v
    return k


@pytest.mark.parametrize(
    "arrays, match",
    [
        (
            {"K": _K_with(cx=1e9)},  # was lifted to a median 48,108 km with exit 0
            "K's principal point (1e+09, 360) implies an implausible 2e+09x720 px image; give a "
            "plausible K, or image_size to use the prior",
        ),
        (
            {"K": _K_with(fx=1e-6, fy=1e-6)},  # was lifted to 0.10 m with exit 0
            "fx=1e-06, fy=1e-06 px are implausible for the 1280 px wide image its principal",
        ),
        (
            {"K": _K_with(cx=1e9), "image_size": np.array([1, 1])},
            "'image_size': image size 1x1 px is implausible: each side must be 16-100000 px",
        ),
        ({"image_size": np.array([1e15, 1e15])}, "image size 1e+15x1e+15 px is implausible"),
    ],
)
def test_an_implausible_K_or_image_size_is_one_line_and_exit_2(tmp_path, capsys, arrays, match):
    """RELIABILITY.md promised exit 2 for an implausible K without image_size; it was lifted."""
    _, kp = _standing_h36m()
    _bad(tmp_path, capsys, match, keypoints=kp, layout="h36m17", **arrays)


def test_implausible_people_are_written_as_nan_with_the_reason(tmp_path, capsys):
    """All 17 joints at one pixel were lifted at 0.10 m (445 px reprojection error) and keypoints
    scaled by 1e27 to 1.6e26 m, as plain results. They are no results now: NaN rows, the reason
    in dropped_reason, and one warning counting them by reason."""
    X, kp = _standing_h36m(4)
    kp[1] = kp[1, 4]  # every joint at one pixel
    kp[2] *= 1e27
    src = _write(tmp_path, keypoints=kp, layout="h36m17", K=K)
    dst = str(tmp_path / "o.npz")
    code, out, err = _run(["lift", "--keypoints", src, "--output", dst], capsys)
    assert code == 0 and "lifted 2/4 people" in out, (out, err)
    assert err.strip() == (
        f"warning: 2 of 4 people not lifted (NaN in {dst}, reason in dropped_reason): 1 with "
        "keypoints all within 2 px of each other, 1 placed farther than 50 m (the maximum "
        "distance)"
    )
    with np.load(dst) as z:
        assert z["dropped_reason"].tolist() == ["", "degenerate_2d", "too_far", ""]
        assert (
            np.isnan(z["joints_3d"][1:3]).all() and np.isnan(z["reprojection_error_px"][1:3]).all()
        )
        np.testing.assert_allclose(z["joints_3d"][[0, 3], 0, 2], X[[0, 3], 0, 2], rtol=0.15)
    code, out, err = _run(
        ["lift", "--keypoints", src, "--output", dst, "--max-distance", "4.5"], capsys
    )
    assert code == 0 and "lifted 1/4 people" in out and "2 placed farther than 4.5 m" in err


# --- outputs never destroy inputs (issue 22, item 4) --------------------------------------------
SAMPLE_IMAGE = os.path.join(ROOT, "samples", "basketball1.png")


def _clash_case(case, tmp_path, tiny_ckpt):
    """(argv, the input file that must survive) for one way of naming an input as an output."""
    import shutil

    X, kp = _standing_h36m()
    kin = _write(tmp_path, name="IN.npz", keypoints=kp, layout="h36m17", K=K)
    img = str(tmp_path / "x.png")
    shutil.copy(SAMPLE_IMAGE, img)
    (tmp_path / "sub").mkdir()
    for link in ("link.pt", "link.npz"):
        os.symlink(tiny_ckpt, tmp_path / link)
    lift = ["lift", "--keypoints", kin, "--checkpoint", tiny_ckpt, "--output"]
    adapt = ["adapt", kin, "--checkpoint", tiny_ckpt, "--epochs", "1", "--quiet", "--output"]
    nowhere = str(tmp_path / "none")
    evaluate = ["evaluate", "--checkpoint", tiny_ckpt, "--data-dir", nowhere, "--cache-dir"]
    return {
        "lift_output_is_input": (lift + [kin], kin),
        "lift_output_gains_npz": (lift + [kin[: -len(".npz")]], kin),
        "lift_output_is_checkpoint_via_link": (lift + [str(tmp_path / "link.npz")], tiny_ckpt),
        "adapt_output_is_input": (adapt + [str(tmp_path / "sub" / ".." / "IN.npz")], kin),
        "adapt_output_is_checkpoint": (adapt + [tiny_ckpt], tiny_ckpt),
        "evaluate_json_is_checkpoint": (
            evaluate + [nowhere, "--json", str(tmp_path / "link.pt")],
            tiny_ckpt,
        ),
        "estimate_output_is_image": (["estimate", img, "--output", img], img),
        "estimate_render_is_image": (["estimate", img, "--render", os.path.relpath(img)], img),
        "estimate_render_is_an_image_of_the_folder": (
            ["estimate", str(tmp_path), "--render", img],
            img,
        ),
        "estimate_keypoints_out_is_checkpoint": (
            [
                "estimate",
                img,
                "--checkpoint",
                tiny_ckpt,
                "--keypoints-out",
                str(tmp_path / "link.npz"),
            ],
            tiny_ckpt,
        ),
    }[case]


@pytest.mark.parametrize(
    "case",
    [
        "lift_output_is_input",
        "lift_output_gains_npz",
        "lift_output_is_checkpoint_via_link",
        "adapt_output_is_input",
        "adapt_output_is_checkpoint",
        "evaluate_json_is_checkpoint",
        "estimate_output_is_image",
        "estimate_render_is_image",
        "estimate_render_is_an_image_of_the_folder",
        "estimate_keypoints_out_is_checkpoint",
    ],
)
def test_an_output_that_is_an_input_is_refused_before_any_work(case, tmp_path, capsys, tiny_ckpt):
    """However the path is spelt (relative, `..`, a symbolic link, .npz appended), an output that
    names an input is refused in one line, exit 2, and the input is left as it was."""
    argv, survivor = _clash_case(case, tmp_path, tiny_ckpt)
    before = open(survivor, "rb").read()
    listing = sorted(os.listdir(tmp_path))
    code, out, err = _run(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "would destroy it: choose another output path" in err, err
    assert open(survivor, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == listing, "nothing written"


def test_two_outputs_on_one_file_are_refused(tmp_path, capsys):
    out, keypoints_out = str(tmp_path / "o.npz"), str(tmp_path / "o")
    argv = ["estimate", SAMPLE_IMAGE, "--output", out, "--keypoints-out", keypoints_out]
    code, _, err = _run(argv, capsys)
    assert code == 2 and "--output and --keypoints-out name the same file" in err, err


def test_sigint_while_lift_writes_keeps_the_old_output(tmp_path, capsys, monkeypatch):
    """SIGINT while `lift` writes over an existing OUT.npz: OUT.npz stays the complete earlier
    file (the new one goes to a temporary file beside it), and nothing is left beside it."""
    X, kp = _standing_h36m()
    src = _write(tmp_path, name="in.npz", keypoints=kp, layout="h36m17", K=K)
    dst = tmp_path / "out" / "OUT.npz"
    assert _run(["lift", "--keypoints", src, "--output", str(dst)], capsys)[0] == 0
    before = dst.read_bytes()

    def interrupted_savez(file, *args, **kwds):
        open(file, "wb").write(before[: len(before) // 2])  # half an archive, then SIGINT
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted_savez)
    code, _, err = _run(["lift", "--keypoints", src, "--output", str(dst)], capsys)
    assert code == 130 and "interrupted" in err
    assert dst.read_bytes() == before and os.listdir(dst.parent) == ["OUT.npz"]
    with np.load(dst) as z:
        assert z["joints_3d"].shape == (4, 17, 3)


def test_precision_help_says_what_auto_picks(monkeypatch, capsys):
    """--precision's help says what `auto` picks, and resolve_precision picks just that: bf16 on
    a CPU that multiplies bf16 natively, else fp32 (never int8, even where int8 kernels exist);
    fp32 on CUDA. (The help said auto picks int8 on x86.)"""
    import torch

    from pose_lifting_core import lifter

    monkeypatch.setenv("COLUMNS", "1000")  # one line per option: no hyphen broken by wrapping
    said = "auto: bf16 on CPUs that multiply bf16 natively (AVX512-BF16 or AMX), else fp32; "
    for command in ("lift", "estimate", "evaluate"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert said + "fp32 on CUDA" in text, text
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    for have, device, picked in [
        (("fp32", "bf16", "int8"), cpu, "bf16"),
        (("fp32", "int8"), cpu, "fp32"),
        (("fp32", "bf16"), cuda, "fp32"),
    ]:
        monkeypatch.setattr(lifter, "available_precisions", lambda d, have=have: have)
        assert lifter.resolve_precision("auto", device) == picked, (have, device)


def test_rows_of_several_image_sizes_get_their_own_prior(tmp_path, capsys):
    """Issue 22, item 5: `estimate --keypoints-out` on a folder of images of different sizes
    stores each person's own image size, (N, 2). `lift` gives each row its own image's prior;
    what pools one camera (`--focal pooled`, `adapt` without K) refuses in one line."""
    _, kp = _standing_h36m(2)
    sizes = np.array([[1280, 720], [640, 360]])
    src = _write(tmp_path, keypoints=kp, layout="h36m17", image_size=sizes)
    dst = str(tmp_path / "o.npz")
    code, out, err = _run(["lift", "--keypoints", src, "--output", dst], capsys)
    assert code == 0 and "K estimated: f=554-1109 px" in out, (out, err)
    with np.load(dst) as z:
        assert z["K"][:, 0, 2].tolist() == [640.0, 320.0] and z["K_estimated"].all()
        assert z["K"][1, 0, 0] == pytest.approx(z["K"][0, 0, 0] / 2)
    code, _, err = _run(["lift", "--keypoints", src, "--output", dst, "--focal", "pooled"], capsys)
    assert code == 2 and "images of several sizes (image_size per row)" in err
    code, _, err = _run(["adapt", src, "--output", str(tmp_path / "a.pt"), "--quiet"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "several sizes" in err, err
    (tmp_path / "bad").mkdir()
    _bad(
        tmp_path / "bad",
        capsys,
        "or one such pair per person (2, 2), got (3, 2)",
        keypoints=kp,
        layout="h36m17",
        image_size=np.array([[640, 480], [1, 2], [3, 4]]),
    )


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--trunk-scale", "1.2", "0.8"], "--trunk-scale: LO 1.2 is above HI 0.8"),
        (["--hip-shift-m", "0.05", "-0.03"], "--hip-shift-m: LO 0.05 is above HI -0.03"),
        (["--no-joint-offsets", "--shoulder-width-scale", "0.6", "1.8"], "fixes the widths"),
        (["--noise-rel", "0.03", "0.01"], "--noise-rel: LO 0.03 is above HI 0.01"),
    ],
)
def test_train_ranges_are_checked_before_any_work(flags, needle, tmp_path, capsys):
    """A range whose LO is above its HI, or widths given with --no-joint-offsets (which fixes
    them), is one line and exit 2: numpy would draw from the reversed range, and the ablation
    would silently drop the widths."""
    from pose_lifting_core.tooling.cli import main

    out = tmp_path / "run"
    assert main(["train", *flags, "--epochs", "1", "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
