"""A lifting node's outputs: skeletons, markers and TF of one frame, built and then published.

Owns: the publishers of `skeletons` (pose_lifting/Skeleton3DArray) and `markers`
(visualization_msgs/MarkerArray), the TF broadcaster, and how each frame's messages are made.
Skeletons, markers and TF go out as CDR bytes written from the frame's arrays (wire.py) when
those bytes match this ROS distro's messages (`wire.matches_rclpy`, checked once per process),
and as message objects otherwise. TF bytes go out on the broadcaster's own /tf publisher
(tf2_ros's when it is installed); TF objects through its sendTransform.
The benchmarks use this class too, so they time the node's own code.
"""
from __future__ import annotations

import functools
from typing import Callable, List, Optional, Tuple

from pose_lifting_ros import visualization, wire
from pose_lifting_ros.compat import TfBroadcaster
from pose_lifting_ros.conversions import frame_to_msg, person_points
from pose_lifting_ros.params import OutputConfig


@functools.lru_cache(maxsize=None)
def serialized_mismatch() -> Optional[str]:
    """wire.matches_rclpy(), once per process: None when the nodes may publish bytes."""
    return wire.matches_rclpy()


class Outputs:
    """Publishers and builders of one node's outputs. `serialized`: None asks
    `serialized_mismatch()`; True or False forces bytes or message objects."""

    def __init__(self, node, serialized: Optional[bool] = None) -> None:
        from visualization_msgs.msg import MarkerArray

        from pose_lifting.msg import Skeleton3DArray

        self.skeletons = node.create_publisher(Skeleton3DArray, "skeletons", 10)
        self.markers = node.create_publisher(MarkerArray, "markers", 10)
        self.tf = TfBroadcaster(node)
        self._marker_builder = visualization.MarkerBuilder()
        if serialized is None:
            problem = serialized_mismatch()
            if problem is not None:
                node.get_logger().warning(f"publishing message objects: the serialized output differs from this ROS "
                                          f"distro's messages ({problem})")
            serialized = problem is None
        self.serialized = serialized

    def build(self, frame, header, config: OutputConfig) -> Tuple[List[Tuple[Callable, object]], List[Exception]]:
        """(publish function, message or bytes) for every output of a FrameResult, stamped with
        the image's header, and the errors of outputs that could not be built: each output is
        built on its own, so one that fails does not hold back the others."""
        c = config
        makers: List[Tuple[Callable, Callable[[], object]]] = []
        if self.serialized:
            makers.append((self.skeletons.publish, lambda: wire.skeleton_array(frame, header)))
            if c.publish_markers:
                makers.append((self.markers.publish, lambda: self._marker_builder.serialized(
                    frame, header, c.marker_joint_diameter_m, c.marker_line_width_m)))
        else:
            positions = person_points(frame)   # one set of Points for both messages
            makers.append((self.skeletons.publish, lambda: frame_to_msg(frame, header, positions)))
            if c.publish_markers:
                makers.append((self.markers.publish, lambda: self._marker_builder(
                    frame, header, c.marker_joint_diameter_m, c.marker_line_width_m, positions)))
        if c.publish_tf and frame.persons and self.serialized:
            makers.append((self.tf.publisher.publish,
                           lambda: visualization.transforms_serialized(frame, header, c.publish_joint_frames)))
        elif c.publish_tf and frame.persons:
            makers.append((self.tf.sendTransform,
                           lambda: visualization.transforms(frame, header, c.publish_joint_frames)))
        built, errors = [], []
        for send, make in makers:
            try:
                built.append((send, make()))
            except Exception as exc:  # noqa: BLE001 - reported by publish, after the others are out
                errors.append(exc)
        return built, errors

    @staticmethod
    def publish(built: Tuple[List[Tuple[Callable, object]], List[Exception]]) -> None:
        """Send what `build` made; then raise the first error of an output that could not be built."""
        payloads, errors = built
        for send, payload in payloads:
            send(payload)
        if errors:
            raise errors[0]
