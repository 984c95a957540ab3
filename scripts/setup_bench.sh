#!/usr/bin/env bash
# Optional: a separate .venv-bench with MediaPipe 0.10.21, used only by benchmarks/end_to_end.py to
# time MediaPipe's own 3D world landmarks beside our pipeline. Kept apart from .venv because
# mediapipe brings opencv-contrib-python (which would overwrite .venv's opencv-python) and jax.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
[ -x .venv-bench/bin/python ] || "$PY" -m venv .venv-bench
.venv-bench/bin/python -m pip install -q mediapipe==0.10.21 2> >(grep -v "is ignored: it is neither" >&2)
echo "[setup_bench] ready: .venv-bench (mediapipe $(.venv-bench/bin/python -c 'import mediapipe; print(mediapipe.__version__)'))"
