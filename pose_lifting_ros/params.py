"""Node parameters: declared with descriptions and ranges, validated, frozen into one config.

Owns: the parameter tables (data: name, default, description, range or choices) of every node,
declaring them on a node, validating values (at start and on every run-time update, refused
with the reason), and building the frozen configs the nodes run with. Config flows one way:
YAML -> declared parameters -> frozen dataclass -> pose_lifting_core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pose_lifting_core.camera import DEFAULT_HFOV_DEG, HFOV_RANGE_DEG
from pose_lifting_core.lifter import AUTO_PRECISION, PRECISIONS
from pose_lifting_core.pipeline import PipelineConfig
from pose_lifting_ros.hri import check_id_prefix, default_id_prefix


@dataclass(frozen=True)
class Param:
    """A declared ROS parameter: name, default, description, range or choices, read-only flag.
    `integer_too`: a text parameter that also takes an integer (`-p source:=0`, a camera index),
    kept as its decimal text."""

    name: str
    default: Any
    description: str
    range: Optional[Tuple[float, float]] = None
    choices: Optional[Tuple[str, ...]] = None
    read_only: bool = False
    integer_too: bool = False


PIPELINE_PARAMS: List[Param] = [
    Param(
        "checkpoint",
        "",
        "Lifter checkpoint (.pt); empty = the weights shipped with the package",
        read_only=True,
    ),
    Param(
        "device",
        "auto",
        "Where the lifter runs: auto (CUDA when available), cpu or cuda",
        choices=("auto", "cpu", "cuda"),
        read_only=True,
    ),
    Param(
        "precision",
        "auto",
        f"Number format of the lifting network: auto ({AUTO_PRECISION}), fp32, bf16 or int8 "
        "(x86 CPUs, only when asked for, joints move by a few mm)",
        choices=PRECISIONS,
        read_only=True,
    ),
    Param(
        "mirror_average",
        True,
        "Lift each person also mirrored (left and right swapped) and average the two: 1-2 mm "
        "more accurate on people never seen, for twice the lifting network's work",
    ),
    Param("max_people", 10, "Most people lifted per image", range=(1, 50)),
    Param(
        "min_person_score", 0.5, "Minimum person confidence (BlazePose presence)", range=(0.0, 1.0)
    ),
    Param(
        "min_keypoint_score",
        0.2,
        "Keypoints below this confidence are treated as absent",
        range=(0.0, 1.0),
    ),
    Param(
        "fallback_hfov_deg",
        DEFAULT_HFOV_DEG,
        "Horizontal field of view (degrees) assumed when CameraInfo is missing "
        "or its K is unusable",
        range=HFOV_RANGE_DEG,
    ),
    Param("track", True, "Keep track ids (and detector regions) from frame to frame"),
    Param("tracker_max_age", 20, "Frames a track survives without being seen", range=(0, 1000)),
    Param(
        "tracker_min_hits",
        2,
        "Frames in a row a new person must be seen in before being published with an id "
        "(1: at once; one-frame false detections then become tracks)",
        range=(1, 100),
    ),
    Param(
        "tracker_min_iou",
        0.1,
        "Least box overlap between a track's prediction and a person to keep the id",
        range=(0.0, 0.99),
    ),
    Param(
        "max_distance_m",
        50.0,
        "People placed farther than this from the camera are left out (counted in /diagnostics, "
        "as every implausible person is)",
        range=(0.5, 1000.0),
    ),
    Param(
        "smoothing_alpha",
        1.0,
        "Temporal smoothing of 3D joints, 1 = off; lag (1 - a) / a frames",
        range=(0.01, 1.0),
    ),
]
CAMERA_PARAMS: List[Param] = [
    Param(
        "image_is_rectified",
        False,
        "false: the image (keypoint_lifter: the image the keypoints were found in) is raw, and "
        "CameraInfo's K and D are used (keypoints undistorted); true: it is rectified "
        "(image_proc's image_rect), and CameraInfo's P (its left 3x3) is used, with no "
        "distortion (image_geometry's rule)",
    ),
]
INPUT_PARAMS: List[Param] = [
    Param(
        "image_transport",
        "raw",
        "raw: sensor_msgs/Image on image; compressed: sensor_msgs/CompressedImage "
        "(jpeg/png) on image/compressed",
        choices=("raw", "compressed"),
        read_only=True,
    ),
    Param(
        "image_reliability",
        "best_effort",
        "QoS reliability of the image subscription: best_effort (sensor data QoS, matches every "
        "publisher) or reliable (needs a reliable publisher; no transport loss of large images)",
        choices=("best_effort", "reliable"),
        read_only=True,
    ),
]
DETECTOR_PARAMS: List[Param] = [
    Param(
        "landmark_model",
        "full",
        "BlazePose landmark model",
        choices=("lite", "full", "heavy"),
        read_only=True,
    ),
    Param(
        "person_detector",
        "both",
        "Person proposals: blazepose (fast, close range), hog (small people), both",
        choices=("blazepose", "hog", "both"),
        read_only=True,
    ),
    Param(
        "detector_threads", 2, "CPU threads of each detector model", range=(1, 64), read_only=True
    ),
]
OUTPUT_PARAMS: List[Param] = [
    Param("publish_markers", True, "Publish visualization_msgs/MarkerArray on markers"),
    Param("publish_tf", True, "Broadcast a body_<id> TF frame per person"),
    Param("publish_joint_frames", False, "Also broadcast one TF frame per joint, <joint>_<id>"),
    Param("marker_joint_diameter_m", 0.05, "Joint sphere diameter (m)", range=(0.001, 1.0)),
    Param("marker_line_width_m", 0.02, "Bone line width (m)", range=(0.001, 1.0)),
    Param("diagnostics_period_s", 1.0, "Period of /diagnostics messages (s)", range=(0.1, 60.0)),
    Param(
        "frame_prefix",
        "auto",
        "Prefix of the TF frames (body_<id>, <joint>_<id>) so that several cameras' frames stay "
        "apart: auto = the node's namespace (cam2/ for /cam2, none at the root); empty = none; "
        "any other text as given",
        read_only=True,
    ),
    Param(
        "hri",
        False,
        "ROS4HRI (REP-155): publish the body ids tracked now on /humans/bodies/tracked "
        "(hri_msgs/IdsList) and name the TF frames body_<body id> and <joint>_<body id> "
        "(body id = hri_id_prefix + track id; frame_prefix does not apply then)",
        read_only=True,
    ),
    Param(
        "hri_id_prefix",
        "auto",
        "ROS4HRI body ids are this text + the track id: auto = the node's fully qualified name "
        "as one token (cam2_pose_lifter_ for /cam2/pose_lifter); letters, digits and "
        "underscores, not starting with a digit",
        read_only=True,
    ),
]
LIFTER_PARAMS = PIPELINE_PARAMS + CAMERA_PARAMS + INPUT_PARAMS + DETECTOR_PARAMS + OUTPUT_PARAMS
KEYPOINT_LIFTER_PARAMS = PIPELINE_PARAMS + CAMERA_PARAMS + OUTPUT_PARAMS

VIDEO_SOURCE_PARAMS: List[Param] = [
    Param(
        "source",
        "",
        "Video file, image file, or camera device (an integer index such as 0, or /dev/videoN); "
        "empty = the bundled sample video",
        read_only=True,
        integer_too=True,
    ),
    Param(
        "rate_hz",
        0.0,
        "Publish rate; 0 = the video's own frame rate (10 Hz for images)",
        range=(0.0, 1000.0),
    ),
    Param("loop", True, "Start again at the end of a file"),
    Param("max_frames", 0, "Stop after this many frames (0 = never)", range=(0, 10_000_000)),
    Param("frame_id", "camera_optical_frame", "frame_id of the published image and camera_info"),
    Param(
        "camera_info_file",
        "",
        "camera_info YAML (camera_calibration format); empty = use hfov_deg",
        read_only=True,
    ),
    Param(
        "hfov_deg",
        DEFAULT_HFOV_DEG,
        "Horizontal field of view used when there is no camera_info_file",
        range=HFOV_RANGE_DEG,
    ),
    Param("publish_zero_k", False, "Publish an all-zero K, as uncalibrated drivers do"),
    Param(
        "reliable",
        False,
        "Publish image and camera_info RELIABLE (matches best-effort and reliable "
        "subscribers) instead of sensor-data best effort",
        read_only=True,
    ),
    Param(
        "wait_for_subscribers",
        0,
        "Hold the first frame until the image topic has this many subscribers",
        range=(0, 1000),
    ),
]


def check(specs: Sequence[Param], values: Dict[str, Any]) -> None:
    """Raise ValueError naming the first parameter whose value is out of range or not allowed."""
    for p in specs:
        if p.name not in values:
            continue
        v = values[p.name]
        if isinstance(p.default, bool):
            if not isinstance(v, bool):
                raise ValueError(f"parameter {p.name} must be true or false, got {v!r}")
            continue
        if isinstance(p.default, (int, float)) and (
            isinstance(v, bool) or not isinstance(v, (int, float))
        ):
            raise ValueError(f"parameter {p.name} must be a number, got {v!r}")
        if isinstance(p.default, int) and not isinstance(p.default, bool) and int(v) != v:
            raise ValueError(f"parameter {p.name} must be an integer, got {v!r}")
        if p.range is not None and not (p.range[0] <= v <= p.range[1]):
            raise ValueError(
                f"parameter {p.name} must be in [{p.range[0]:g}, {p.range[1]:g}], got {v!r}"
            )
        if p.choices is not None and v not in p.choices:
            raise ValueError(
                f"parameter {p.name} must be one of {', '.join(p.choices)}, got {v!r}"
            )
        if isinstance(p.default, str) and not isinstance(v, str):
            if p.integer_too and isinstance(v, int) and not isinstance(v, bool):
                continue
            what = "a string or an integer" if p.integer_too else "a string"
            raise ValueError(f"parameter {p.name} must be {what}, got {v!r}")


def normalise(specs: Sequence[Param], values: Dict[str, Any]) -> Dict[str, Any]:
    """`values` with integers given for floating-point parameters turned into floats (a YAML
    `fallback_hfov_deg: 90` means 90.0), and for `integer_too` text parameters into their text
    (`source:=0` means "0", camera 0); everything else as it is."""
    floats = {p.name for p in specs if isinstance(p.default, float)}
    texts = {p.name for p in specs if p.integer_too}

    def norm(k: str, v: Any) -> Any:
        if not isinstance(v, int) or isinstance(v, bool):
            return v
        return float(v) if k in floats else str(v) if k in texts else v

    return {k: norm(k, v) for k, v in values.items()}


def unknown_overrides(node, specs: Sequence[Param]) -> List[str]:
    """Names given to this node (a params file, -p) that it does not declare: misspellings."""
    known = {p.name for p in specs}
    given = getattr(node, "_parameter_overrides", {}) or {}
    return sorted(n for n in given if n not in known and not node.has_parameter(n))


def declare(node, specs: Sequence[Param]) -> Dict[str, Any]:
    """Declare every parameter (description, range/choices in the descriptor), read and check
    the values. Floating-point parameters, and `integer_too` text ones, also take integers
    (dynamic typing, then converted). Names given to the node that it does not declare are
    warned about, listed. Raises ValueError naming a bad value."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
    from rclpy.exceptions import ParameterException

    values = {}
    for p in specs:
        extra = ""
        kw = {}
        if p.range is not None:
            if isinstance(p.default, int) and not isinstance(p.default, bool):
                kw["integer_range"] = [
                    IntegerRange(from_value=int(p.range[0]), to_value=int(p.range[1]), step=1)
                ]
            else:
                kw["floating_point_range"] = [
                    FloatingPointRange(
                        from_value=float(p.range[0]), to_value=float(p.range[1]), step=0.0
                    )
                ]
        if p.choices is not None:
            extra = "one of: " + ", ".join(p.choices)
        if isinstance(p.default, float) or p.integer_too:
            # a YAML integer for a float, or for a text that may be a camera index; check()
            # refuses the other types and normalise() converts
            kw["dynamic_typing"] = True
        desc = ParameterDescriptor(
            description=p.description, additional_constraints=extra, read_only=p.read_only, **kw
        )
        try:
            values[p.name] = node.declare_parameter(p.name, p.default, desc).value
        except (ParameterException, TypeError, ValueError) as exc:
            raise ValueError(f"parameter {p.name}: {exc}") from exc
    check(specs, values)
    unknown = unknown_overrides(node, specs)
    if unknown:
        node.get_logger().warning(
            f"unknown parameters ignored (misspelt?): {', '.join(unknown)}; "
            f"known: {', '.join(p.name for p in specs)}"
        )
    return normalise(specs, values)


def pipeline_config(v: Dict[str, Any]) -> PipelineConfig:
    """Pipeline settings from checked parameter values."""
    return PipelineConfig(
        checkpoint=v["checkpoint"] or None,
        device=v["device"],
        precision=v["precision"],
        mirror_average=bool(v["mirror_average"]),
        max_people=int(v["max_people"]),
        min_person_score=float(v["min_person_score"]),
        min_keypoint_score=float(v["min_keypoint_score"]),
        hfov_deg=float(v["fallback_hfov_deg"]),
        track=bool(v["track"]),
        tracker_max_age=int(v["tracker_max_age"]),
        tracker_min_iou=float(v["tracker_min_iou"]),
        tracker_min_hits=int(v["tracker_min_hits"]),
        smoothing_alpha=float(v["smoothing_alpha"]),
        max_distance_m=float(v["max_distance_m"]),
        landmark_model=v.get("landmark_model", "full"),
        person_detector=v.get("person_detector", "both"),
        detector_threads=int(v.get("detector_threads", 2)),
    ).validate()


def _pick(cls, values: Dict[str, Any]):
    """A frozen config dataclass from the parameter values it has fields for."""
    return cls(**{k: values[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class CameraConfig:
    """How a lifting node reads CameraInfo: `image_is_rectified` picks P and no distortion
    (true) or K and D (false) in pose_lifting_core.camera_model.camera_model."""

    image_is_rectified: bool

    @classmethod
    def from_values(cls, v: Dict[str, Any]) -> "CameraConfig":
        return _pick(cls, v)


@dataclass(frozen=True)
class OutputConfig:
    """What a node publishes (markers, TF, joint frames, the ROS4HRI list), marker sizes,
    diagnostics period, and how TF frames and body ids are named."""

    publish_markers: bool
    publish_tf: bool
    publish_joint_frames: bool
    marker_joint_diameter_m: float
    marker_line_width_m: float
    diagnostics_period_s: float
    frame_prefix: str  # resolved: "auto" replaced by the namespace's prefix
    hri: bool
    hri_id_prefix: str  # resolved: "auto" replaced by the node's fully qualified name

    @classmethod
    def from_values(
        cls, v: Dict[str, Any], namespace: str = "/", node_name: str = ""
    ) -> "OutputConfig":
        """The config from checked values; the node's `namespace` resolves frame_prefix auto,
        and with its `node_name` hri_id_prefix auto. With hri on, raises ValueError naming
        hri_id_prefix when it cannot start a body id, and naming track or publish_tf when either
        is off (`v` holds every parameter of the node, track included)."""
        v = dict(v)
        if v.get("frame_prefix") == "auto":
            v["frame_prefix"] = namespace_prefix(namespace)
        if v.get("hri_id_prefix", "auto") == "auto":
            v["hri_id_prefix"] = default_id_prefix(namespace, node_name)
        if v.get("hri"):
            check_id_prefix(v["hri_id_prefix"])
            # ROS4HRI promises an id names one person while they stay in view, and a listed
            # body has its body_<id> frame: without tracking, ids restart at 1 every frame
            for needed in ("track", "publish_tf"):
                if not v.get(needed, True):
                    raise ValueError(
                        f"parameter hri is true but {needed} is false: ROS4HRI body ids must "
                        "stay with one person (track) and have their body_<id> frame "
                        "(publish_tf)"
                    )
        return _pick(cls, v)

    @classmethod
    def defaults(cls, namespace: str = "/", node_name: str = "") -> "OutputConfig":
        """The outputs a node publishes when no parameter is set."""
        return cls.from_values({p.name: p.default for p in OUTPUT_PARAMS}, namespace, node_name)


def namespace_prefix(namespace: str) -> str:
    """A TF frame prefix from a node namespace: "/cam2" -> "cam2/", "/robot/left" ->
    "robot/left/", "/" -> "" (frame ids carry no leading slash)."""
    ns = namespace.strip("/")
    return f"{ns}/" if ns else ""


@dataclass(frozen=True)
class VideoSourceConfig:
    """The video_source node's parameters, picked from the declared values."""

    source: str
    rate_hz: float
    loop: bool
    max_frames: int
    frame_id: str
    camera_info_file: str
    hfov_deg: float
    publish_zero_k: bool
    reliable: bool
    wait_for_subscribers: int

    @classmethod
    def from_values(cls, v: Dict[str, Any]) -> "VideoSourceConfig":
        return _pick(cls, v)


def on_set_validator(node, specs: Sequence[Param], apply):
    """A set-parameters callback: checks the new values with the current ones, refuses with the
    reason when invalid (or read-only), otherwise calls apply(merged values)."""
    from rcl_interfaces.msg import SetParametersResult

    by_name = {p.name: p for p in specs}

    def callback(params) -> SetParametersResult:
        merged = {p.name: node.get_parameter(p.name).value for p in specs}
        for prm in params:
            if prm.name in by_name:
                merged[prm.name] = prm.value
        try:
            check(specs, merged)
            apply(normalise(specs, merged))
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(callback)
