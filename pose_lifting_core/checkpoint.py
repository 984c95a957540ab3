"""Checkpoints: the file format that carries a lifter's weights with everything needed to use them.

Owns: saving and loading (weights, network hyper-parameters, the codec with its joint order, the
training configuration, provenance with every dataset's licence and attribution), the shipped
checkpoint's path, and `load_model` (checkpoint -> network and codec) for the inference engine.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple

import torch

from pose_lifting_core.codec import Codec
from pose_lifting_core.files import atomic_path
from pose_lifting_core.model import LinearModel

CHECKPOINT_FORMAT = "pose_lifting.lifter/1"
WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
"""The shipped weights (package data): the lifters and the 2D pose prior of adaptation."""
DEFAULT_CHECKPOINT = os.path.join(WEIGHTS_DIR, "lifter.pt")


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable, not a pose_lifting lifter checkpoint, or whose
    weights are not all finite."""


def nonfinite_weights(state_dict: Dict[str, Any]) -> Optional[str]:
    """Where a state dict's floating-point tensors hold NaN or infinite values, in words
    ("12 NaN or infinite values, in blocks.0.w1.weight (8 of 1024), ..."), or None when every
    value is finite. The one finiteness check of weights: saving and loading use it."""
    bad, count = [], 0
    for name, value in state_dict.items():
        if torch.is_tensor(value) and value.is_floating_point():
            n = int((~torch.isfinite(value)).sum())
            if n:
                bad.append(f"{name} ({n} of {value.numel()})")
                count += n
    if not bad:
        return None
    more = f" and {len(bad) - 3} more tensors" if len(bad) > 3 else ""
    return f"{count} NaN or infinite values, in {', '.join(bad[:3])}{more}"


def save_checkpoint(
    path: str,
    model: LinearModel,
    codec: Codec,
    train_config: Dict[str, Any],
    provenance: Dict[str, Any],
    extra: Optional[Dict[str, Any]] = None,
) -> None:
    """Write weights and everything needed to use them (files.atomic_path: an interrupted save
    leaves an existing checkpoint as it was). Weights that are not all finite (a diverged
    training or adaptation) are refused with CheckpointError, and nothing is written."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    problem = nonfinite_weights(state)
    if problem:
        raise CheckpointError(f"not saving {path}: the weights have {problem}")
    blob = {
        "format": CHECKPOINT_FORMAT,
        "hparams": dict(model.hparams),
        "state_dict": state,
        "codec": codec.to_dict(),
        "train_config": train_config,
        "provenance": provenance,
        "extra": extra or {},
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def load_checkpoint(path: str) -> Dict[str, Any]:
    """Read a checkpoint safely (weights_only). Raises CheckpointError with the reason, also for
    weights that are not all finite (they would lift nobody, in silence)."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(
            f"checkpoint {path} is corrupt or unreadable: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a pose_lifting lifter checkpoint "
            f"(expected format {CHECKPOINT_FORMAT!r})"
        )
    missing = [k for k in ("hparams", "state_dict", "codec") if k not in blob]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}")
    if not isinstance(blob["state_dict"], dict):
        raise CheckpointError(f"checkpoint {path} has no weights (state_dict is not a mapping)")
    problem = nonfinite_weights(blob["state_dict"])
    if problem:
        raise CheckpointError(
            f"checkpoint {path} is unusable: its weights have {problem} (saved from a training "
            "or adaptation that diverged?)"
        )
    return blob


def load_model(path: Optional[str] = None) -> Tuple[LinearModel, Codec, Dict[str, Any]]:
    """The network (eval mode), its codec and the checkpoint's information (train_config,
    provenance, extra, path) from `path` (default: the shipped weights). Raises CheckpointError
    when the weights do not fit the network the checkpoint describes."""
    path = path or DEFAULT_CHECKPOINT
    blob = load_checkpoint(path)
    try:
        model = LinearModel.from_hparams(blob["hparams"])
        model.load_state_dict(blob["state_dict"])
        codec = Codec.from_dict(blob["codec"])
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} does not match the model: {exc}") from exc
    info = {k: blob.get(k) for k in ("train_config", "provenance", "extra")}
    info["path"] = path
    return model.eval(), codec, info
