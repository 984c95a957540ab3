"""A lifting node's outputs: skeletons, markers and TF of one frame, built and then published.

Owns: the publishers of `skeletons` (pose_lifting/Skeleton3DArray) and `markers`
(visualization_msgs/MarkerArray), the TF broadcaster (its sendTransform), with `hri` the
publisher of `/humans/bodies/tracked` (hri_msgs/IdsList, ROS4HRI), and how each frame's messages
are made. Each output is built on its own, so one that fails does not hold back the others; TF
goes out before the ROS4HRI list, so a consumer that sees a new body id can look its frame up.
The benchmarks use this class too, so they time the node's own code.
"""

from __future__ import annotations

from typing import Callable, List, Tuple

from pose_lifting_ros import visualization
from pose_lifting_ros.compat import TfBroadcaster
from pose_lifting_ros.conversions import frame_to_msg, person_points
from pose_lifting_ros.hri import TRACKED_BODIES_TOPIC, ids_list, ids_list_type
from pose_lifting_ros.params import OutputConfig


TRACKED_QOS_DEPTH = 1  # each IdsList is the whole set: only the newest matters


class Outputs:
    """Publishers and builders of one node's outputs; `hri`: also the ROS4HRI list of tracked
    bodies (no such publisher exists otherwise)."""

    def __init__(self, node, hri: bool = False) -> None:
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from visualization_msgs.msg import MarkerArray

        from pose_lifting.msg import Skeleton3DArray

        self.skeletons = node.create_publisher(Skeleton3DArray, "skeletons", 10)
        self.markers = node.create_publisher(MarkerArray, "markers", 10)
        self.tf = TfBroadcaster(node)
        self._marker_builder = visualization.MarkerBuilder()
        self.tracked_bodies = None
        if hri:
            # RELIABLE, VOLATILE: what ROS4HRI publishers offer and libhri's HRIListener (system
            # default QoS) asks for; absolute topic (hri.py says why)
            qos = QoSProfile(
                depth=TRACKED_QOS_DEPTH,
                reliability=ReliabilityPolicy.RELIABLE,
                durability=DurabilityPolicy.VOLATILE,
            )
            self.tracked_bodies = node.create_publisher(ids_list_type(), TRACKED_BODIES_TOPIC, qos)

    def build(
        self, frame, header, config: OutputConfig
    ) -> Tuple[List[Tuple[Callable, object]], List[Exception]]:
        """(publish function, message) for every output of a FrameResult, stamped with the
        image's header, and the errors of outputs that could not be built."""
        c = config
        positions = person_points(frame)  # one set of Points for both messages
        makers: List[Tuple[Callable, Callable[[], object]]] = [
            (self.skeletons.publish, lambda: frame_to_msg(frame, header, positions))
        ]
        if c.publish_markers:
            makers.append(
                (
                    self.markers.publish,
                    lambda: self._marker_builder(
                        frame, header, c.marker_joint_diameter_m, c.marker_line_width_m, positions
                    ),
                )
            )
        if c.publish_tf and frame.persons:
            # ROS4HRI names frames body_<body id> exactly: no frame_prefix, the id carries it
            prefix, id_prefix = ("", c.hri_id_prefix) if c.hri else (c.frame_prefix, "")
            makers.append(
                (
                    self.tf.sendTransform,
                    lambda: visualization.transforms(
                        frame, header, c.publish_joint_frames, prefix, id_prefix
                    ),
                )
            )
        if c.hri and self.tracked_bodies is not None:  # every frame: who left is dropped
            makers.append(
                (self.tracked_bodies.publish, lambda: ids_list(frame, header, c.hri_id_prefix))
            )
        built, errors = [], []
        for send, make in makers:
            try:
                built.append((send, make()))
            except Exception as exc:  # noqa: BLE001 - reported by publish, after the others are out
                errors.append(exc)
        return built, errors

    @staticmethod
    def publish(built: Tuple[List[Tuple[Callable, object]], List[Exception]]) -> None:
        """Send what `build` made; then raise the first error of an output that could not be
        built."""
        payloads, errors = built
        for send, payload in payloads:
            send(payload)
        if errors:
            raise errors[0]
