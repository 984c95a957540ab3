"""Training loop: motion capture -> virtual views -> the lifter, seeded and resumable.

Owns: `TrainConfig`, the training pool (the chosen datasets' training clips, mixed by dataset
and pose-category weights), the per-epoch data generation (fresh augmentations and cameras each
epoch, seeded by (seed, epoch) so a resumed run sees the same data), the optimisation with
Martinez's max-norm constraint (on CUDA when there is one), and the export of the best model
with its codec and provenance (datasets, licences, attributions, frame counts).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from pose_lifting_core.codec import Codec, features_raw
from pose_lifting_core.lifter import resolve_device, save_checkpoint
from pose_lifting_core.model import LinearModel, apply_max_norm, count_parameters
from pose_lifting_core.skeleton import ROOT
from pose_lifting_core.tooling.data import synth
from pose_lifting_core.tooling.data.mixing import (
    DEFAULT_CATEGORY_WEIGHTS,
    DEFAULT_DATASET_WEIGHTS,
    mixing_probabilities,
)
from pose_lifting_core.tooling.data.mocap import DATASETS, SHARED_DATA, MocapSet, load_dataset
from pose_lifting_core.tooling.data.poses import category_counts, pose_categories

ALL_DATASETS = ("accad", "hdm05", "cmu", "bandai")
"""Every lab, in the order of the leave-one-lab-out reports."""
DEFAULT_DATASETS = ("accad", "hdm05", "cmu")
"""What the shipped weights are trained on: every lab whose licence allows commercial use
(Bandai's CC BY-NC 4.0 does not; `train --datasets` adds it on request)."""
HELDOUT_CONTENT = ("bow", "dance-short", "kick", "punch", "slash")
"""Bandai motion contents kept out of training (its `content_test` split)."""


class TrainError(ValueError):
    """A run that cannot go on: a `last.pt` that cannot be resumed (unreadable, or made with other
    settings), or a loss or weights that stopped being finite."""


RESUME_FREE = ("out_dir", "time_budget_s", "threads", "device", "data_dir", "cache_dir")
"""Settings a resumed run may change; every other one must equal the interrupted run's, or its
weights, data stream and schedule would not be the ones the checkpoint's provenance names."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint)."""

    datasets: Tuple[str, ...] = DEFAULT_DATASETS
    data_dir: str = SHARED_DATA  # the archives, converted on first use
    cache_dir: str = "cache"  # <cache_dir>/<dataset>_17.npz
    dataset_weights: Dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_DATASET_WEIGHTS)
    )
    category_weights: Dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_CATEGORY_WEIGHTS)
    )
    balance: float = 0.5
    out_dir: str = os.path.join("runs", "lifter")
    epochs: int = 30
    samples_per_epoch: int = 300_000
    batch_size: int = 1024
    lr: float = 1e-3
    lr_final: float = 2e-5
    weight_decay: float = 0.0
    width: int = 1024
    num_blocks: int = 2
    dropout: float = 0.2
    max_norm: float = 1.0
    seed: int = 0
    val_samples: int = 20_000
    heldout_content: Tuple[str, ...] = HELDOUT_CONTENT
    camera_range: str = "train"
    augment: synth.AugmentConfig = field(default_factory=synth.AugmentConfig)
    threads: int = 0
    device: str = "auto"
    time_budget_s: float = 0.0  # > 0: stop before an epoch that would end past it

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d["heldout_content"] = list(self.heldout_content)
        d["datasets"] = list(self.datasets)
        return d


def load_mocap(name: str, cfg: TrainConfig) -> MocapSet:
    """One dataset's cached 17-joint arrays, converting its archive on first use."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return load_dataset(
        name,
        os.path.join(cfg.cache_dir, f"{name}_17.npz"),
        os.path.join(cfg.data_dir, DATASETS[name].archive),
    )


@dataclass
class Pool:
    """Frames of several datasets with what sampling needs.

    positions (N, 17, 3) metres; dataset_ids (N,) index into names; categories (N,) into
    poses.CATEGORIES; probabilities (N,) the mixing weights, summing to 1."""

    names: Tuple[str, ...]
    positions: np.ndarray
    dataset_ids: np.ndarray
    categories: np.ndarray
    probabilities: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n frames (n, 17, 3) drawn with the mixing probabilities (with replacement)."""
        return self.positions[rng.choice(len(self.positions), n, p=self.probabilities)]


def build_pool(sets: Dict[str, MocapSet], split: str, cfg: TrainConfig) -> Pool:
    """The frames of one split ('train', 'val', 'test' or 'all') of each set, mixed by
    cfg's dataset and category weights. Bandai's held-out contents are never in it."""
    names = tuple(sets)
    parts, ids, cats = [], [], []
    for i, name in enumerate(names):
        data = sets[name]
        splits = data.splits(cfg.heldout_content)
        mask = ~splits["content_test"] if split == "all" else splits[split]
        P = data.positions[mask]
        parts.append(P)
        ids.append(np.full(len(P), i))
        cats.append(pose_categories(P))
    P, ids, cats = np.concatenate(parts), np.concatenate(ids), np.concatenate(cats)
    probs = mixing_probabilities(
        ids, cats, names, cfg.dataset_weights, cfg.category_weights, cfg.balance
    )
    return Pool(names, P, ids, cats, probs)


def make_samples(
    P_world: np.ndarray,
    rng: np.random.Generator,
    cfg: TrainConfig,
    augment: bool = True,
    camera_range: Optional[str] = None,
    noise_px: Optional[float] = None,
):
    """World skeletons (N, 17, 3) -> (raw features, root-relative targets, views, kp, conf)."""
    P = P_world.astype(np.float64)
    if augment:
        P = synth.augment_all(P, rng, cfg.augment)
    views = synth.sample_views(
        P, rng, synth.CAMERA_RANGES[camera_range or cfg.camera_range], cfg.augment
    )
    if augment or noise_px is None:
        kp, conf = synth.corrupt_2d(views.keypoints, rng, cfg.augment, None if augment else 0.0)
    else:
        kp, conf = synth.corrupt_2d(views.keypoints, rng, cfg.augment, noise_px)
    target = views.joints_cam - views.joints_cam[:, ROOT : ROOT + 1]
    return features_raw(kp, conf, views.K), target, views, kp, conf


def _git_commit() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or "unknown"
        )
    except Exception:
        return "unknown"


@dataclass
class _Run:
    """A training run's state between epochs (what last.pt holds): the model and its codec, the
    optimiser and learning-rate schedule, the first epoch still to train, one history row per
    epoch trained, and the best validation MPJPE (mm) with its weights (CPU copies; None before
    the first epoch). `device`: where the model and the optimiser's moments are."""

    model: LinearModel
    codec: Codec
    opt: torch.optim.Optimizer
    sched: Any  # torch.optim.lr_scheduler.ExponentialLR
    device: Any  # torch.device
    start_epoch: int = 0
    history: List[Dict[str, Any]] = field(default_factory=list)
    best: Tuple[float, Optional[Dict[str, torch.Tensor]]] = (float("inf"), None)


def train(
    cfg: TrainConfig,
    resume: bool = False,
    export_path: Optional[str] = None,
    progress: bool = True,
    stop_after: Optional[int] = None,
) -> Dict[str, Any]:
    """Train (or resume) and export the best-on-validation model. Returns a summary dict.

    stop_after ends this call after that many epochs in total (as an interruption would); a later
    call with resume=True continues from OUT_DIR/last.pt with the same data and schedule.
    Validation draws from the datasets' validation clips with the training mix, unaugmented."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    os.makedirs(cfg.out_dir, exist_ok=True)
    state_path = os.path.join(cfg.out_dir, "last.pt")
    sets = {name: load_mocap(name, cfg) for name in cfg.datasets}
    pool = build_pool(sets, "train", cfg)
    val_raw, val_tgt = _validation_samples(sets, cfg)
    run = _start_run(pool, cfg, device, state_path if resume else None)
    xv = torch.from_numpy(run.codec.standardize(val_raw)).to(device)
    yv = torch.from_numpy(val_tgt.reshape(len(val_tgt), -1).astype(np.float32))
    t0 = time.time()
    for epoch in range(run.start_epoch, min(cfg.epochs, stop_after or cfg.epochs)):
        if _out_of_time(cfg, run, epoch, t0):
            break
        train_loss = _train_epoch(run, pool, cfg, epoch, progress)
        _check_weights(run.model, cfg, epoch)
        _record_epoch(run, epoch, train_loss, _validate(run, xv, yv), t0)
        _save_state(run, cfg, epoch, state_path)
    return _export(run, sets, pool, cfg, export_path)


def _validation_samples(sets: Dict[str, MocapSet], cfg: TrainConfig) -> Tuple[np.ndarray, ...]:
    """The fixed validation set: `cfg.val_samples` frames of the validation clips with the
    training mix, unaugmented, seeded by cfg.seed + 10,000. Returns (raw features, root-relative
    targets (n, 17, 3) metres), as `make_samples` gives them."""
    val_rng = np.random.default_rng(cfg.seed + 10_000)
    val_pool = build_pool(sets, "val", cfg)
    val_raw, val_tgt, *_ = make_samples(
        val_pool.draw(val_rng, cfg.val_samples), val_rng, cfg, augment=False
    )
    return val_raw, val_tgt


def _start_run(pool: Pool, cfg: TrainConfig, device, state_path: Optional[str]) -> _Run:
    """A new run on `device`: seed torch with cfg.seed, fit the codec on 100,000 training samples
    (seeded by cfg.seed + 20,000), build the model, Adam and an exponential learning-rate decay
    from cfg.lr to cfg.lr_final over all steps. With `state_path` (resuming) and a file there,
    the run continues from it (`_resume_state`): weights, optimiser, schedule, codec, history,
    best and torch's random state."""
    torch.manual_seed(cfg.seed)
    codec_rng = np.random.default_rng(cfg.seed + 20_000)
    fit_raw, fit_tgt, *_ = make_samples(pool.draw(codec_rng, 100_000), codec_rng, cfg)
    codec = Codec.fit(fit_raw, fit_tgt)
    model = LinearModel(codec.in_dim, codec.out_dim, cfg.width, cfg.num_blocks, cfg.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = (cfg.samples_per_epoch // cfg.batch_size) * cfg.epochs
    gamma = (cfg.lr_final / cfg.lr) ** (1.0 / max(total, 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    run = _Run(model, codec, opt, sched, device)
    if state_path is not None and os.path.isfile(state_path):
        st = _resume_state(state_path, cfg)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        run.codec = Codec.from_dict(st["codec"])
        run.start_epoch, run.history = st["epoch"], st["history"]
        run.best = (st["best_mpjpe"], st["best_state"])
        torch.set_rng_state(st["torch_rng"])
        print(f"resumed from {state_path} at epoch {run.start_epoch}")
    model.to(device)
    for state in opt.state.values():  # a resumed optimiser's moments go where the weights are
        for k, v in state.items():
            if torch.is_tensor(v) and k != "step":
                state[k] = v.to(device)
    return run


def _out_of_time(cfg: TrainConfig, run: _Run, epoch: int, t0: float) -> bool:
    """Whether `epoch` would end past cfg.time_budget_s (seconds since t0, the start of this
    call's first epoch), judged by this call's mean epoch time; says so when it would."""
    if cfg.time_budget_s > 0 and run.history and epoch > run.start_epoch:
        per_epoch = (time.time() - t0) / (epoch - run.start_epoch)
        if time.time() - t0 + per_epoch > cfg.time_budget_s:
            print(
                f"time budget of {cfg.time_budget_s:.0f} s reached after {epoch} epochs",
                flush=True,
            )
            return True
    return False


def _train_epoch(run: _Run, pool: Pool, cfg: TrainConfig, epoch: int, progress: bool) -> float:
    """One epoch: fresh samples seeded by (cfg.seed, epoch), shuffled by torch's generator, one
    optimiser step per batch (`_step`). Returns the running mean of the training MPJPE
    (metres, exponentially smoothed over every 20th step). Raises TrainError when the loss
    is not finite."""
    from tqdm import tqdm

    steps_per_epoch = cfg.samples_per_epoch // cfg.batch_size
    rng = np.random.default_rng([cfg.seed, epoch])
    raw, tgt, *_ = make_samples(pool.draw(rng, cfg.samples_per_epoch), rng, cfg)
    x = torch.from_numpy(run.codec.standardize(raw)).to(run.device)
    y = torch.from_numpy(run.codec.encode_target(tgt)).to(run.device)
    out_std = torch.tensor(run.codec.out_std, dtype=torch.float32, device=run.device)
    run.model.train()
    perm = torch.randperm(len(x)).to(run.device)
    bar = tqdm(
        range(steps_per_epoch),
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        disable=not progress,
        leave=False,
    )
    run_loss = 0.0
    for step in bar:
        idx = perm[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        loss = _step(run, x[idx], y[idx], out_std, cfg.max_norm)
        if step % 20 == 0 or step == steps_per_epoch - 1:
            value = loss.item()
            if not math.isfinite(value):
                raise TrainError(
                    f"training diverged at epoch {epoch + 1}, step {step + 1}: the loss is "
                    f"{value} (lr {cfg.lr:g}); lower --lr, nothing was exported"
                )
            run_loss = 0.7 * run_loss + 0.3 * value if step else value
            bar.set_postfix(mpjpe_mm=f"{run_loss * 1000:.1f}")
    return run_loss


def _step(
    run: _Run, x: torch.Tensor, y: torch.Tensor, out_std: torch.Tensor, max_norm: float
) -> torch.Tensor:
    """One optimiser step on a batch of standardised inputs x and targets y (B, 51); the loss
    is the mean per-joint Euclidean error in metres (MPJPE) on the de-standardised output
    (out_std (51,) metres). The schedule steps too, and with max_norm > 0 Martinez's max-norm
    constraint is applied. Returns the loss."""
    pred = run.model(x)
    diff = ((pred - y) * out_std).view(len(x), -1, 3)
    loss = diff.norm(dim=-1).mean()
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    run.opt.step()
    run.sched.step()
    if max_norm > 0:
        apply_max_norm(run.model, max_norm)
    return loss


def _check_weights(model: LinearModel, cfg: TrainConfig, epoch: int) -> None:
    """TrainError (one line) when any weight stopped being finite in `epoch`."""
    bad = [n for n, v in model.state_dict().items() if not torch.isfinite(v).all()]
    if bad:
        raise TrainError(
            f"training diverged in epoch {epoch + 1}: weights {', '.join(bad[:3])} are not "
            f"finite (lr {cfg.lr:g}); lower --lr, nothing was exported"
        )


def _validate(run: _Run, xv: torch.Tensor, yv: torch.Tensor) -> float:
    """Validation MPJPE in mm of the model (in eval mode) on standardised inputs xv (on the
    model's device) against root-relative targets yv (n, 51) metres (CPU)."""
    run.model.eval()
    with torch.inference_mode():
        pv = torch.from_numpy(
            run.codec.decode(run.model(xv).cpu().numpy()).reshape(len(xv), -1).astype(np.float32)
        )
        return (pv - yv).view(len(yv), -1, 3).norm(dim=-1).mean().item() * 1000


def _record_epoch(run: _Run, epoch: int, train_loss: float, val: float, t0: float) -> None:
    """Append and print the epoch's history row (train_loss in metres, val in mm, seconds since
    t0), and keep a CPU copy of the weights when `val` is the best so far."""
    run.history.append(
        {
            "epoch": epoch + 1,
            "train_mpjpe_mm": train_loss * 1000,
            "val_mpjpe_mm": val,
            "lr": run.sched.get_last_lr()[0],
            "elapsed_s": time.time() - t0,
        }
    )
    print(json.dumps(run.history[-1]), flush=True)
    if val < run.best[0]:
        run.best = (val, {k: v.detach().cpu().clone() for k, v in run.model.state_dict().items()})


def _save_state(run: _Run, cfg: TrainConfig, epoch: int, state_path: str) -> None:
    """Write the run's state after `epoch` to `state_path` (last.pt) atomically (through a
    .tmp file), with torch's random state and the config, for `train(resume=True)`."""
    torch.save(
        {
            "model": {k: v.cpu() for k, v in run.model.state_dict().items()},
            "opt": run.opt.state_dict(),
            "sched": run.sched.state_dict(),
            "codec": run.codec.to_dict(),
            "epoch": epoch + 1,
            "history": run.history,
            "best_mpjpe": run.best[0],
            "best_state": run.best[1],
            "torch_rng": torch.get_rng_state(),
            "config": cfg.to_dict(),
        },
        state_path + ".tmp",
    )
    os.replace(state_path + ".tmp", state_path)


def _export(
    run: _Run,
    sets: Dict[str, MocapSet],
    pool: Pool,
    cfg: TrainConfig,
    export_path: Optional[str],
) -> Dict[str, Any]:
    """Save the best weights (on CPU) with the codec, config, provenance and history to
    `export_path` (default OUT_DIR/lifter.pt); returns `train`'s summary dict."""
    model = run.model.cpu()
    model.load_state_dict(run.best[1])
    provenance = _provenance(sets, pool, cfg, model)
    export_path = export_path or os.path.join(cfg.out_dir, "lifter.pt")
    save_checkpoint(
        export_path,
        model,
        run.codec,
        cfg.to_dict(),
        provenance,
        {"history": run.history, "best_val_mpjpe_mm": run.best[0]},
    )
    return {
        "export": export_path,
        "best_val_mpjpe_mm": run.best[0],
        "history": run.history,
        "provenance": provenance,
    }


def _resume_state(path: str, cfg: TrainConfig) -> Dict[str, Any]:
    """The training state in `path`, or TrainError (one line) when it cannot be read or was
    written by a run whose settings differ from cfg's (other than RESUME_FREE)."""
    keys = ("model", "opt", "sched", "codec", "epoch", "history", "best_mpjpe", "best_state")
    try:
        st = torch.load(path, map_location="cpu", weights_only=False)
        missing = [k for k in keys if k not in st]
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        raise TrainError(
            f"cannot resume from {path}: not a readable training state ({type(exc).__name__}); "
            "delete it to start over, or choose another --out-dir"
        ) from exc
    if missing:
        raise TrainError(f"cannot resume from {path}: it lacks {', '.join(missing)}")
    old = json.loads(json.dumps(st.get("config") or {}, default=str))
    new = json.loads(json.dumps(cfg.to_dict(), default=str))
    differ = [k for k in new if k not in RESUME_FREE and k in old and old[k] != new[k]]
    if differ:
        shown = "; ".join(f"{k} {old[k]} -> {new[k]}" for k in differ[:3])
        raise TrainError(
            f"cannot resume from {path}: it was trained with other settings ({shown}); resume "
            "with the same ones, or start over in another --out-dir"
        )
    return st


def _provenance(
    sets: Dict[str, MocapSet], pool: Pool, cfg: TrainConfig, model: LinearModel
) -> Dict[str, Any]:
    """What the weights were trained on: every dataset with its licence and attribution, the
    frames and clips per split, the training pool's frames per pose category, the code commit."""
    licences = sorted({DATASETS[n].licence for n in sets})
    per_dataset = {}
    for i, (name, data) in enumerate(sets.items()):
        splits = data.splits(cfg.heldout_content)
        mine = pool.dataset_ids == i
        per_dataset[name] = {
            "attribution": DATASETS[name].attribution,
            "licence": DATASETS[name].licence,
            "subjects": sorted(set(data.clip_subjects))
            if name != "bandai"
            else DATASETS[name].subjects,
            "frames_per_split": {k: int(v.sum()) for k, v in splits.items()},
            "clips_per_split": {
                k: int(len(np.unique(data.clip_index[v]))) for k, v in splits.items()
            },
            "train_frames_per_category": category_counts(pool.categories[mine]),
            "sampling_share": float(pool.probabilities[mine].sum()),
        }
    noncommercial = any("NC" in lic for lic in licences)
    return {
        "datasets": per_dataset,
        "attribution": "; ".join(DATASETS[n].attribution for n in sets),
        "licence": ", ".join(licences)
        + (" (weights: non-commercial use only)" if noncommercial else ""),
        "heldout_content": list(cfg.heldout_content),
        "code_commit": _git_commit(),
        "parameters": count_parameters(model),
    }
