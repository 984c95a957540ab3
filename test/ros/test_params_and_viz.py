"""Parameter tables vs the YAML configs, validation messages, markers and TF frames."""

import os

import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy wheels) is not installed")
pytest.importorskip(
    "pose_lifting.msg", reason="pose_lifting messages not built (run scripts/setup.sh)"
)

from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from pose_lifting_core.camera import Intrinsics  # noqa: E402
from pose_lifting_core.pipeline import FrameResult, Person3D  # noqa: E402
from pose_lifting_core.skeleton import JOINT_NAMES, SKELETON  # noqa: E402
from pose_lifting_ros import visualization  # noqa: E402
from pose_lifting_ros.params import (
    KEYPOINT_LIFTER_PARAMS,
    LIFTER_PARAMS,
    VIDEO_SOURCE_PARAMS,
    check,  # noqa: E402
    pipeline_config,
)
from rosutil import ROOT  # noqa: E402


@pytest.mark.parametrize(
    "node,specs",
    [
        ("pose_lifter", LIFTER_PARAMS),
        ("keypoint_lifter", KEYPOINT_LIFTER_PARAMS),
        ("video_source", VIDEO_SOURCE_PARAMS),
    ],
)
def test_yaml_keys_are_declared_parameters_at_their_defaults(node, specs):
    """The configs hold what a user changes; every key must be a declared parameter (in
    declaration order) and show its declared default, which lives in params.py. They are keyed
    by the `/**` wildcard, so they apply in any namespace (issue 22, item 8: a bare
    `pose_lifter:` does not match /cam2/pose_lifter;
    test_graph_multiprocess.py::test_every_shipped_params_file_applies_in_any_namespace)."""
    doc = yaml.safe_load(open(os.path.join(ROOT, "config", f"{node}.yaml")))
    assert list(doc) == ["/**"], list(doc)
    values = doc["/**"]["ros__parameters"]
    declared = {p.name: p for p in specs}
    assert set(values) <= set(declared), set(values) - set(declared)
    assert list(values) == [p.name for p in specs if p.name in values]
    for name, value in values.items():
        assert value == declared[name].default, name
    assert all(p.description for p in specs)


@pytest.mark.parametrize(
    "name,value,match",
    [
        ("max_people", 0, r"max_people must be in \[1, 50\]"),
        ("device", "tpu", "device must be one of auto, cpu, cuda"),
        ("precision", "fp16", "precision must be one of auto, fp32, bf16, int8"),
        ("min_person_score", 1.5, "min_person_score must be in"),
        ("track", 1, "track must be true or false"),
        ("max_people", 2.5, "max_people must be an integer"),
        ("fallback_hfov_deg", "wide", "must be a number"),
    ],
)
def test_bad_values_are_named(name, value, match):
    with pytest.raises(ValueError, match=match):
        check(LIFTER_PARAMS, {name: value})


def test_pipeline_config_from_defaults():
    cfg = pipeline_config({p.name: p.default for p in LIFTER_PARAMS})
    assert (
        cfg.checkpoint is None
        and cfg.max_people == 10
        and cfg.hfov_deg == 60.0
        and cfg.precision == "auto"
    )


def _frame(n=2):
    persons = []
    for i in range(n):
        J = np.zeros((17, 3))
        J[:, 2] = 3.0 + i
        J[JOINT_NAMES.index("left_hip"), 0] = 0.1
        J[JOINT_NAMES.index("right_hip"), 0] = -0.1
        J[JOINT_NAMES.index("thorax"), 1] = -0.5
        persons.append(Person3D(i + 4, 0.9, np.zeros(4), np.zeros((17, 2)), np.ones(17), J, 1.0))
    return FrameResult(0, 0.0, Intrinsics(500, 500, 320, 240), (640, 480), persons)


def test_markers_draw_each_person_and_clear_when_someone_goes():
    h = Header(frame_id="cam")
    build = visualization.MarkerBuilder()
    arr = build(_frame(2), h)
    assert [(m.ns, m.id, m.action) for m in arr.markers] == [
        ("joints", 4, Marker.ADD),
        ("bones", 4, Marker.ADD),
        ("labels", 4, Marker.ADD),
        ("joints", 5, Marker.ADD),
        ("bones", 5, Marker.ADD),
        ("labels", 5, Marker.ADD),
    ]
    assert len(arr.markers[1].points) == 2 * len(SKELETON.bones)
    assert arr.markers[0].points[0].z == 3.0 and arr.markers[3].points[0].z == 4.0
    assert arr.markers[2].text == "#4 3.0 m"
    assert arr.markers[0].scale.x == 0.05 and arr.markers[1].scale.x == 0.02  # default sizes
    assert all(m.header.frame_id == "cam" for m in arr.markers)
    assert [m.action for m in build(_frame(2), h).markers] == [
        Marker.ADD
    ] * 6  # nobody gone: no clear
    one = build(_frame(1), h).markers  # id 5 gone
    assert [m.action for m in one] == [Marker.DELETEALL] + [Marker.ADD] * 3 and one[1].id == 4
    gone = build(_frame(0), h).markers  # everybody gone
    assert [m.action for m in gone] == [Marker.DELETEALL]
    assert build(_frame(0), h).markers == []  # nothing left to clear
    moved = _frame(1)
    moved.persons[0].joints_3d[:, 2] += 1.0
    again = build(moved, h, joint_diameter_m=0.1, line_width_m=0.03).markers  # refilled, not stale
    assert again[0].points[0].z == 4.0 and again[2].text == "#4 4.0 m"
    assert again[0].scale.z == 0.1 and again[1].scale.x == 0.03  # sizes as asked this call


def test_markers_and_skeleton_message_share_the_frame_points():
    from pose_lifting_ros.conversions import frame_to_msg, person_points

    h = Header(frame_id="cam")
    f = _frame(2)
    pos = person_points(f)
    assert [len(p) for p in pos] == [17, 17] and pos[1][0].z == 4.0
    skel = frame_to_msg(f, h, pos)
    arr = visualization.MarkerBuilder()(f, h, positions=pos)
    assert skel.skeletons[1].positions[0] is pos[1][0] and arr.markers[3].points[0] is pos[1][0]
    # without positions each builds its own, equal ones
    assert [p.z for p in frame_to_msg(f, h).skeletons[0].positions] == [p.z for p in pos[0]]


def test_tf_frames_are_named_the_rep155_way():
    h = Header(frame_id="cam")
    tfs = visualization.transforms(_frame(1), h, joint_frames=True)
    names = [t.child_frame_id for t in tfs]
    assert names[0] == "body_4" and "left_wrist_4" in names and len(names) == 18
    t = tfs[0]
    assert t.header.frame_id == "cam" and t.transform.translation.z == 3.0
    q = t.transform.rotation
    assert abs(q.x**2 + q.y**2 + q.z**2 + q.w**2 - 1) < 1e-9


@pytest.mark.parametrize("given,expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_node_processes_keep_openmp_threads_from_spinning(given, expected):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pose_lifting_ros, os; print(os.environ['OMP_WAIT_POLICY'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == expected, out.stderr
