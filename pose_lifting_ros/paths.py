"""Where the package's data (config/, samples/, launch/) is: the ament share directory on a ROS
install, else the source tree (pip-only machines install the Python packages in editable mode)."""

from __future__ import annotations

import os

SOURCE_TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def share_path(*parts: str) -> str:
    """Path of a file under share/pose_lifting, falling back to the source tree."""
    try:
        from ament_index_python.packages import get_package_share_directory

        path = os.path.join(get_package_share_directory("pose_lifting"), *parts)
        if os.path.exists(path):
            return path
    except Exception:  # no ament index entry for pose_lifting
        pass
    return os.path.join(SOURCE_TREE, *parts)
