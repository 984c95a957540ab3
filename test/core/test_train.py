"""Training is seeded and resumable (tiny model, synthetic motion; no ../shared needed)."""

import re

import numpy as np
import pytest
import torch

from conftest import T_POSE_WORLD
from pose_lifting_core.lifter import Lifter, load_checkpoint
from pose_lifting_core.tooling.data.mocap import MocapSet
from pose_lifting_core.tooling.train import TrainConfig, train


def _fake_mocap(cache_dir, name="bandai", n_clips=40, per=50, seed=0):
    rng = np.random.default_rng(seed)
    base = T_POSE_WORLD.copy()
    P = base[None] + rng.normal(0, 0.03, (n_clips * per, 17, 3))
    names = [
        f"dataset-2_{'kick' if i % 10 == 0 else 'walk'}_normal_{i:03d}.bvh" for i in range(n_clips)
    ]
    MocapSet(
        P.astype(np.float32), np.repeat(np.arange(n_clips), per), names, [""] * n_clips, name
    ).save(str(cache_dir / f"{name}_17.npz"))


def _cfg(tmp_path, epochs, datasets=("bandai",)):
    tmp_path.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(datasets):
        _fake_mocap(tmp_path, name, seed=i)
    return TrainConfig(
        datasets=datasets,
        data_dir="/nonexistent",
        cache_dir=str(tmp_path),
        out_dir=str(tmp_path / "run"),
        epochs=epochs,
        samples_per_epoch=1024,
        batch_size=256,
        width=32,
        num_blocks=1,
        val_samples=200,
        heldout_content=("kick",),
        threads=1,
        device="cpu",
    )


def _weights(path):
    return load_checkpoint(path)["state_dict"]


def test_training_is_seeded(tmp_path):
    a = train(_cfg(tmp_path / "a", 2), export_path=str(tmp_path / "a.pt"), progress=False)
    b = train(_cfg(tmp_path / "b", 2), export_path=str(tmp_path / "b.pt"), progress=False)
    wa, wb = _weights(a["export"]), _weights(b["export"])
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k])
    assert a["provenance"]["datasets"]["bandai"]["clips_per_split"]["content_test"] == 4


def test_training_resumes_where_it_stopped(tmp_path):
    full = train(_cfg(tmp_path / "full", 3), export_path=str(tmp_path / "full.pt"), progress=False)
    part = _cfg(tmp_path / "part", 3)
    train(part, progress=False, stop_after=2)
    resumed = train(part, resume=True, export_path=str(tmp_path / "resumed.pt"), progress=False)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    assert resumed["history"][-1]["val_mpjpe_mm"] == pytest.approx(
        full["history"][-1]["val_mpjpe_mm"], rel=1e-4
    )
    lifter = Lifter.load(resumed["export"], "cpu")
    assert lifter.info["train_config"]["epochs"] == 3


def test_missing_data_is_a_clear_error(tmp_path):
    cfg = TrainConfig(
        datasets=("accad",),
        data_dir=str(tmp_path),
        cache_dir=str(tmp_path / "cache"),
        out_dir=str(tmp_path / "run"),
    )
    with pytest.raises(FileNotFoundError, match="no mocap cache .* and no archive .*accad"):
        train(cfg, progress=False)


def test_two_datasets_are_mixed_and_credited(tmp_path):
    r = train(
        _cfg(tmp_path, 1, ("bandai", "hdm05")), export_path=str(tmp_path / "m.pt"), progress=False
    )
    prov = r["provenance"]
    assert set(prov["datasets"]) == {"bandai", "hdm05"}
    shares = {k: v["sampling_share"] for k, v in prov["datasets"].items()}
    # the default weights 0.25 : 0.35, renormalised over the two datasets present
    assert shares["bandai"] == pytest.approx(0.25 / 0.6) and shares["hdm05"] == pytest.approx(
        0.35 / 0.6
    )
    assert "CC BY-SA 3.0" in prov["licence"] and "non-commercial" in prov["licence"]
    assert Lifter.load(r["export"], "cpu").info["train_config"]["datasets"] == ["bandai", "hdm05"]


def test_time_budget_stops_between_epochs(tmp_path):
    cfg = _cfg(tmp_path, 50)
    cfg.time_budget_s = 1e-6
    r = train(cfg, export_path=str(tmp_path / "t.pt"), progress=False)
    assert len(r["history"]) == 1  # the first epoch always runs; the second would end too late


def test_default_labs_are_the_commercially_usable_ones_with_cmu_mixed_in(tmp_path):
    assert TrainConfig().datasets == ("accad", "hdm05", "cmu")  # Bandai only on request
    r = train(
        _cfg(tmp_path, 1, ("accad", "hdm05", "cmu")),
        export_path=str(tmp_path / "m.pt"),
        progress=False,
    )
    prov = r["provenance"]
    shares = {k: v["sampling_share"] for k, v in prov["datasets"].items()}
    assert shares["cmu"] == pytest.approx(0.1 / 0.85)  # its own weight, renormalised
    assert "non-commercial" not in prov["licence"] and "commercial products" in prov["licence"]
    assert "mocap.cs.cmu.edu" in prov["attribution"] and "NSF EIA-0196217" in prov["attribution"]


def test_resume_refuses_an_unreadable_state_or_other_settings(tmp_path):
    import dataclasses

    from pose_lifting_core.tooling.train import TrainError

    cfg = _cfg(tmp_path, 2, ("bandai", "hdm05"))
    train(cfg, progress=False, stop_after=1)
    for change, named in (
        ({"width": 64}, "width 32 -> 64"),
        ({"datasets": ("hdm05",)}, "datasets ['bandai', 'hdm05'] -> ['hdm05']"),
        ({"lr": 5e-4}, "lr 0.001 -> 0.0005"),
    ):
        other = dataclasses.replace(cfg, **change)
        with pytest.raises(TrainError, match=r"other settings \(" + re.escape(named)):
            train(other, resume=True, progress=False)
    # what a resumed run may change: where it runs and how long it may take
    ok = dataclasses.replace(cfg, threads=2, time_budget_s=1e6)
    assert [h["epoch"] for h in train(ok, resume=True, progress=False)["history"]] == [1, 2]
    state = tmp_path / "run" / "last.pt"
    state.write_bytes(state.read_bytes()[:1000])  # truncated, as a killed copy leaves it
    with pytest.raises(TrainError, match="cannot resume from .*last.pt: not a readable"):
        train(cfg, resume=True, progress=False)


def test_a_diverging_run_stops_in_one_line_and_exports_nothing(tmp_path, capsys):
    import dataclasses

    from pose_lifting_core.tooling.cli import main
    from pose_lifting_core.tooling.train import TrainError

    cfg = dataclasses.replace(_cfg(tmp_path, 2), lr=1e30)
    with pytest.raises(TrainError, match="training diverged .* lower --lr"):
        train(cfg, export_path=str(tmp_path / "m.pt"), progress=False)
    assert not (tmp_path / "m.pt").exists()
    with pytest.raises(SystemExit) as exc:
        main(["train", "--lr", "1e30", "--out-dir", str(tmp_path / "x")])
    assert exc.value.code == 2 and "--lr" in capsys.readouterr().err
