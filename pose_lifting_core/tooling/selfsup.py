"""Self-supervised losses for adapting a lifter from 2D alone, and the learned 2D pose prior.

Owns: the per-person losses (reprojection through the camera, rotation cycle consistency,
bone-length symmetry and limits, the anchor to the starting model), the rotation about a body
axis, and `PosePrior2D`, a RealNVP normalizing flow over normalised 2D poses fitted on projections
of the training motion capture (EPOCH's LiftNet, ElePose and CanonPose use the same ideas).

Every loss returns one value per person (N,) so callers weight and average them; all are zero
for a correct lifter on exact data (tests check this with known answers); callers take the
metre-valued ones at a fixed size where needed (the 2D cannot tell a body's size, and terms in
metres reward shrinking it; `metrics.body_size`). Shapes: X (N, 17, 3)
metres, camera optical frame; keypoints (N, 17, 2) px; confidence (N, 17); K (N, 3, 3).
A lift function maps (keypoints, confidence, K) -> root-relative X (N, 17, 3).
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np
import torch
from torch import nn

from pose_lifting_core.camera import project
from pose_lifting_core.solvers import person_size_px
from pose_lifting_core.skeleton import JOINT_NAMES, ROOT, SKELETON

LiftFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
J = {n: i for i, n in enumerate(JOINT_NAMES)}
BONES = SKELETON.bones  # (parent, child)
SYMMETRIC_BONES: Tuple[Tuple[int, int], ...] = tuple(
    (i, k)
    for i, (_, c) in enumerate(BONES)
    for k, (_, c2) in enumerate(BONES)
    if JOINT_NAMES[c].startswith("left_") and JOINT_NAMES[c2] == "right_" + JOINT_NAMES[c][5:]
)
"""(left bone, right bone) index pairs into BONES."""
PRIOR_JOINTS = tuple(i for i, n in enumerate(JOINT_NAMES) if n not in ("pelvis", "spine", "neck"))
"""Joints the 2D prior sees: every layout provides them (spine and neck are absent in COCO and
BlazePose); the pelvis is the origin of the normalised pose."""


def reprojection_loss(
    X_cam: torch.Tensor, keypoints: torch.Tensor, confidence: torch.Tensor, K: torch.Tensor
) -> torch.Tensor:
    """Confidence-weighted mean distance (N,) between project(X_cam) and the keypoints, as a
    fraction of the person's 2D size (so near and far people count alike)."""
    d = (project(X_cam, K, min_depth=1e-3) - keypoints).norm(dim=-1)
    wsum = confidence.sum(-1).clamp(min=1e-9)
    return (d * confidence).sum(-1) / wsum / person_size_px(keypoints, confidence)


def body_up_axis(X_rel: torch.Tensor) -> torch.Tensor:
    """Each skeleton's own vertical (N, 3): pelvis to thorax, without gradient. The camera's up
    direction is unknown; the trunk is the body's own, and equals gravity's for upright people."""
    return (X_rel[:, J["thorax"]] - X_rel[:, ROOT]).detach()


def rotate_about_root(X_rel: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """Root-relative skeletons (N, J, 3) turned by R (N, 3, 3) about their root."""
    return X_rel @ R.transpose(1, 2)


def cycle_loss(
    lift: LiftFn,
    X_rel: torch.Tensor,
    T: torch.Tensor,
    confidence: torch.Tensor,
    K: torch.Tensor,
    R: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rotation cycle: turn the lifted skeleton by R about its root, place it at T, project it
    through K, lift that view again and turn the result back; it must be the first lift.
    Returns (mean per-joint distance (N,) metres, the rotated view's keypoints (N, J, 2) px).
    Joints missing from the input stay missing in the rotated view, so the second lift sees the
    input's layout."""
    uv_r = project(rotate_about_root(X_rel, R) + T[:, None], K, min_depth=1e-3)
    X2 = lift(uv_r, confidence, K)
    back = rotate_about_root(X2, R.transpose(1, 2))
    return (back - X_rel).norm(dim=-1).mean(-1), uv_r


def bone_lengths(X: torch.Tensor) -> torch.Tensor:
    """Lengths (N, B) metres of BONES."""
    p = torch.tensor([b[0] for b in BONES])
    c = torch.tensor([b[1] for b in BONES])
    return (X[:, c] - X[:, p]).norm(dim=-1)


def bone_losses(X: torch.Tensor, limits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(symmetry, limits), each (N,) metres: the mean |left - right| over SYMMETRIC_BONES, and
    the mean distance of each bone length outside its [lo, hi] limits (B, 2) metres."""
    L = bone_lengths(X)
    li = torch.tensor([a for a, _ in SYMMETRIC_BONES])
    ri = torch.tensor([b for _, b in SYMMETRIC_BONES])
    sym = (L[:, li] - L[:, ri]).abs().mean(-1)
    out = torch.relu(limits[:, 0] - L) + torch.relu(L - limits[:, 1])
    return sym, out.mean(-1)


def anchor_loss(X_rel: torch.Tensor, X_start: torch.Tensor) -> torch.Tensor:
    """Distillation to the starting model: mean per-joint distance (N,) metres."""
    return (X_rel - X_start).norm(dim=-1).mean(-1)


def prior_features(keypoints: torch.Tensor) -> torch.Tensor:
    """Normalised 2D pose (N, 2 * len(PRIOR_JOINTS)) of complete keypoints (N, 17, 2): relative
    to the pelvis, divided by the RMS distance of PRIOR_JOINTS from it (scale and position
    free, so one prior serves every camera distance and focal length)."""
    rel = keypoints[:, PRIOR_JOINTS] - keypoints[:, ROOT : ROOT + 1]
    rms = (rel**2).sum(-1).mean(-1).sqrt().clamp(min=1e-6)
    return (rel / rms[:, None, None]).reshape(len(rel), -1)


class _Coupling(nn.Module):
    def __init__(self, mask: torch.Tensor, hidden: int) -> None:
        super().__init__()
        dim = len(mask)
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.scale = nn.Linear(hidden, dim)
        self.shift = nn.Linear(hidden, dim)
        for lin in (self.scale, self.shift):  # the identity map at initialisation
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x * self.mask)
        s = torch.tanh(self.scale(h)) * (1 - self.mask)
        y = x * self.mask + (1 - self.mask) * (x * torch.exp(s) + self.shift(h))
        return y, s.sum(-1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        h = self.net(y * self.mask)
        s = torch.tanh(self.scale(h)) * (1 - self.mask)
        return y * self.mask + (1 - self.mask) * (y - self.shift(h)) * torch.exp(-s)


class PosePrior2D(nn.Module):
    """A RealNVP flow: standardised normalised 2D pose -> affine couplings -> standard normal.
    `log_prob` is the exact log-density (per pose, in nats) of `prior_features` vectors."""

    def __init__(self, dim: int, layers: int = 6, hidden: int = 128, seed: int = 0) -> None:
        super().__init__()
        self.hparams = {"dim": dim, "layers": layers, "hidden": hidden, "seed": seed}
        g = torch.Generator().manual_seed(seed)
        masks = []
        for _ in range(layers):
            m = torch.zeros(dim)
            m[torch.randperm(dim, generator=g)[: dim // 2]] = 1.0
            masks.append(m)
        self.couplings = nn.ModuleList(_Coupling(m, hidden) for m in masks)
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.register_buffer("bone_limits", torch.zeros(len(BONES), 2))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x (N, dim) -> (z (N, dim), log|det dz/dx| (N,))."""
        z = (x - self.mean) / self.std
        logdet = -torch.log(self.std).sum().expand(len(x))
        for c in self.couplings:
            z, ld = c(z)
            logdet = logdet + ld
        return z, logdet

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        for c in reversed(self.couplings):
            z = c.inverse(z)
        return z * self.std + self.mean

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        z, logdet = self(x)
        return -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * np.log(2 * np.pi) + logdet

    def to_blob(self, info: Dict[str, object]) -> Dict[str, object]:
        return {
            "format": PRIOR_FORMAT,
            "hparams": dict(self.hparams),
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()},
            "info": info,
        }

    @staticmethod
    def from_blob(blob: Dict[str, object]) -> "PosePrior2D":
        if not isinstance(blob, dict) or blob.get("format") != PRIOR_FORMAT:
            raise ValueError(f"not a 2D pose prior (expected format {PRIOR_FORMAT!r})")
        h = blob["hparams"]
        prior = PosePrior2D(int(h["dim"]), int(h["layers"]), int(h["hidden"]), int(h["seed"]))
        prior.load_state_dict(blob["state_dict"])
        return prior.eval()


PRIOR_FORMAT = "pose_lifting.pose_prior_2d/1"


def prior_loss(prior: PosePrior2D, keypoints: torch.Tensor) -> torch.Tensor:
    """Negative log-density per dimension (N,) of complete keypoints (N, 17, 2) under the prior."""
    x = prior_features(keypoints)
    return -prior.log_prob(x) / x.shape[-1]
