#!/usr/bin/env bash
# Runs every test: sets up .venv first (idempotent, fast when already done), then pytest.
# Tests that need ../shared or a GPU skip with the reason. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-run
# lint as ament does (ruff.toml); fails the run on any finding
.venv/bin/ruff check .
.venv/bin/ruff format --check .
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
exec .venv/bin/python -m pytest test -q -rs "$@"
