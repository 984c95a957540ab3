"""Differentiable (torch) twins of the numpy camera, codec and root-solve maths.

Owns: nothing new. Each function here is the torch form of one numpy function, kept line for
line beside its original so that gradients can flow through the camera during self-supervised
adaptation (adapt.py): `normalize` / `project` (camera.py), `features_raw` and the codec's
standardise / decode (codec.py), `solve_root` (solvers.py). Tests check each against its numpy
original; a change to one must be made to both.

Shapes as in the originals: keypoints (N, J, 2) px, confidence (N, J), K (N, 3, 3),
X (N, J, 3) metres in the camera optical frame, T (N, 3) metres.
"""

from __future__ import annotations

from typing import Tuple

import torch

from pose_lifting_core.codec import Codec
from pose_lifting_core.skeleton import ROOT


def _focal_centre(K: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(fx, fy) and (cx, cy) of K (N, 3, 3), shaped (N, 1, 2) to broadcast against (N, J, 2)."""
    return torch.stack([K[:, 0, 0], K[:, 1, 1]], -1)[:, None], K[:, :2, 2][:, None]


def normalize(pixels: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """camera.normalize: pixels (N, J, 2) -> K⁻¹ coordinates (N, J, 2)."""
    f, c = _focal_centre(K)
    return (pixels - c) / f


def project(X: torch.Tensor, K: torch.Tensor, min_depth: float = 1e-3) -> torch.Tensor:
    """camera.project: camera-frame points (N, J, 3) -> pixels (N, J, 2); depths below
    min_depth are clamped to it (so a point behind the camera cannot produce inf)."""
    f, c = _focal_centre(K)
    return X[..., :2] / X[..., 2:3].clamp(min=min_depth) * f + c


def features_raw(keypoints: torch.Tensor, confidence: torch.Tensor, K: torch.Tensor):
    """codec.features_raw: unstandardised network input (N, 3J+3)."""
    xy = normalize(keypoints, K)
    w = confidence.clamp(0.0, 1.0)
    xy = torch.where(w[..., None] > 0, xy, torch.zeros_like(xy))
    wsum = w.sum(-1, keepdim=True).clamp(min=1e-9)
    mean = (xy * w[..., None]).sum(-2) / wsum
    centre = torch.where(w[:, ROOT : ROOT + 1] > 0, xy[:, ROOT], mean)
    rel = xy - centre[:, None]
    radius = torch.sqrt((w * (rel**2).sum(-1)).sum(-1, keepdim=True) / wsum).clamp(min=1e-6)
    rel = torch.where(w[..., None] > 0, rel / radius[..., None], torch.zeros_like(rel))
    N = len(xy)
    return torch.cat([rel.reshape(N, -1), w, centre, torch.log(radius)], -1)


class TorchCodec:
    """A Codec's standardisation and decoding as torch operations (float32)."""

    def __init__(self, codec: Codec) -> None:
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        self.J = codec.num_joints
        self.in_mean, self.in_std = as_t(codec.in_mean), as_t(codec.in_std)
        self.out_mean, self.out_std = as_t(codec.out_mean), as_t(codec.out_std)

    def encode(self, keypoints: torch.Tensor, confidence: torch.Tensor, K: torch.Tensor):
        """Codec.encode: network input (N, in_dim)."""
        raw = features_raw(keypoints, confidence, K)
        x = (raw - self.in_mean) / self.in_std
        mask = (raw[:, 2 * self.J : 3 * self.J] > 0).repeat_interleave(2, dim=1)
        return torch.cat([x[:, : 2 * self.J] * mask, x[:, 2 * self.J :]], 1)

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """Codec.decode: network output (N, out_dim) -> root-relative joints (N, J, 3)."""
        X = (out * self.out_std + self.out_mean).reshape(len(out), -1, 3)
        return X - X[:, ROOT : ROOT + 1]


def solve_root(
    X_rel: torch.Tensor,
    keypoints: torch.Tensor,
    weights: torch.Tensor,
    K: torch.Tensor,
    iterations: int = 3,
    min_depth: float = 0.1,
) -> torch.Tensor:
    """solvers.solve_root: root translation T (N, 3), differentiable in X_rel, keypoints and K.
    People with fewer than two usable joints get T = (0, 0, min_depth) instead of NaN (their
    losses carry zero weight)."""
    xy = normalize(keypoints, K)
    w = weights
    Xz = X_rel[..., 2]
    b = xy * Xz[..., None] - X_rel[..., :2]
    terms = torch.cat(
        [
            torch.ones_like(Xz)[..., None],
            xy,
            (xy * xy).sum(-1, keepdim=True),
            b,
            (xy * b).sum(-1, keepdim=True),
        ],
        -1,
    )
    s = w
    T = torch.zeros(Xz.shape[:-1] + (3,), dtype=X_rel.dtype)
    for it in range(iterations):
        if it > 0:
            z = (Xz + T[:, 2:3]).clamp(min=min_depth)
            s = w / (z * z)
        sums = (s[:, None, :] @ terms)[:, 0]
        m = sums[:, 1:] / sums[:, :1].clamp(min=1e-12)
        mx, my, mr2, mbx, mby, mxb = m.unbind(-1)
        D = torch.maximum(mr2 - mx * mx - my * my, 1e-12 * (2.0 + mr2))
        Tz = ((mx * mbx + my * mby - mxb) / D).clamp(min=min_depth)
        T = torch.stack([mbx + mx * Tz, mby + my * Tz, Tz], -1)
    usable = (w > 0).sum(-1) >= 2
    fallback = torch.tensor([0.0, 0.0, min_depth], dtype=T.dtype)
    return torch.where(usable[:, None], T, fallback)
