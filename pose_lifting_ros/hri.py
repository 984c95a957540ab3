"""ROS4HRI (REP-155) interop: body ids, and the list of tracked bodies.

Owns: how this package's people are named the ROS4HRI way (`hri: true`): a body id per track,
`<hri_id_prefix><track id>` (e.g. `cam2_pose_lifter_3`), a stable string while the track lives,
whose per-node prefix (by default from the node's fully qualified name) keeps two cameras' ids
apart; the check that an id can stand in a topic name (`/humans/bodies/<id>/...`) and a TF frame
(`body_<id>`); and the hri_msgs/IdsList of a frame for `/humans/bodies/tracked`.

The topic is absolute, unlike every other output of the nodes: REP-155 puts all HRI topics under
the global `/humans/` namespace, and ROS4HRI consumers (libhri's HRIListener) subscribe to
exactly `/humans/bodies/tracked`; a node in /cam2 must not publish `/cam2/humans/...`.
"""

from __future__ import annotations

import re

TRACKED_BODIES_TOPIC = "/humans/bodies/tracked"
"""Where the ids of the bodies tracked now are published (REP-155), absolute."""

_ID_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a topic-name token: no leading digit


def default_id_prefix(namespace: str, node_name: str) -> str:
    """The body id prefix of a node (hri_id_prefix `auto`): its fully qualified name as one
    token, "/cam2" + "pose_lifter" -> "cam2_pose_lifter_", "/" + "pose_lifter" ->
    "pose_lifter_". Node names are unique in a graph, so two nodes never give the same ids."""
    tokens = [t for t in namespace.split("/") if t] + ([node_name] if node_name else [])
    return "_".join(tokens) + "_" if tokens else ""


def check_id_prefix(prefix: str) -> None:
    """Raise ValueError unless `prefix` + a track id is a valid ROS name token (letters, digits,
    underscores, not starting with a digit): the id stands in `/humans/bodies/<id>/` topic names,
    where a token may not start with a digit, and in the frame `body_<id>`."""
    if not _ID_PREFIX.fullmatch(prefix):
        raise ValueError(
            "parameter hri_id_prefix must be letters, digits and underscores, not starting with "
            f"a digit (body ids stand in topic names /humans/bodies/<id>/), got {prefix!r}"
        )


def body_id(track_id: int, id_prefix: str) -> str:
    """A person's ROS4HRI body id: the prefix, then the track id (never reused by a node)."""
    return f"{id_prefix}{int(track_id)}"


def ids_list(frame, header, id_prefix: str):
    """hri_msgs/IdsList of the body ids of every person of a FrameResult, stamped with the
    image's header: a person who has left is no longer in it (ROS4HRI consumers drop the body)."""
    from hri_msgs.msg import IdsList

    return IdsList(header=header, ids=[body_id(p.id, id_prefix) for p in frame.persons])


def ids_list_type():
    """hri_msgs/msg/IdsList: the real package where it is installed, else the one scripts/setup.sh
    builds from compat/hri_msgs (the same type hash). Missing both: ValueError naming the fix."""
    try:
        from hri_msgs.msg import IdsList
    except ImportError as exc:
        raise ValueError(
            "parameter hri is true but hri_msgs is not installed (ROS: apt install "
            "ros-$ROS_DISTRO-hri-msgs; pip-only: bash scripts/setup.sh builds it): "
            f"{exc}"
        ) from exc
    return IdsList
