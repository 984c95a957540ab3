#!/usr/bin/env bash
# The main job on the bundled samples, printing a summary of each step:
#   1. the core: lift bundled 2D keypoints (a held-out mocap walk) to metric 3D, compared with truth;
#   2. the whole image chain: `pose-lifting estimate` on samples/basketball1.png, with a render;
#   3. the ROS 2 graph as processes over real DDS (video_source on samples/vtest.avi -> pose_lifter),
#      recording what the lifter publishes and rendering it (pose_lifting_demo).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
# the large-image profile under both names: Jazzy's Fast DDS 2.x reads FASTRTPS_..., Kilted's FASTDDS_...
export FASTRTPS_DEFAULT_PROFILES_FILE=${FASTRTPS_DEFAULT_PROFILES_FILE:-$PWD/config/fastdds_large_images.xml}
export FASTDDS_DEFAULT_PROFILES_FILE=${FASTDDS_DEFAULT_PROFILES_FILE:-$FASTRTPS_DEFAULT_PROFILES_FILE}
echo "== 1. lifting bundled keypoints (core library)"
.venv/bin/pose-lifting lift --keypoints samples/bandai_walk_keypoints.npz --output out/bandai_walk_3d.npz
echo "== 2. image -> 3D skeletons (pose-lifting estimate)"
.venv/bin/pose-lifting estimate samples/basketball1.png --output out/basketball1.json --render out/basketball1_3d.png
echo "== 3. ROS 2 graph over DDS: video_source -> pose_lifter -> recorder"
.venv/bin/pose_lifting_demo --frames 30 --rate 5 --render out/ros_demo.mp4 --json out/ros_demo.json
