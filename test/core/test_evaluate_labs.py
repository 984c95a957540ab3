"""Per-category and leave-one-lab-out evaluation, and the data commands' error paths."""

import os

import numpy as np
import pytest

from pose_lifting_core.lifter import Lifter
from pose_lifting_core.tooling.cli import main
from pose_lifting_core.tooling.data.mocap import MocapSet
from pose_lifting_core.tooling.evaluate import EvalConfig, evaluate_lab, lab_report_markdown
from pose_lifting_core.tooling.train import train
from test_cli import _run
from test_poses import CASES
from test_train import _cfg


@pytest.fixture(scope="module")
def tiny_lolo(tmp_path_factory):
    """DIR/<lab>/lifter.pt for each lab, tiny models trained on fake 'bandai' data only."""
    root = tmp_path_factory.mktemp("lolo")
    r = train(_cfg(root / "data", 1), export_path=str(root / "bandai_only.pt"), progress=False)
    return root, r["export"]


def _fake_lab(name="hdm05"):
    rng = np.random.default_rng(1)
    poses = np.stack([CASES[c] for c in ("standing", "squat", "floor")])
    P = np.repeat(poses, 40, axis=0) + rng.normal(0, 0.005, (120, 17, 3))
    return MocapSet(
        P.astype(np.float32), np.repeat(np.arange(3), 40), ["a", "b", "c"], ["x", "y", "z"], name
    )


def test_evaluate_lab_scores_each_category_present(tiny_lolo):
    lifter = Lifter.load(tiny_lolo[1], "cpu", "fp32")
    rows = evaluate_lab(lifter, _fake_lab(), EvalConfig(samples=60, samples_per_category=30))
    assert [r["category"] for r in rows] == [
        "all",
        "standing",
        "squat",
        "floor",
        "all, steep cameras",
    ]
    assert [r["frames"] for r in rows] == [120, 40, 40, 40, 120] and rows[1]["n"] == 30
    for r in rows:
        assert (
            r["dataset"] == "hdm05"
            and np.isfinite([r["mpjpe_mm"], r["pa_mpjpe_mm"], r["mpjpe_noise_mm"]]).all()
        )
        assert r["pa_mpjpe_mm"] <= r["mpjpe_mm"]
    table = lab_report_markdown(rows)
    assert "| hdm05 | squat | 40 |" in table and "5 px noise" in table


def test_leave_one_lab_out_needs_a_model_held_out_on_some_lab(tmp_path, capsys):
    code, _, err = _run(["evaluate", "--leave-one-lab-out", str(tmp_path)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"no checkpoint at {tmp_path}/<lab>/lifter.pt for any lab of accad, hdm05, cmu" in err
    assert "tools/train_release.sh" in err


def test_adapting_per_held_out_lab_needs_a_model_held_out_on_some_lab(tmp_path, capsys):
    code, _, err = _run(["evaluate", "--adapt", "--leave-one-lab-out", str(tmp_path)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"no checkpoint at {tmp_path}/<lab>/lifter.pt for any lab of accad, hdm05, cmu" in err


def test_leave_one_lab_out_scores_the_labs_present_and_names_the_others(
    tmp_path, capsys, monkeypatch, tiny_lolo
):
    import pose_lifting_core.tooling.train as train_mod

    os.makedirs(tmp_path / "hdm05")
    os.symlink(tiny_lolo[1], tmp_path / "hdm05" / "lifter.pt")  # trained on 'bandai' only
    monkeypatch.setattr(train_mod, "load_mocap", lambda name, cfg: _fake_lab(name))
    code, out, err = _run(
        ["evaluate", "--leave-one-lab-out", str(tmp_path), "--samples", "60", "--noise-px", "2"],
        capsys,
    )
    assert code == 0, err
    assert "| hdm05 | all | 120 |" in out and "| hdm05 | all, steep cameras | 120 |" in out
    assert "no model held out on accad, cmu, bandai: not scored" in err


def test_leave_one_lab_out_refuses_a_model_that_saw_the_lab(tmp_path, capsys, tiny_lolo):
    os.makedirs(tmp_path / "bandai")
    os.symlink(tiny_lolo[1], tmp_path / "bandai" / "lifter.pt")
    code, _, err = _run(["evaluate", "--leave-one-lab-out", str(tmp_path)], capsys)
    assert (
        code == 2
        and "was trained on bandai; leave-one-lab-out needs a model that never saw it" in err
    )


def test_prepare_data_errors_are_one_line(tmp_path, capsys):
    code, _, err = _run(
        ["prepare-data", "--dataset", "accad", "--data-dir", str(tmp_path), "--quiet"], capsys
    )
    assert code == 2 and "accad: archive not found" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(["prepare-data", "--dataset", "cmu2,accad"])
    assert exc.value.code == 2
    assert (
        "unknown dataset(s) 'cmu2'; known: bandai, accad, hdm05, cmu or all"
        in capsys.readouterr().err
    )


def test_train_without_data_is_one_line(tmp_path, capsys):
    code, _, err = _run(
        [
            "train",
            "--datasets",
            "hdm05",
            "--data-dir",
            str(tmp_path),
            "--cache-dir",
            str(tmp_path),
            "--out-dir",
            str(tmp_path / "run"),
            "--quiet",
        ],
        capsys,
    )
    assert code == 2 and "no mocap cache" in err and "hdm05" in err


def test_all_frames_only_for_a_dataset_the_model_never_saw(capsys, tiny_lolo):
    code, _, err = _run(
        [
            "evaluate",
            "--checkpoint",
            tiny_lolo[1],
            "--dataset",
            "bandai",
            "--split",
            "all",
            "--skip-unknown-k",
        ],
        capsys,
    )
    assert code == 2 and "was trained on it; use --split test" in err
