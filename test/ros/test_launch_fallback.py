"""The launch files where ROS 2 launch is not installed (pip-only machines, CI).

launch_standin.py evaluates launch/*.launch.py with launch's and launch_ros's semantics for the
few actions they use, giving each node's command line (`--ros-args -r __ns:=... --params-file
... -r image:=...`) and environment. These tests check the arguments every launch file takes,
where the nodes' topics go, the Fast DDS profile the demo sets, and run the two-camera launch
(sample_video: a video_source and a pose_lifter per camera) as those processes over real DDS.
test_launch_files.py checks the same with the real launch where it is installed.
"""

import glob
import os
from collections import defaultdict

import pytest
import yaml

import launch_standin as L
from rosutil import PROFILE_VARS, ROOT, apply_env, ros_env, spin_until, start, stop

LAUNCH_FILES = sorted(glob.glob(os.path.join(ROOT, "launch", "*.launch.py")))
SHIPPED_PROFILE = os.path.join(ROOT, "config", "fastdds_large_images.xml")
COMMON_ARGUMENTS = {
    "namespace": "",
    "image": "image_raw",
    "camera_info": "camera_info",
    "params_file": os.path.join(ROOT, "config", "pose_lifter.yaml"),
}
"""The arguments every launch file takes, with their defaults (README, docs/ROS.md)."""


def _name(path: str) -> str:
    return os.path.basename(path)


def test_there_are_the_three_launch_files():
    assert [_name(f) for f in LAUNCH_FILES] == [
        "demo.launch.py",
        "pose_lifting.launch.py",
        "two_cameras.launch.py",
    ]


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_name)
def test_every_launch_file_takes_the_same_arguments_with_the_same_defaults(path):
    """Issue 23, item 5: pose_lifting.launch.py read /camera/image_raw by default and the demo
    /camera/image; neither took a namespace."""
    defaults = L.default_values(path, env={})
    assert {k: defaults.get(k) for k in COMMON_ARGUMENTS} == COMMON_ARGUMENTS
    for arg in L.declared_arguments(path).values():
        assert arg.description, f"{arg.name} has no description"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_name)
def test_the_nodes_topics_are_remapped_to_the_arguments(path, tmp_path):
    """Every node's relative `image` and `camera_info` go to the arguments; the lifter reads
    params_file; the nodes run in `namespace` (two_cameras: under it)."""
    given = {
        "namespace": "robot7",
        "image": "/drv/color/image_raw",
        "camera_info": "/drv/color/camera_info",
        "params_file": str(tmp_path / "mine.yaml"),
        "rviz": "false",
    }
    procs = L.evaluate(path, given, env={}, params_dir=str(tmp_path))
    ours = [p for p in procs if p.package == "pose_lifting"]
    assert {p.executable for p in ours} >= {"pose_lifter"}
    for p in ours:
        assert p.namespace == "/robot7" or p.namespace.startswith("/robot7/"), p.name
        assert p.remaps() == {"image": given["image"], "camera_info": given["camera_info"]}
        if p.executable == "pose_lifter":
            assert p.params_files() == [given["params_file"]]
    # relative topic names stay relative: the node resolves them in its namespace
    for p in L.evaluate(path, {"rviz": "false"}, env={}, params_dir=str(tmp_path)):
        if p.package == "pose_lifting":
            assert p.remaps() == {"image": "image_raw", "camera_info": "camera_info"}


@pytest.mark.parametrize(
    "arguments, names",
    [
        ({}, ["/cam1/pose_lifter", "/cam2/pose_lifter"]),
        ({"cam1": "left", "cam2": "right"}, ["/left/pose_lifter", "/right/pose_lifter"]),
        ({"namespace": "robot1"}, ["/robot1/cam1/pose_lifter", "/robot1/cam2/pose_lifter"]),
        (
            {"sample_video": "true"},
            [
                "/cam1/video_source",
                "/cam1/pose_lifter",
                "/cam2/video_source",
                "/cam2/pose_lifter",
            ],
        ),
    ],
)
def test_the_two_camera_launch_gives_two_namespaced_node_sets(tmp_path, arguments, names):
    procs = L.evaluate(
        L.launch_file("two_cameras.launch.py"), arguments, env={}, params_dir=str(tmp_path)
    )
    assert [p.name for p in procs] == names
    by_ns = defaultdict(list)
    for p in procs:
        by_ns[p.namespace].append(p.executable)
        assert p.remaps() == {"image": "image_raw", "camera_info": "camera_info"}
    assert len(by_ns) == 2 and len(set(map(tuple, by_ns.values()))) == 1, by_ns


def test_sample_video_cameras_have_their_own_optical_frames(tmp_path):
    procs = L.evaluate(
        L.launch_file("two_cameras.launch.py"),
        {"sample_video": "true", "cam1": "left"},
        env={},
        params_dir=str(tmp_path),
    )
    frames = {}
    for p in procs:
        if p.executable == "video_source":
            values = {}
            for f in p.params_files():
                values.update(yaml.safe_load(open(f))["/**"]["ros__parameters"])
            frames[p.namespace] = values["frame_id"]
    assert frames == {"/left": "left/camera_optical_frame", "/cam2": "cam2/camera_optical_frame"}


@pytest.mark.parametrize(
    "user, expected",
    [
        ({}, (SHIPPED_PROFILE, SHIPPED_PROFILE)),
        ({"FASTDDS_DEFAULT_PROFILES_FILE": "/my.xml"}, ("/my.xml", "/my.xml")),
        ({"FASTRTPS_DEFAULT_PROFILES_FILE": "/my.xml"}, ("/my.xml", "/my.xml")),
        ({"FASTRTPS_DEFAULT_PROFILES_FILE": ""}, ("", "")),  # Fast DDS: no profile (opt-out)
        (dict(zip(PROFILE_VARS, ("/a.xml", "/b.xml"))), ("/a.xml", "/b.xml")),
    ],
)
def test_the_demo_gives_its_processes_the_large_image_profile(tmp_path, user, expected):
    """demo.launch.py (and two_cameras' sample_video) sets the profile under both names, as
    pose_lifting_ros/dds_profile.py's profile_env does, unless the user named one."""
    from pose_lifting_ros.dds_profile import profile_env

    env = dict(user, ROS_DOMAIN_ID="7")
    for name, args in (("demo.launch.py", {}), ("two_cameras.launch.py", {"sample_video": "1"})):
        procs = L.evaluate(L.launch_file(name), args, env=env, params_dir=str(tmp_path))
        assert len(procs) >= 2
        for p in procs:
            assert tuple(p.env.get(k) for k in PROFILE_VARS) == expected, (name, p.name)
            assert p.env["ROS_DOMAIN_ID"] == "7"
    if user:  # the nodes' own rule agrees (with nothing set it names the installed copy)
        assert tuple(profile_env(dict(user))[k] for k in PROFILE_VARS) == expected
    # the lifter alone is not a publisher of images: its launch leaves the environment as given
    for p in L.evaluate(L.launch_file("pose_lifting.launch.py"), {}, env=env):
        assert p.env == env


FRAME_RATE_HZ = 2.0
"""video_source's rate in the two-camera run: enough frames to track, little CPU (2 cores)."""


def _diag_names(diags) -> set:
    return {st.name for m in diags for st in m.status}


def test_the_two_camera_launch_runs_as_processes(tmp_path):
    """two_cameras.launch.py sample_video:=true, started as launch would start it (each node a
    process with the launch's --ros-args and environment, LOCALHOST discovery, its own
    ROS_DOMAIN_ID): both cameras' pose_lifters publish skeletons of their own images, their TF
    child frames differ (cam1/body_<id> against cam2/body_<id>) and /diagnostics names them
    apart. Light: a 640x480 still at 2 Hz per camera, the BlazePose detector only."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from tf2_msgs.msg import TFMessage

    from pose_lifting.msg import Skeleton3DArray

    env = {k: v for k, v in ros_env().items() if k not in PROFILE_VARS}  # the launch sets them
    source = os.path.join(ROOT, "samples", "basketball1.png")
    procs = L.evaluate(
        L.launch_file("two_cameras.launch.py"),
        {"sample_video": "true", "source": source},
        env=env,
        params_dir=str(tmp_path),
    )
    test_args = {  # the test's own lightening, after the launch's arguments
        "video_source": ["-p", f"rate_hz:={FRAME_RATE_HZ}"],
        "pose_lifter": ["-p", "person_detector:=blazepose"],
    }
    apply_env(procs[0].env)  # the probe joins that graph
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=int(env["ROS_DOMAIN_ID"]))
    probe = rclpy.create_node("probe", context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(probe)
    skeletons = {"/cam1": [], "/cam2": []}
    tfs, diags, running = [], [], []
    for ns, got in skeletons.items():
        probe.create_subscription(Skeleton3DArray, f"{ns}/skeletons", got.append, 10)
    probe.create_subscription(TFMessage, "/tf", tfs.append, 100)
    probe.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    logs = {}
    try:
        for p in procs:
            log = str(tmp_path / f"{p.name.strip('/').replace('/', '_')}.log")
            logs[p.name] = log
            running.append(start(p.executable, p.argv() + test_args[p.executable], p.env, log))

        def children():
            """TF child frames by parent frame (each camera's optical frame)."""
            out = defaultdict(set)
            for m in tfs:
                for t in m.transforms:
                    out[t.header.frame_id].add(t.child_frame_id)
            return out

        parents = {"/cam1": "cam1/camera_optical_frame", "/cam2": "cam2/camera_optical_frame"}
        lifters = {"/cam1/pose_lifter", "/cam2/pose_lifter"}

        def done() -> bool:
            people = all(any(m.skeletons for m in got) for got in skeletons.values())
            tf = children()
            named = {n.split(":")[0] for n in _diag_names(diags)}
            return people and all(tf.get(f) for f in parents.values()) and lifters <= named

        exited = lambda: any(r.poll() is not None for r in running)  # noqa: E731
        ok = spin_until(probe, ex, lambda: done() or exited(), timeout=240)
        text = {n: open(f).read()[-3000:] for n, f in logs.items()}
        assert ok and done(), (
            {ns: len(g) for ns, g in skeletons.items()},
            dict(children()),
            _diag_names(diags),
            text,
        )
        assert all(r.poll() is None for r in running), text
        # each camera's skeletons are of its own images
        for ns, got in skeletons.items():
            assert {m.header.frame_id for m in got} == {parents[ns]}
        # TF: each lifter's child frames carry its namespace; none is published by both
        tf = children()
        cam1, cam2 = tf[parents["/cam1"]], tf[parents["/cam2"]]
        assert all(c.startswith("cam1/body_") for c in cam1), cam1
        assert all(c.startswith("cam2/body_") for c in cam2), cam2
        assert not cam1 & cam2
        assert set(tf) == set(parents.values()), dict(tf)
        # /diagnostics: each lifter by its fully qualified name, none by a bare one
        names = _diag_names(diags)
        assert all(n.startswith(("/cam1/pose_lifter:", "/cam2/pose_lifter:")) for n in names)
        # the graph's node list comes by its own discovery, maybe after the nodes' messages
        nodes = lambda: {  # noqa: E731
            f"{ns.rstrip('/')}/{n}" for n, ns in probe.get_node_names_and_namespaces()
        }
        spin_until(probe, ex, lambda: {p.name for p in procs} <= nodes(), timeout=30)
        assert {p.name for p in procs} <= nodes(), nodes()
    finally:
        codes = {p.name: stop(r) for p, r in zip(procs, running)}
        probe.destroy_node()
        ex.shutdown()
        rclpy.shutdown(context=ctx)
    assert all(codes[n] == 0 for n in lifters), codes
