"""The Fast DDS profile for large best-effort images, and the variables that apply it.

A best-effort image larger than the publisher's shared-memory segment (Fast DDS's default is
512 KiB; 640x480 rgb8 is 900 KiB) is mostly lost between processes: 0 to 9 of 20 frames arrived
at 640x480 to 2560x1440 (docs/BENCHMARKS.md, "Best-effort images between processes").
config/fastdds_large_images.xml gives every participant a 16 MiB segment (all arrived); the
publisher's is the one that counts. Fast DDS 2.x, which ROS 2 Jazzy uses, reads a profiles
file from FASTRTPS_DEFAULT_PROFILES_FILE; Fast DDS 3 (Kilted) from
FASTDDS_DEFAULT_PROFILES_FILE. Each ignores the other's name, so both are set wherever a
profile is given.
"""

from __future__ import annotations

from typing import Dict, MutableMapping

from pose_lifting_ros.paths import share_path

PROFILE_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
"""The variables Fast DDS 2.x (Jazzy) and Fast DDS 3 (Kilted) read a profiles file from."""


def large_image_profile() -> str:
    """Path of the shipped profile (share/pose_lifting/config, else the source tree)."""
    return share_path("config", "fastdds_large_images.xml")


def profile_env(env: MutableMapping[str, str]) -> Dict[str, str]:
    """The profile variables `env` should carry: a profile named by either variable is given to
    both (a value set to empty, which Fast DDS treats as none, is kept: that is how a user opts
    out); with neither set, both name the shipped large-image profile."""
    given = [env[k] for k in PROFILE_VARS if k in env]
    value = given[0] if given else large_image_profile()
    return {k: env.get(k, value) for k in PROFILE_VARS}


def apply_profile(env: MutableMapping[str, str]) -> None:
    """Set the profile variables in `env` (os.environ before rclpy.init: the participant reads
    them when it is created) as `profile_env` says."""
    env.update(profile_env(env))
