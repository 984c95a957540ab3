"""Shared test helpers: paths to the project, to ../shared, and skip reasons."""

from __future__ import annotations

import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
BANDAI_ARCHIVE = os.path.join(SHARED, "data", "bandai-namco-motion", "bvh.tar.xz")

# DDS settings for every test process, before any ROS participant exists: localhost only, and the
# Fast DDS profile that lets best-effort images over 512 KiB through (docs/ROS.md), under the
# name Jazzy's Fast DDS 2.x reads and the one Kilted's Fast DDS 3 reads.
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
for _var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"):
    os.environ.setdefault(_var, os.path.join(ROOT, "config", "fastdds_large_images.xml"))

needs_shared = pytest.mark.skipif(
    not os.path.isfile(BANDAI_ARCHIVE),
    reason=f"needs ../shared (the Bandai archive at {BANDAI_ARCHIVE}); "
    "users and some CI machines lack it",
)

STANDING = np.array(
    [
        [0, 0.0, 0],
        [-0.1, 0, 0],
        [-0.1, 0.43, 0],
        [-0.1, 0.85, 0],
        [0.1, 0, 0],
        [0.1, 0.43, 0],
        [0.1, 0.85, 0],
        [0, -0.2, 0],
        [0, -0.45, 0],
        [0, -0.52, 0],
        [0, -0.65, 0],
        [0.17, -0.45, 0],
        [0.2, -0.18, 0],
        [0.22, 0.05, 0],
        [-0.17, -0.45, 0],
        [-0.2, -0.18, 0],
        [-0.22, 0.05, 0],
    ]
)
"""A standing person in the h36m17 joint order, root-relative, metres, camera optical axes
(y down): the test suites' shared example body."""

T_POSE_WORLD = np.array(
    [
        [0, 0.95, 0],
        [-0.065, 0.95, 0],
        [-0.07, 0.52, 0.02],
        [-0.07, 0.1, 0],
        [0.065, 0.95, 0],
        [0.07, 0.52, 0.02],
        [0.07, 0.1, 0],
        [0, 1.1, 0],
        [0, 1.35, 0],
        [0, 1.42, 0],
        [0, 1.55, 0.02],
        [0.1, 1.35, 0],
        [0.35, 1.35, 0],
        [0.58, 1.35, 0],
        [-0.1, 1.35, 0],
        [-0.35, 1.35, 0],
        [-0.58, 1.35, 0],
    ]
)
"""A person standing with arms out in the h36m17 joint order, in a capture's world frame
(metres, Y up, facing +Z, feet near the floor): the mocap-side example body."""


def poisoned_checkpoint(path: str, out: str, value: float = float("nan")) -> tuple:
    """Copy the lifter checkpoint at `path` to `out` with one weight set to `value` (NaN or
    infinite, as a diverged training leaves them), bypassing save_checkpoint, which refuses
    such weights; returns the poisoned tensor's name and size."""
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=True)
    name = next(k for k, v in blob["state_dict"].items() if v.is_floating_point())
    blob["state_dict"][name].view(-1)[0] = value
    torch.save(blob, out)
    return name, blob["state_dict"][name].numel()
