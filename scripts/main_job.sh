#!/usr/bin/env bash
# The main job on the bundled default input: lift the sample keypoints (a held-out motion-capture
# walk seen by a 1280x720 camera) to metric 3D in the camera frame, and report the result.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
.venv/bin/pose-lifting lift --keypoints samples/bandai_walk_keypoints.npz --output out/bandai_walk_3d.npz
