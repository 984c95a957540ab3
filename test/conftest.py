"""Shared test helpers: paths to the project, to ../shared, and skip reasons."""

from __future__ import annotations

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
BANDAI_ARCHIVE = os.path.join(SHARED, "data", "bandai-namco-motion", "bvh.tar.xz")

# DDS settings for every test process, before any ROS participant exists: localhost only, and the
# Fast DDS profile that lets best-effort images over ~0.5 MB through (docs/ROS.md).
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault(
    "FASTDDS_DEFAULT_PROFILES_FILE", os.path.join(ROOT, "config", "fastdds_large_images.xml")
)

needs_shared = pytest.mark.skipif(
    not os.path.isfile(BANDAI_ARCHIVE),
    reason=f"needs ../shared (the Bandai archive at {BANDAI_ARCHIVE}); "
    "users and some CI machines lack it",
)
