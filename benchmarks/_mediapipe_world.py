"""Run inside .venv-bench (scripts/setup_bench.sh): MediaPipe Pose's own 3D world landmarks on one
image, repeated as a video stream. Prints JSON: per-frame milliseconds (median, p95) and whether
world landmarks came out.
Usage: .venv-bench/bin/python benchmarks/_mediapipe_world.py IMAGE FRAMES"""

import json
import sys
import time

import cv2
import mediapipe as mp
import numpy as np

img = cv2.cvtColor(cv2.imread(sys.argv[1]), cv2.COLOR_BGR2RGB)
frames = int(sys.argv[2])
times, found = [], 0
with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose:
    for i in range(frames + 5):
        t0 = time.perf_counter()
        r = pose.process(img)
        dt = time.perf_counter() - t0
        if i >= 5:
            times.append(dt)
            found += r.pose_world_landmarks is not None
print(
    json.dumps(
        {
            "ms_median": float(np.median(times) * 1000),
            "ms_p95": float(np.percentile(times, 95) * 1000),
            "frames": frames,
            "frames_with_world_landmarks": found,
        }
    )
)
