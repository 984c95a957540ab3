"""pip / colcon entry point for the pose_lifting package.

On a pip-only machine `scripts/setup.sh` installs this into .venv; the console scripts land in
.venv/bin/. The pure-Python core (`pose_lifting_core`) and the ROS nodes (`pose_lifting_ros`)
are both installed; the shipped weights travel as package data.
"""

import glob

from setuptools import find_packages, setup

PACKAGE = "pose_lifting"

setup(
    name=PACKAGE,
    version="0.2.0",
    packages=find_packages(
        include=[
            "pose_lifting_core",
            "pose_lifting_core.*",
            "pose_lifting_ros",
            "pose_lifting_ros.*",
        ]
    ),
    package_data={"pose_lifting_core": ["weights/*.pt", "weights/*.md", "weights/*.json"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        # the message definitions, which the bag writer embeds (pose_lifting_ros/bag/types.py)
        ("share/" + PACKAGE + "/msg", sorted(glob.glob("msg/*.msg"))),
    ],
    python_requires=">=3.10",
    install_requires=["numpy", "torch", "pyyaml", "tqdm"],
    # reading and writing bags (pose-lifting estimate/adapt BAG); the rest runs without it
    extras_require={"bags": ["rosbags>=0.11,<0.12"]},
    zip_safe=False,
    maintainer="pose_lifting developers",
    description="Metric 3D human skeletons from one RGB camera: 2D keypoints lifted with the "
    "camera in the loop.",
    license="Apache-2.0 (code); default weights CC BY-SA 3.0 terms (commercial use allowed), "
    "lifter_noncommercial.pt CC BY-NC 4.0 (see pose_lifting_core/weights/LICENSE.md)",
    entry_points={
        "console_scripts": [
            "pose-lifting = pose_lifting_core.tooling.cli:main",
            "pose_lifter = pose_lifting_ros.main:pose_lifter",
            "keypoint_lifter = pose_lifting_ros.main:keypoint_lifter",
            "video_source = pose_lifting_ros.main:video_source",
            "pose_lifting_demo = pose_lifting_ros.demo_graph:main",
        ]
    },
)
