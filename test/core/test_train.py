"""Training is seeded and resumable (tiny model, synthetic motion; no ../shared needed)."""
import numpy as np
import pytest
import torch

from pose_lifting_core.data.mocap import MocapSet
from pose_lifting_core.lifter import Lifter, load_checkpoint
from pose_lifting_core.train import TrainConfig, train


def _fake_mocap(path):
    rng = np.random.default_rng(0)
    base = np.array([[0, 0.95, 0], [-0.065, 0.95, 0], [-0.07, 0.52, 0.02], [-0.07, 0.1, 0],
                     [0.065, 0.95, 0], [0.07, 0.52, 0.02], [0.07, 0.1, 0], [0, 1.1, 0], [0, 1.35, 0],
                     [0, 1.42, 0], [0, 1.55, 0.02], [0.1, 1.35, 0], [0.35, 1.35, 0], [0.58, 1.35, 0],
                     [-0.1, 1.35, 0], [-0.35, 1.35, 0], [-0.58, 1.35, 0]])
    n_clips, per = 40, 50
    P = base[None] + rng.normal(0, 0.03, (n_clips * per, 17, 3))
    names = [f"dataset-2_{'kick' if i % 10 == 0 else 'walk'}_normal_{i:03d}.bvh" for i in range(n_clips)]
    MocapSet(P.astype(np.float32), np.repeat(np.arange(n_clips), per), names).save(path)


def _cfg(tmp_path, epochs):
    cache = str(tmp_path / "mocap.npz")
    _fake_mocap(cache)
    return TrainConfig(archive="/nonexistent", cache=cache, out_dir=str(tmp_path / "run"), epochs=epochs,
                       samples_per_epoch=1024, batch_size=256, width=32, num_blocks=1, val_samples=200,
                       heldout_content=("kick",), threads=1)


def _weights(path):
    return load_checkpoint(path)["state_dict"]


def test_training_is_seeded(tmp_path):
    a = train(_cfg(tmp_path / "a", 2), export_path=str(tmp_path / "a.pt"), progress=False)
    b = train(_cfg(tmp_path / "b", 2), export_path=str(tmp_path / "b.pt"), progress=False)
    wa, wb = _weights(a["export"]), _weights(b["export"])
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k])
    assert a["provenance"]["clips_per_split"]["content_test"] == 4


def test_training_resumes_where_it_stopped(tmp_path):
    full = train(_cfg(tmp_path / "full", 3), export_path=str(tmp_path / "full.pt"), progress=False)
    part = _cfg(tmp_path / "part", 3)
    train(part, progress=False, stop_after=2)
    resumed = train(part, resume=True, export_path=str(tmp_path / "resumed.pt"), progress=False)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    assert resumed["history"][-1]["val_mpjpe_mm"] == pytest.approx(full["history"][-1]["val_mpjpe_mm"], rel=1e-4)
    lifter = Lifter.load(resumed["export"], "cpu")
    assert lifter.info["train_config"]["epochs"] == 3


def test_missing_data_is_a_clear_error(tmp_path):
    cfg = TrainConfig(archive=str(tmp_path / "none.tar.xz"), cache=str(tmp_path / "none.npz"),
                      out_dir=str(tmp_path / "run"))
    with pytest.raises(FileNotFoundError, match="no mocap cache"):
        train(cfg, progress=False)
