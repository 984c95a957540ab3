"""Shared test helpers: paths to the project, to ../shared, and skip reasons."""
from __future__ import annotations

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
BANDAI_ARCHIVE = os.path.join(SHARED, "data", "bandai-namco-motion", "bvh.tar.xz")

needs_shared = pytest.mark.skipif(
    not os.path.isfile(BANDAI_ARCHIVE),
    reason=f"needs ../shared (the Bandai archive at {BANDAI_ARCHIVE}); users and some CI machines lack it")
