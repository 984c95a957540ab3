"""Reading and writing rosbag2 bags (and reading ROS 1 bags) without a ROS install.

Owns: what counts as a bag path (`is_bag`), the one lazy import of the `rosbags` library (a
one-line error naming `pip install rosbags` where it is missing: only the bag commands need
it), and `BagError`, the one-line error of every bag problem. The modules beside it: `types`
(the message types, with the project's own from msg/*.msg), `messages` (a FrameResult as
Skeleton3DArray, MarkerArray and TFMessage), `source` (frames streamed from a bag) and `sink`
(a new mcap bag of the outputs). Pure Python (rosbags, numpy); no rclpy.
"""

from __future__ import annotations

import os

BAG_SUFFIXES = (".mcap", ".db3", ".bag")
"""Files that are bags by their suffix: rosbag2 mcap and sqlite3 storage files, ROS 1 bags."""

ROSBAGS_PIN = "rosbags>=0.11,<0.12"
"""The rosbags versions this package is written and tested against (requirements.txt)."""


class BagError(ValueError):
    """A bag that cannot be read or written; the text is one line naming the path and problem."""


def is_bag(path: str) -> bool:
    """Whether `path` is a bag: a rosbag2 folder (it holds metadata.yaml), or a file whose suffix
    is one of BAG_SUFFIXES. Says nothing of whether it can be read."""
    if os.path.isdir(path):
        return os.path.isfile(os.path.join(path, "metadata.yaml"))
    return path.lower().endswith(BAG_SUFFIXES)


def bag_files(path: str) -> list:
    """The files a bag path stands for (the path itself, and a folder's files): what an output
    must never be."""
    if not os.path.isdir(path):
        return [path]
    return [path] + sorted(os.path.join(path, f) for f in os.listdir(path))


def require_rosbags() -> None:
    """Import rosbags, or raise BagError saying how to install it."""
    try:
        import rosbags  # noqa: F401
    except ImportError as exc:
        raise BagError(
            f"reading and writing bags needs the rosbags library: pip install '{ROSBAGS_PIN}' "
            f"({exc})"
        ) from None
