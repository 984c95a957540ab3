"""Encoding of 2D keypoints into network input and decoding of network output into metres.

Owns: the feature layout and the normalisation statistics. A `Codec` is saved in the checkpoint
beside the weights (joint order included), so a model is never used with another normalisation.

Input features for J joints (all from pixels normalised by K⁻¹, so one model serves every camera):
  [0, 2J)      2D joints relative to the body centre, divided by the pose's RMS radius
  [2J, 3J)     per-joint confidence in [0, 1]
  [3J, 3J+2)   ray direction: the un-centred normalised position of the body centre
  [3J+2]       log of the RMS radius (how large the person appears, in tangent units)
The body centre is the pelvis when its confidence is > 0, else the confidence-weighted mean.
Missing joints (confidence 0) have their coordinate features set to 0 after standardisation.
Output: root-relative joints (J, 3) in metres, camera optical frame, standardised per coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np
import torch

from pose_lifting_core.camera import normalize
from pose_lifting_core.skeleton import JOINT_NAMES, ROOT


def _torch(a) -> torch.Tensor:
    """numpy (or nested lists) as a float64 tensor, sharing memory unless the array is read-only
    (a broadcast view, a message buffer: copied, as torch needs writable memory); a tensor as
    it is."""
    if isinstance(a, torch.Tensor):
        return a
    a = np.asarray(a, dtype=np.float64)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def features_raw(keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Unstandardised input features (N, 3J+3). keypoints (N, J, 2) px, confidence (N, J), K
    (3, 3) or (N, 3, 3). Rows whose confidences are all 0 give all-zero coordinates. numpy in,
    numpy (float64) out; torch in, torch out, differentiable (self-supervised adaptation)."""
    if not isinstance(keypoints, torch.Tensor):
        with torch.inference_mode():
            return features_raw(_torch(keypoints), _torch(confidence), _torch(K)).numpy()
    xy = normalize(keypoints, K)
    w = confidence
    w = torch.where(torch.isfinite(w) & torch.isfinite(xy).all(-1), w.clamp(0.0, 1.0), 0.0)
    xy = torch.where(w[..., None] > 0, xy, 0.0)
    wsum = w.sum(-1, keepdim=True).clamp(min=1e-9)
    mean = (xy * w[..., None]).sum(-2) / wsum
    centre = torch.where(w[:, ROOT : ROOT + 1] > 0, xy[:, ROOT], mean)
    rel = xy - centre[:, None]
    radius = torch.sqrt((w * (rel**2).sum(-1)).sum(-1, keepdim=True) / wsum).clamp(min=1e-6)
    rel = torch.where(w[..., None] > 0, rel / radius[..., None], 0.0)
    return torch.cat([rel.reshape(len(xy), -1), w, centre, torch.log(radius)], -1)


@dataclass
class Codec:
    """Feature and target standardisation, with the joint order they belong to."""

    joint_names: Tuple[str, ...]
    in_mean: np.ndarray
    in_std: np.ndarray
    out_mean: np.ndarray
    out_std: np.ndarray

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def in_dim(self) -> int:
        return len(self.in_mean)

    @property
    def out_dim(self) -> int:
        return len(self.out_mean)

    @staticmethod
    def fit(
        features: np.ndarray, targets_rel: np.ndarray, joint_names: Sequence[str] = JOINT_NAMES
    ) -> "Codec":
        """Statistics from raw training features (N, D) and root-relative targets (N, J, 3)."""
        J = len(joint_names)
        valid = np.repeat(features[:, 2 * J : 3 * J] > 0, 2, axis=1)
        coords = features[:, : 2 * J]
        cnt = np.maximum(valid.sum(0), 1)
        cmean = (coords * valid).sum(0) / cnt
        cstd = np.sqrt((((coords - cmean) * valid) ** 2).sum(0) / cnt)
        rest = features[:, 2 * J :]
        in_mean = np.concatenate([cmean, rest.mean(0)])
        in_std = np.concatenate([cstd, rest.std(0)])
        in_std[2 * J : 3 * J] = 1.0  # confidences stay as they are
        in_mean[2 * J : 3 * J] = 0.0
        t = targets_rel.reshape(len(targets_rel), -1)
        return Codec(
            tuple(joint_names),
            in_mean,
            np.maximum(in_std, 1e-6),
            t.mean(0),
            np.maximum(t.std(0), 1e-6),
        )

    def encode(self, keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray) -> np.ndarray:
        """Network input (N, in_dim) from pixels (N, J, 2), confidence (N, J), K: float32 numpy
        from numpy, a differentiable tensor (of the keypoints' dtype) from torch."""
        return self.standardize(features_raw(keypoints, confidence, K))

    def standardize(self, raw: np.ndarray) -> np.ndarray:
        """Raw features (N, 3J+3) -> network input: float32 numpy, or a tensor from a tensor."""
        if not isinstance(raw, torch.Tensor):
            with torch.inference_mode():
                return self.standardize(_torch(raw)).numpy().astype(np.float32)
        J = self.num_joints
        mean, std = (torch.as_tensor(a, dtype=raw.dtype) for a in (self.in_mean, self.in_std))
        x = (raw - mean) / std
        present = (raw[:, 2 * J : 3 * J] > 0).repeat_interleave(2, dim=1)
        return torch.cat([x[:, : 2 * J] * present, x[:, 2 * J :]], 1)

    def encode_target(self, joints_rel: np.ndarray) -> np.ndarray:
        return ((joints_rel.reshape(len(joints_rel), -1) - self.out_mean) / self.out_std).astype(
            np.float32
        )

    def decode(self, out: np.ndarray) -> np.ndarray:
        """Network output (N, out_dim) -> root-relative joints (N, J, 3) metres (root exactly
        0): float64 numpy from numpy, a tensor of the output's dtype from torch."""
        if not isinstance(out, torch.Tensor):
            with torch.inference_mode():
                return self.decode(_torch(out)).numpy()
        mean, std = (torch.as_tensor(a, dtype=out.dtype) for a in (self.out_mean, self.out_std))
        X = (out * std + mean).reshape(len(out), -1, 3)
        return X - X[:, ROOT : ROOT + 1]

    def to_dict(self) -> Dict[str, object]:
        return {
            "joint_names": list(self.joint_names),
            "in_mean": self.in_mean.tolist(),
            "in_std": self.in_std.tolist(),
            "out_mean": self.out_mean.tolist(),
            "out_std": self.out_std.tolist(),
        }

    @staticmethod
    def from_dict(d: Dict[str, object]) -> "Codec":
        return Codec(
            tuple(d["joint_names"]),
            np.asarray(d["in_mean"], dtype=np.float64),
            np.asarray(d["in_std"], dtype=np.float64),
            np.asarray(d["out_mean"], dtype=np.float64),
            np.asarray(d["out_std"], dtype=np.float64),
        )
