"""Self-supervised adaptation of a lifter to the user's own cameras and people, from 2D alone.

Owns: `AdaptConfig`, the gathering of `lift`-format inputs into one adaptation set, the
adaptation loop (the losses of selfsup.py with the camera in the loop, and for a static camera
of unknown K the focal length as a learned parameter with the field-of-view prior as its
regulariser), the refined focal length's uncertainty, fitting and loading the 2D pose prior,
and the adapted checkpoint (the ordinary lifter format: `lift`, `estimate` and the nodes load it).

The network runs in inference mode throughout (batch-norm statistics frozen, no dropout): only
weights move, and the anchor keeps them near the starting model's function.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from pose_lifting_core.camera import DEFAULT_HFOV_DEG, intrinsics_from_fov
from pose_lifting_core.checkpoint import (
    WEIGHTS_DIR,
    CheckpointError,
    nonfinite_weights,
    save_checkpoint,
)
from pose_lifting_core.codec import Codec
from pose_lifting_core.files import atomic_path
from pose_lifting_core.lifter import Lifter
from pose_lifting_core.model import LinearModel, apply_max_norm
from pose_lifting_core.skeleton import ROOT, to_skeleton17
from pose_lifting_core.solvers import _parabolic_min, estimate_focal, fuse_focal, solve_root
from pose_lifting_core.tooling import selfsup
from pose_lifting_core.tooling.data.synth import rotation_about
from pose_lifting_core.tooling.lift_io import InputError, LiftInput
from pose_lifting_core.tooling.metrics import body_size

DEFAULT_PRIOR = os.path.join(WEIGHTS_DIR, "pose_prior_2d.pt")
FOCAL_MODES = ("fixed", "refine")
FOCAL_PRIOR_LOG_SD = 0.35
"""The field-of-view prior's spread in log f (as solvers.fuse_focal): about 40-100 degrees."""


class AdaptError(ValueError):
    """An adaptation that cannot go on: its loss or its weights stopped being finite (too large
    a learning rate, or inputs the network cannot lift). The message is one line."""


@dataclass(frozen=True)
class AdaptConfig:
    """Adaptation settings (stored in the adapted checkpoint). Loss weights are chosen so that
    each term's typical size on a good lift is comparable (all are per-person means: metres for
    the 3D terms, cycle and symmetry at the starting model's size for the person, fractions of
    the person's 2D size for reprojection, nats per dimension for the prior). Learning rate,
    batch, epochs and the reprojection weight were chosen by the 3D error on the frames adapted
    on (one lab, the adaptation half), never on an evaluated half."""

    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-4
    focal: str = "fixed"
    focal_lr: float = 0.02
    hfov_deg: float = DEFAULT_HFOV_DEG
    rotation_deg: float = 180.0  # cycle rotations drawn uniformly in +-this about the trunk
    w_reprojection: float = 5.0
    w_cycle: float = 1.0
    w_prior: float = 0.002
    w_symmetry: float = 1.0
    w_limits: float = 1.0
    w_anchor: float = 0.5
    seed: int = 0
    threads: int = 2

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class AdaptData:
    """The adaptation set: keypoints (N, 17, 2) px, confidence (N, 17), K (N, 3, 3) with rows
    of zeros where K is unknown, known (N,) bool, and the image size (width, height) shared by
    the rows of unknown K (None when every K is known)."""

    keypoints: np.ndarray
    confidence: np.ndarray
    K: np.ndarray
    known: np.ndarray
    image_size: Optional[Tuple[float, float]]


def gather_inputs(inputs: Sequence[LiftInput], names: Sequence[str]) -> AdaptData:
    """Concatenate validated `lift` inputs into one set. Inputs without K must share one image
    size (one static camera whose focal length is unknown). Raises InputError."""
    kps, confs, Ks, known, size = [], [], [], [], None
    for inp, name in zip(inputs, names):
        kp, conf = to_skeleton17(inp.keypoints, inp.scores, inp.layout)
        usable = (conf > 0).sum(-1) >= 2
        kp, conf = kp[usable], conf[usable]
        n = len(kp)
        if inp.K is None:
            if inp.image_size is None:  # image_size per row, of several sizes
                raise InputError(
                    f"{name}: its rows come from images of several sizes (image_size per row) "
                    "and give no K; inputs without K must come from one static camera"
                )
            if size is not None and tuple(inp.image_size) != size:
                raise InputError(
                    f"{name}: image_size {inp.image_size} differs from {size}; inputs without K "
                    "must come from one static camera"
                )
            size = tuple(inp.image_size)
            Ks.append(np.zeros((n, 3, 3)))
            known.append(np.zeros(n, bool))
        else:
            Ks.append(inp.K[usable])
            known.append(np.ones(n, bool))
        kps.append(kp)
        confs.append(conf)
    data = AdaptData(
        np.concatenate(kps), np.concatenate(confs), np.concatenate(Ks), np.concatenate(known), size
    )
    if len(data.keypoints) == 0:
        raise InputError("no person with at least two usable keypoints in the input")
    return data


@dataclass
class FocalResult:
    """The focal length (px) of the unknown-K camera: the field-of-view prior's, the starting
    model's pooled estimate (solvers.estimate_focal; None with --focal fixed), the refined
    value, and the refined value's relative standard deviation (bootstrap over people of the
    loss minimum)."""

    prior_px: float
    refined_px: float
    rel_sd: float
    num_samples: int
    pooled_px: Optional[float] = None


@dataclass
class AdaptResult:
    """The adapted network, per-epoch mean losses, the focal result (None when every K is
    known) and the wall time in seconds."""

    model: LinearModel
    history: List[Dict[str, float]]
    focal: Optional[FocalResult]
    seconds: float
    num_poses: int
    extra: Dict[str, Any] = field(default_factory=dict)


def load_pose_prior(path: Optional[str] = None) -> selfsup.PosePrior2D:
    """The 2D pose prior at `path` (default: the shipped one). Raises CheckpointError."""
    path = path or DEFAULT_PRIOR
    if not os.path.isfile(path):
        raise CheckpointError(f"2D pose prior not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return selfsup.PosePrior2D.from_blob(blob)
    except Exception as exc:
        raise CheckpointError(f"2D pose prior {path} is unusable: {exc}") from exc


def fit_pose_prior(
    P_world: np.ndarray,
    samples: int = 100_000,
    epochs: int = 4,
    batch_size: int = 512,
    seed: int = 0,
    progress: bool = False,
) -> selfsup.PosePrior2D:
    """Fit the 2D pose prior on motion capture (N, 17, 3) world metres: each epoch draws
    `samples` skeletons, augments them as training does (data/synth.py), views them through
    training-range cameras with 0-3 px of noise and maximises the flow's likelihood of their
    normalised 2D poses. Also stores bone-length limits: the 0.5 and 99.5 percentiles of the
    augmented skeletons' bones, widened by 10 %."""
    from tqdm import tqdm

    from pose_lifting_core.tooling.data import synth

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    cfg = synth.AugmentConfig()

    def draw() -> Tuple[torch.Tensor, np.ndarray]:
        P = synth.augment_all(P_world[rng.integers(0, len(P_world), samples)], rng, cfg)
        v = synth.sample_views(P, rng, synth.CAMERA_RANGES["train"], cfg)
        kp = v.keypoints + rng.standard_normal(v.keypoints.shape) * rng.uniform(
            0, 3, (len(v.keypoints), 1, 1)
        )
        x = selfsup.prior_features(torch.as_tensor(kp, dtype=torch.float32))
        return x, v.joints_cam

    x, X = draw()
    prior = selfsup.PosePrior2D(x.shape[1], seed=seed)
    L = selfsup.bone_lengths(torch.as_tensor(X, dtype=torch.float32)).numpy()
    lo, hi = np.percentile(L, 0.5, axis=0), np.percentile(L, 99.5, axis=0)
    with torch.no_grad():
        prior.mean.copy_(x.mean(0))
        prior.std.copy_(x.std(0).clamp(min=1e-4))
        prior.bone_limits.copy_(torch.as_tensor(np.stack([lo * 0.9, hi * 1.1], -1)))
    opt = torch.optim.Adam(prior.parameters(), lr=1e-3)
    for epoch in range(epochs):
        if epoch:
            x, _ = draw()
        perm = torch.randperm(len(x))
        bar = tqdm(range(0, len(x), batch_size), desc=f"prior {epoch + 1}/{epochs}",
                   disable=not progress, leave=False)  # fmt: skip
        for i in bar:
            loss = -prior.log_prob(x[perm[i : i + batch_size]]).mean() / x.shape[1]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return prior.eval()


def save_pose_prior(path: str, prior: selfsup.PosePrior2D, info: Dict[str, Any]) -> None:
    """Write the 2D pose prior with `info` (atomically: files.atomic_path)."""
    with atomic_path(path) as tmp:
        torch.save(prior.to_blob(info), tmp)


class _Problem:
    """The adaptation objective on one batch: the student, the frozen starting model (teacher),
    the prior and the camera (known K rows, and the learned or fixed focal of the rest)."""

    def __init__(
        self,
        student: LinearModel,
        teacher: LinearModel,
        codec: Codec,
        prior: selfsup.PosePrior2D,
        data: AdaptData,
        cfg: AdaptConfig,
        log_f: torch.Tensor,
    ) -> None:
        self.student, self.teacher, self.prior, self.cfg = student, teacher, prior, cfg
        self.codec = codec
        self.kp = torch.as_tensor(data.keypoints, dtype=torch.float32)
        self.conf = torch.as_tensor(data.confidence, dtype=torch.float32).clamp(0, 1)
        self.K = torch.as_tensor(data.K, dtype=torch.float32)
        self.known = torch.as_tensor(data.known)
        self.centre = torch.tensor(
            [v / 2.0 for v in data.image_size] if data.image_size else [0.0, 0.0]
        )
        self.log_f = log_f
        self.limits = prior.bone_limits.float()

    def K_of(self, idx: torch.Tensor, log_f: Optional[torch.Tensor] = None) -> torch.Tensor:
        f = torch.exp(self.log_f if log_f is None else log_f)
        Ku = torch.zeros(len(idx), 3, 3)
        Ku[:, 0, 0] = f
        Ku[:, 1, 1] = f
        Ku[:, 0, 2], Ku[:, 1, 2], Ku[:, 2, 2] = self.centre[0], self.centre[1], 1.0
        return torch.where(self.known[idx][:, None, None], self.K[idx], Ku)

    def lift(self, net: LinearModel):
        return lambda uv, w, K: self.codec.decode(net(self.codec.encode(uv, w, K)))

    def losses(
        self, idx: torch.Tensor, angles: torch.Tensor, log_f: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Per-person losses (N,) of the batch `idx` with cycle rotations `angles` (N,) rad."""
        uv, w = self.kp[idx], self.conf[idx]
        K = self.K_of(idx, log_f)
        lift = self.lift(self.student)
        X = lift(uv, w, K)
        with torch.no_grad():
            X0 = self.lift(self.teacher)(uv, w, K)
        T = solve_root(X, uv, w, K)
        R = rotation_about(selfsup.body_up_axis(X), angles)
        cyc, uv_r = selfsup.cycle_loss(lift, X, T.detach(), w, K, R)
        sym, lim = selfsup.bone_losses(X, self.limits)
        # The 2D says nothing of a body's overall size (one twice as large and twice as far
        # projects the same), but losses in metres reward shrinking it: the cycle and symmetry
        # terms are taken at the starting model's size for the person, so no size pays.
        at_start_size = body_size(X0, ROOT) / body_size(X, ROOT).clamp(min=1e-6)
        return {
            "reprojection": selfsup.reprojection_loss(X + T[:, None], uv, w, K),
            "cycle": cyc * at_start_size,
            "prior": selfsup.prior_loss(self.prior, uv_r),
            "symmetry": sym * at_start_size,
            "limits": lim,
            "anchor": selfsup.anchor_loss(X, X0),
        }

    def total(self, parts: Dict[str, torch.Tensor]) -> torch.Tensor:
        c = self.cfg
        weights = {
            "reprojection": c.w_reprojection,
            "cycle": c.w_cycle,
            "prior": c.w_prior,
            "symmetry": c.w_symmetry,
            "limits": c.w_limits,
            "anchor": c.w_anchor,
        }
        return sum(weights[k] * v.mean() for k, v in parts.items())


def _freeze(model: LinearModel) -> LinearModel:
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


@dataclass
class _Loop:
    """One adaptation's moving parts: the objective (student, teacher, prior, camera), the
    optimiser (the student's weights and, with focal refine, log f), the set, the generator that
    orders the batches and draws the cycle rotations, the field-of-view prior's focal length
    f_prior (px) that regularises log f, and the max-norm constraint (0: none)."""

    prob: _Problem
    opt: torch.optim.Optimizer
    data: AdaptData
    rng: np.random.Generator
    f_prior: float
    max_norm: float


def adapt(
    model: LinearModel,
    codec: Codec,
    data: AdaptData,
    prior: selfsup.PosePrior2D,
    cfg: AdaptConfig = AdaptConfig(),
    max_norm: float = 1.0,
    progress: bool = True,
) -> AdaptResult:
    """Adapt a copy of `model` to `data` (seeded; `model` is left as it was). With
    cfg.focal == 'refine' the focal length of the rows of unknown K is learned, starting from
    the starting model's pooled estimate fused with the field-of-view prior (as `lift --focal
    fused`: the adaptation losses alone barely move f, as one view barely constrains it) and
    regularised towards the prior (log-normal, FOCAL_PRIOR_LOG_SD), the prior's weight shared
    out over the set's people so that it counts once in total. Raises AdaptError as soon as the
    loss or the weights stop being finite."""
    if cfg.focal not in FOCAL_MODES:
        raise ValueError(f"focal must be one of {', '.join(FOCAL_MODES)}, got {cfg.focal!r}")
    unknown = not bool(data.known.all())
    if cfg.focal == "refine" and not unknown:
        raise ValueError("--focal refine needs inputs without K (every input has its K)")
    t0 = time.time()
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    teacher = _freeze(copy.deepcopy(model).float())
    student = copy.deepcopy(model).float().eval()
    prior = _freeze(prior)
    f_prior, pooled, f_start = _starting_focal(teacher, codec, data, cfg)
    log_f = torch.tensor(math.log(f_start), requires_grad=cfg.focal == "refine")
    prob = _Problem(student, teacher, codec, prior, data, cfg, log_f)
    groups = [{"params": list(student.parameters()), "lr": cfg.lr}]
    if cfg.focal == "refine":
        groups.append({"params": [log_f], "lr": cfg.focal_lr})
    loop = _Loop(prob, torch.optim.Adam(groups), data, rng, f_prior, max_norm)
    try:
        history = [_adapt_epoch(loop, epoch, progress) for epoch in range(cfg.epochs)]
        focal = _focal_result(loop, pooled) if unknown else None
    finally:
        torch.set_num_threads(threads)
    return AdaptResult(student.eval(), history, focal, time.time() - t0, len(data.keypoints))


def _starting_focal(teacher: LinearModel, codec: Codec, data: AdaptData, cfg: AdaptConfig):
    """The focal lengths (px) adaptation starts from: (f_prior, pooled, f_start). f_prior: the
    field-of-view prior's (cfg.hfov_deg over the image width; 1.0 when every K is known);
    pooled: with focal refine, the starting model's pooled estimate on the rows of unknown K
    (solvers.estimate_focal's result, else None); f_start: pooled fused with the prior with
    focal refine, else f_prior."""
    unknown = not bool(data.known.all())
    f_prior = (
        intrinsics_from_fov(*[int(round(v)) for v in data.image_size], cfg.hfov_deg).fx
        if unknown
        else 1.0
    )
    pooled = None
    f_start = f_prior
    if cfg.focal == "refine":
        rows = ~data.known
        pooled = estimate_focal(
            Lifter(teacher, codec, "cpu", precision="fp32").lift,
            data.keypoints[rows],
            data.confidence[rows],
            data.image_size,
            seed=cfg.seed,
        )
        f_start = fuse_focal(f_prior, pooled, FOCAL_PRIOR_LOG_SD)
    return f_prior, pooled, f_start


def _adapt_epoch(loop: _Loop, epoch: int, progress: bool) -> Dict[str, float]:
    """One pass over the set in a random order, one optimiser step per batch (`_adapt_step`).
    Returns the epoch's history row: the per-person mean of each loss term and of the total,
    the epoch (from 1), and where some K is unknown the focal length (px) after it."""
    from tqdm import tqdm

    cfg, log_f = loop.prob.cfg, loop.prob.log_f
    N = len(loop.data.keypoints)
    steps = max(1, math.ceil(N / cfg.batch_size))
    perm = torch.as_tensor(loop.rng.permutation(N))
    sums: Dict[str, float] = {}
    bar = tqdm(range(steps), desc=f"adapt {epoch + 1}/{cfg.epochs}", disable=not progress,
               leave=False)  # fmt: skip
    for step in bar:
        idx = perm[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        parts, loss = _adapt_step(loop, idx, epoch, step)
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach().mean()) * len(idx)
        sums["total"] = sums.get("total", 0.0) + float(loss.detach()) * len(idx)
        if step % 10 == 0:
            post = {"loss": f"{float(loss.detach()):.4f}"}
            if cfg.focal == "refine":
                post["f_px"] = f"{math.exp(float(log_f.detach())):.0f}"
            bar.set_postfix(post)
    row = {k: v / N for k, v in sums.items()}
    row["epoch"] = epoch + 1
    if not bool(loop.data.known.all()):
        row["focal_px"] = math.exp(float(log_f.detach()))
    return row


def _adapt_step(
    loop: _Loop, idx: torch.Tensor, epoch: int, step: int
) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
    """One optimiser step on the people `idx` (B,), with cycle rotations drawn uniformly in
    +-cfg.rotation_deg: the weighted losses, plus with focal refine the focal prior's share
    (`_focal_prior_term`). Returns (per-person loss terms, total loss); raises AdaptError when
    the loss, a weight or the focal length stops being finite."""
    prob, cfg = loop.prob, loop.prob.cfg
    rot = math.radians(cfg.rotation_deg)
    angles = torch.as_tensor(loop.rng.uniform(-rot, rot, len(idx)), dtype=torch.float32)
    parts = prob.losses(idx, angles)
    loss = prob.total(parts)
    if cfg.focal == "refine":
        loss = loss + _focal_prior_term(loop, idx)
    if not torch.isfinite(loss):
        terms = [k for k, v in parts.items() if not torch.isfinite(v).all()]
        what = f"the loss is {float(loss.detach()):g}"
        what += f" (terms: {', '.join(terms)})" if terms else ""
        raise _diverged(cfg, epoch, step, what)
    loop.opt.zero_grad(set_to_none=True)
    loss.backward()
    loop.opt.step()
    if loop.max_norm > 0:
        apply_max_norm(prob.student, loop.max_norm)
    problem = nonfinite_weights(prob.student.state_dict())
    if problem:
        raise _diverged(cfg, epoch, step, f"the weights have {problem}")
    if not torch.isfinite(prob.log_f):
        raise _diverged(cfg, epoch, step, "the focal length is not finite")
    return parts, loss


def _focal_prior_term(loop: _Loop, idx: torch.Tensor) -> torch.Tensor:
    """The field-of-view prior's negative log-likelihood of log f (log-normal around f_prior,
    sd FOCAL_PRIOR_LOG_SD), weighted by the batch's share of the people of unknown K, so that
    over an epoch the prior counts once in total."""
    known = loop.data.known
    share = float((~known[idx.numpy()]).sum()) / max(int((~known).sum()), 1)
    z = (loop.prob.log_f - math.log(loop.f_prior)) / FOCAL_PRIOR_LOG_SD
    return share * 0.5 * z * z


def _focal_result(loop: _Loop, pooled) -> FocalResult:
    """The unknown-K camera's focal lengths after adaptation: prior, refined (the learned one;
    the starting one with focal fixed), its relative uncertainty (`focal_uncertainty`, 0 with
    focal fixed), the number of people of unknown K and the pooled estimate (or None)."""
    f_hat = math.exp(float(loop.prob.log_f.detach()))
    refine = loop.prob.cfg.focal == "refine"
    sd = focal_uncertainty(loop.prob, f_hat, loop.rng) if refine else 0.0
    n_unknown = int((~loop.data.known).sum())
    return FocalResult(loop.f_prior, f_hat, sd, n_unknown, None if pooled is None else pooled.f_px)


def _diverged(cfg: AdaptConfig, epoch: int, step: int, what: str) -> AdaptError:
    """The one-line error of an adaptation stopped at `epoch`, `step` (from 0) because `what`."""
    return AdaptError(
        f"adaptation diverged at epoch {epoch + 1}, step {step + 1}: {what}; nothing was saved "
        f"(try a smaller learning rate than {cfg.lr:g})"
    )


@torch.no_grad()
def focal_uncertainty(
    prob: _Problem,
    f_hat: float,
    rng: np.random.Generator,
    max_people: int = 1000,
    num_grid: int = 13,
    half_width: float = 0.4,
    num_bootstrap: int = 200,
) -> float:
    """Relative standard deviation of the refined focal length: the data terms (reprojection and
    cycle) of up to `max_people` people of unknown K on a log grid of +-half_width around f_hat,
    with the adapted network; the spread of the pooled cost's minimum over bootstrap resamples
    of the people (as solvers.estimate_focal)."""
    rows = np.flatnonzero(~prob.known.numpy())
    if len(rows) > max_people:
        rows = np.sort(rng.choice(rows, max_people, replace=False))
    idx = torch.as_tensor(rows)
    angles = torch.as_tensor(rng.uniform(-np.pi, np.pi, len(rows)), dtype=torch.float32)
    grid = np.log(f_hat) + np.linspace(-half_width, half_width, num_grid)
    cost = []
    for g in grid:
        parts = prob.losses(idx, angles, torch.tensor(g, dtype=torch.float32))
        c = prob.cfg.w_reprojection * parts["reprojection"] + prob.cfg.w_cycle * parts["cycle"]
        cost.append(c.numpy())
    cost = np.nan_to_num(np.asarray(cost, dtype=np.float64), nan=1e3)  # (G, S)
    S = cost.shape[1]
    boot = cost[:, rng.integers(0, S, (num_bootstrap, S))].mean(-1).T  # (B, G)
    return float(np.exp(np.std(_parabolic_min(grid, boot))) - 1.0)


def save_adapted(
    path: str,
    result: AdaptResult,
    codec: Codec,
    base_info: Dict[str, Any],
    cfg: AdaptConfig,
    inputs: Sequence[str],
) -> None:
    """Write the adapted network in the ordinary lifter checkpoint format: the base model's
    training configuration and provenance, plus what the adaptation was (extra['adaptation'])."""
    base_extra = dict(base_info.get("extra") or {})
    adaptation = {
        "base_checkpoint": base_info.get("path"),
        "inputs": [os.path.basename(p) for p in inputs],
        "poses": result.num_poses,
        "config": cfg.to_dict(),
        "history": result.history,
        "seconds": result.seconds,
    }
    if result.focal is not None:
        adaptation["focal"] = asdict(result.focal)
    base_extra["adaptation"] = adaptation
    save_checkpoint(
        path,
        result.model,
        codec,
        base_info.get("train_config") or {},
        base_info.get("provenance") or {},
        base_extra,
    )
