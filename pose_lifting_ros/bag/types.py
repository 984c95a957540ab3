"""The message types of bags: ROS 2 Jazzy's, and this package's own from msg/*.msg.

Owns: the rosbags typestore that decodes input bags whose definitions are missing and encodes
every output message. The project's types (pose_lifting/msg/Skeleton3DArray, ...) are
registered from the same msg/*.msg files that rosidl builds, so their definitions (embedded in
every mcap written) and type hashes (RIHS01) are those of the built messages: other tools
(Foxglove, mcap-ros2-support, `ros2 bag`) decode them from the file alone.
"""

from __future__ import annotations

import functools
import glob
import os
import sys
from typing import List

from pose_lifting_ros.bag import BagError, require_rosbags

PACKAGE = "pose_lifting"
OWN_TYPES = ("Keypoint2D", "Keypoints2D", "Keypoints2DArray", "Skeleton3D", "Skeleton3DArray")


def msg_dirs() -> List[str]:
    """Where msg/*.msg may be, in order: the ament share directory (a colcon install), the
    source tree (pip -e), and <prefix>/share/pose_lifting/msg (a pip wheel: setup.py puts them
    there)."""
    from pose_lifting_ros.paths import SOURCE_TREE, share_path

    return [
        share_path("msg"),
        os.path.join(SOURCE_TREE, "msg"),
        os.path.join(sys.prefix, "share", PACKAGE, "msg"),
    ]


@functools.lru_cache(maxsize=1)
def typestore():
    """The rosbags Typestore of ROS 2 Jazzy with pose_lifting/msg/* added (built once)."""
    require_rosbags()
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_JAZZY)
    for folder in msg_dirs():
        files = {os.path.splitext(os.path.basename(f))[0]: f for f in glob.glob(f"{folder}/*.msg")}
        if set(OWN_TYPES) <= set(files):
            break
    else:
        raise BagError(f"the message definitions msg/*.msg are in none of {', '.join(msg_dirs())}")
    types = {}
    for name in OWN_TYPES:
        with open(files[name]) as fh:
            types.update(get_types_from_msg(fh.read(), f"{PACKAGE}/msg/{name}"))
    store.register(types)
    return store
