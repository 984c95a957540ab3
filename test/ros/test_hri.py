"""ROS4HRI interop (issue 23, item 4): hri_msgs/IdsList's type hash, the fallback's and the
real one's, and the body ids (pose_lifting_ros/hri.py)."""

import contextlib
import importlib
import io
import json
import os
import pathlib
import tempfile

import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy wheels) is not installed")
pytest.importorskip(
    "hri_msgs.msg", reason="hri_msgs neither installed nor built (run scripts/setup.sh)"
)

from pose_lifting_ros import hri  # noqa: E402
from rosutil import ROOT, ros_context  # noqa: E402

JAZZY_TF_MESSAGE = "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087"
"""tf2_msgs/msg/TFMessage's type hash on a ROS 2 Jazzy robot (`ros2 topic info -v /tf`)."""
IDS_LIST = "RIHS01_7e0812d1ac945c98fd3e393568d581ad0ab567f37b24eff633eab778c1bfe62d"
"""hri_msgs/msg/IdsList's type hash, derived by `definition_hash` (the code that gives Jazzy's
TFMessage hash above from compat/tf2_msgs) from hri_msgs' definition: `std_msgs/Header header`,
`string[] ids` (ros4hri/hri_msgs, msg/IdsList.msg; comments are not hashed)."""


def _share(package: str) -> pathlib.Path:
    """share/<package> of an installed message package, found from its Python module (a venv or
    /opt/ros/<distro>; AMENT_PREFIX_PATH is not set on pip-only machines)."""
    here = pathlib.Path(importlib.import_module(package).__file__).resolve()
    for up in here.parents:
        if (up / "share" / package / "msg").is_dir():
            return up / "share" / package
    raise FileNotFoundError(f"no share/{package}/msg above {here}")


def definition_hash(msg_file: str, package: str, depends: tuple) -> str:
    """The RIHS01 type hash of a .msg definition, by rosidl's own code (rosidl_adapter turns it
    into IDL, rosidl_generator_type_description hashes it, as a package build does), with the
    referenced packages' type descriptions from their installed JSON files."""
    from rosidl_adapter.msg import convert_msg_to_idl
    from rosidl_generator_type_description import generate_type_hash

    msg = pathlib.Path(msg_file).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "msg").mkdir()
        with contextlib.redirect_stdout(io.StringIO()):  # it prints what it reads and writes
            convert_msg_to_idl(
                msg.parent.parent, package, pathlib.Path("msg", msg.name), tmp / "msg"
            )
        args = {
            "package_name": package,
            "output_dir": str(tmp / "out"),
            "idl_tuples": [f"{tmp}:msg/{msg.stem}.idl"],
            "include_paths": [f"{d}:{_share(d)}" for d in depends],
        }
        (tmp / "args.json").write_text(json.dumps(args))
        (out,) = generate_type_hash(str(tmp / "args.json"))
        return json.loads(pathlib.Path(out).read_text())["type_hashes"][0]["hash_string"]


def _on_the_wire(msg_type, topic: str) -> str:
    """The type hash a publisher of msg_type announces on the graph (what subscribers match)."""
    import rclpy

    with ros_context() as ctx:
        node = rclpy.create_node("type_hash_probe", context=ctx)
        try:
            node.create_publisher(msg_type, topic, 1)
            return str(node.get_publishers_info_by_topic(topic)[0].topic_type_hash)
        finally:
            node.destroy_node()


@pytest.fixture(scope="module")
def hashing():
    pytest.importorskip("rosidl_adapter", reason="rosidl_adapter (a rosidl build tool) missing")
    pytest.importorskip(
        "rosidl_generator_type_description", reason="rosidl_generator_type_description missing"
    )
    return definition_hash


def test_the_hashing_code_gives_jazzy_s_tf_message_hash(hashing):
    """The check below is only as good as its hashing: from compat/tf2_msgs's definition it gives
    the hash a real Jazzy /tf shows."""
    path = os.path.join(ROOT, "compat", "tf2_msgs", "msg", "TFMessage.msg")
    assert hashing(path, "tf2_msgs", ("geometry_msgs",)) == JAZZY_TF_MESSAGE


def test_the_fallback_ids_list_has_the_real_type_hash(hashing):
    """compat/hri_msgs/msg/IdsList.msg (built on pip-only machines) hashes to IDS_LIST, the hash
    of hri_msgs' own definition; the hri_msgs this machine has (the real one on a ROS install,
    else that fallback) announces the same hash on the graph, so ROS4HRI nodes match it."""
    from hri_msgs.msg import IdsList

    path = os.path.join(ROOT, "compat", "hri_msgs", "msg", "IdsList.msg")
    assert hashing(path, "hri_msgs", ("std_msgs",)) == IDS_LIST
    assert [(n, t) for n, t in IdsList.get_fields_and_field_types().items()] == [
        ("header", "std_msgs/Header"),
        ("ids", "sequence<string>"),
    ]
    assert _on_the_wire(IdsList, hri.TRACKED_BODIES_TOPIC) == IDS_LIST


def test_body_ids_carry_the_node_and_never_start_with_a_digit():
    assert hri.default_id_prefix("/", "pose_lifter") == "pose_lifter_"
    assert hri.default_id_prefix("/robot/cam2/", "left") == "robot_cam2_left_"
    assert hri.body_id(3, hri.default_id_prefix("/cam2", "pose_lifter")) == "cam2_pose_lifter_3"
    for ok in ("c2_", "_", "cam2_pose_lifter_"):
        hri.check_id_prefix(ok)
    for bad in ("", "2cam_", "cam 2", "cam-2", "cam/2"):
        with pytest.raises(ValueError, match="hri_id_prefix"):
            hri.check_id_prefix(bad)
    assert hri.TRACKED_BODIES_TOPIC.startswith("/humans/")  # absolute, whatever the namespace


def test_hri_without_any_hri_msgs_is_one_line(monkeypatch):
    """`hri: true` where hri_msgs is neither installed nor built: a ValueError naming the fix,
    which the node prints as its one start-up error line."""
    import sys

    monkeypatch.setitem(sys.modules, "hri_msgs.msg", None)  # import fails as if absent
    with pytest.raises(ValueError, match="parameter hri is true but hri_msgs is not installed"):
        hri.ids_list_type()
