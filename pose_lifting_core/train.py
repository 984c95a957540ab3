"""Training loop: motion capture -> virtual views -> the lifter, seeded and resumable.

Owns: `TrainConfig`, the per-epoch data generation (fresh augmentations and cameras each epoch,
seeded by (seed, epoch) so a resumed run sees the same data), the optimisation with Martinez's
max-norm constraint, and the export of the best model with its codec and provenance.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from pose_lifting_core.codec import Codec, features_raw
from pose_lifting_core.data import synth
from pose_lifting_core.data.mocap import BANDAI_ATTRIBUTION, MocapSet, convert_bandai_archive
from pose_lifting_core.lifter import save_checkpoint
from pose_lifting_core.model import LinearModel, apply_max_norm, count_parameters
from pose_lifting_core.skeleton import ROOT

DEFAULT_ARCHIVE = os.path.join("..", "shared", "data", "bandai-namco-motion", "bvh.tar.xz")
DEFAULT_CACHE = os.path.join("cache", "bandai17.npz")
HELDOUT_CONTENT = ("bow", "dance-short", "kick", "punch", "slash")


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint)."""

    archive: str = DEFAULT_ARCHIVE
    cache: str = DEFAULT_CACHE
    out_dir: str = os.path.join("runs", "lifter")
    epochs: int = 30
    samples_per_epoch: int = 300_000
    batch_size: int = 1024
    lr: float = 1e-3
    lr_final: float = 2e-5
    weight_decay: float = 0.0
    width: int = 1024
    num_blocks: int = 2
    dropout: float = 0.5
    max_norm: float = 1.0
    seed: int = 0
    val_samples: int = 20_000
    heldout_content: Tuple[str, ...] = HELDOUT_CONTENT
    camera_range: str = "train"
    augment: synth.AugmentConfig = field(default_factory=synth.AugmentConfig)
    threads: int = 0

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d["heldout_content"] = list(self.heldout_content)
        return d


def load_mocap(cfg: TrainConfig) -> MocapSet:
    """The cached 17-joint arrays, converting the archive on first use."""
    if not os.path.isfile(cfg.cache):
        if not os.path.isfile(cfg.archive):
            raise FileNotFoundError(f"no mocap cache at {cfg.cache} and no archive at {cfg.archive}")
        convert_bandai_archive(cfg.archive, cfg.cache)
    return MocapSet.load(cfg.cache)


def make_samples(P_world: np.ndarray, rng: np.random.Generator, cfg: TrainConfig,
                 augment: bool = True, camera_range: Optional[str] = None,
                 noise_px: Optional[float] = None):
    """World skeletons (N, 17, 3) -> (raw features, root-relative targets, views, kp, conf)."""
    P = P_world.astype(np.float64)
    if augment:
        P = synth.augment_pose(synth.augment_proportions(P, rng, cfg.augment), rng, cfg.augment)
    views = synth.sample_views(P, rng, synth.CAMERA_RANGES[camera_range or cfg.camera_range], cfg.augment)
    if augment or noise_px is None:
        kp, conf = synth.corrupt_2d(views.keypoints, rng, cfg.augment, None if augment else 0.0)
    else:
        kp, conf = synth.corrupt_2d(views.keypoints, rng, cfg.augment, noise_px)
    target = views.joints_cam - views.joints_cam[:, ROOT:ROOT + 1]
    return features_raw(kp, conf, views.K), target, views, kp, conf


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def train(cfg: TrainConfig, resume: bool = False, export_path: Optional[str] = None,
          progress: bool = True, stop_after: Optional[int] = None) -> Dict[str, Any]:
    """Train (or resume) and export the best-on-validation model. Returns a summary dict.

    stop_after ends this call after that many epochs in total (as an interruption would); a later
    call with resume=True continues from OUT_DIR/last.pt with the same data and schedule."""
    from tqdm import tqdm

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    os.makedirs(cfg.out_dir, exist_ok=True)
    state_path = os.path.join(cfg.out_dir, "last.pt")
    data = load_mocap(cfg)
    splits = data.splits(cfg.heldout_content)
    train_P = data.positions[splits["train"]]
    val_rng = np.random.default_rng(cfg.seed + 10_000)
    val_P = data.positions[splits["val"]]
    val_P = val_P[val_rng.choice(len(val_P), min(cfg.val_samples, len(val_P)), replace=False)]
    val_raw, val_tgt, *_ = make_samples(val_P, val_rng, cfg, augment=False)

    torch.manual_seed(cfg.seed)
    codec_rng = np.random.default_rng(cfg.seed + 20_000)
    fit_raw, fit_tgt, *_ = make_samples(train_P[codec_rng.integers(0, len(train_P), 100_000)],
                                        codec_rng, cfg)
    codec = Codec.fit(fit_raw, fit_tgt)
    model = LinearModel(codec.in_dim, codec.out_dim, cfg.width, cfg.num_blocks, cfg.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = cfg.samples_per_epoch // cfg.batch_size
    total = steps_per_epoch * cfg.epochs
    gamma = (cfg.lr_final / cfg.lr) ** (1.0 / max(total, 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    start_epoch, history, best = 0, [], (float("inf"), None)
    if resume and os.path.isfile(state_path):
        st = torch.load(state_path, map_location="cpu", weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        codec = Codec.from_dict(st["codec"])
        start_epoch, history = st["epoch"], st["history"]
        best = (st["best_mpjpe"], st["best_state"])
        torch.set_rng_state(st["torch_rng"])
        print(f"resumed from {state_path} at epoch {start_epoch}")
    out_std = torch.tensor(codec.out_std, dtype=torch.float32)
    xv = torch.from_numpy(codec.standardize(val_raw))
    yv = torch.from_numpy(val_tgt.reshape(len(val_tgt), -1).astype(np.float32))
    t0 = time.time()
    for epoch in range(start_epoch, min(cfg.epochs, stop_after or cfg.epochs)):
        rng = np.random.default_rng([cfg.seed, epoch])
        raw, tgt, *_ = make_samples(train_P[rng.integers(0, len(train_P), cfg.samples_per_epoch)], rng, cfg)
        x = torch.from_numpy(codec.standardize(raw))
        y = torch.from_numpy(codec.encode_target(tgt))
        model.train()
        perm = torch.randperm(len(x))
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress,
                   leave=False)
        run_loss = 0.0
        for step in bar:
            idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            pred = model(x[idx])
            # mean per-joint Euclidean error in metres (MPJPE) on the de-standardised output
            diff = ((pred - y[idx]) * out_std).view(len(idx), -1, 3)
            loss = diff.norm(dim=-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if cfg.max_norm > 0:
                apply_max_norm(model, cfg.max_norm)
            run_loss = 0.98 * run_loss + 0.02 * loss.item() if step else loss.item()
            if step % 20 == 0:
                bar.set_postfix(mpjpe_mm=f"{run_loss * 1000:.1f}")
        model.eval()
        with torch.inference_mode():
            pv = torch.from_numpy(codec.decode(model(xv).numpy()).reshape(len(xv), -1).astype(np.float32))
            val = (pv - yv).view(len(yv), -1, 3).norm(dim=-1).mean().item() * 1000
        history.append({"epoch": epoch + 1, "train_mpjpe_mm": run_loss * 1000, "val_mpjpe_mm": val,
                        "lr": sched.get_last_lr()[0], "elapsed_s": time.time() - t0})
        print(json.dumps(history[-1]), flush=True)
        if val < best[0]:
            best = (val, {k: v.clone() for k, v in model.state_dict().items()})
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "codec": codec.to_dict(), "epoch": epoch + 1, "history": history,
                    "best_mpjpe": best[0], "best_state": best[1], "torch_rng": torch.get_rng_state(),
                    "config": cfg.to_dict()}, state_path + ".tmp")
        os.replace(state_path + ".tmp", state_path)
    model.load_state_dict(best[1])
    info = data.clip_info()
    split_counts = {k: int(v.sum()) for k, v in splits.items()}
    clip_labels = {}
    for k, v in splits.items():
        clip_labels[k] = int(len(np.unique(data.clip_index[v])))
    provenance = {"dataset": BANDAI_ATTRIBUTION, "licence": "CC BY-NC 4.0 (weights: non-commercial use only)",
                  "clips": len(info), "frames_per_split": split_counts, "clips_per_split": clip_labels,
                  "heldout_content": list(cfg.heldout_content), "code_commit": _git_commit(),
                  "parameters": count_parameters(model)}
    export_path = export_path or os.path.join(cfg.out_dir, "lifter.pt")
    save_checkpoint(export_path, model, codec, cfg.to_dict(), provenance,
                    {"history": history, "best_val_mpjpe_mm": best[0]})
    return {"export": export_path, "best_val_mpjpe_mm": best[0], "history": history,
            "provenance": provenance}
