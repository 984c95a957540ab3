"""The one place that chooses a real ROS library or its small fallback.

Owns: which of cv_bridge, message_filters and tf2_ros are used. Each is imported when it exists
(a real ROS 2 install); on pip-only machines, where those packages do not exist, a small
fallback with the same role is used instead:
  - image conversion: cv_bridge.CvBridge, else conversions.image_to_rgb (numpy, zero-copy);
  - CameraInfo pairing: a message_filters.Cache looked up by the image's stamp, else the latest
    CameraInfo received;
  - TF: tf2_ros.TransformBroadcaster, else a publisher of tf2_msgs/TFMessage on /tf with the
    broadcaster's QoS (tf2_msgs built from its definition has Jazzy's type hash).
Message packages need no choice here: where tf2_msgs or hri_msgs (ROS4HRI's IdsList, for
`hri: true`) cannot be installed, scripts/setup.sh builds the one message used from
compat/<package>, with the real type hash, under the real package name.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from pose_lifting_ros.conversions import ConversionError, image_to_rgb

try:
    from cv_bridge import CvBridge, CvBridgeError
except ImportError:
    CvBridge = None
try:
    import message_filters
except ImportError:
    message_filters = None
try:
    from tf2_ros import TransformBroadcaster as _TfBroadcaster
except ImportError:
    _TfBroadcaster = None


class ImageConverter:
    """sensor_msgs/Image -> RGB (H, W, 3) uint8, by cv_bridge when present."""

    def __init__(self) -> None:
        self._bridge = CvBridge() if CvBridge is not None else None

    def __call__(self, msg) -> np.ndarray:
        if self._bridge is None or msg.encoding in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv"):
            return image_to_rgb(msg)
        image_to_rgb(msg)  # the same size/step/encoding checks and messages in both worlds
        try:
            return self._bridge.imgmsg_to_cv2(msg, desired_encoding="rgb8")
        except CvBridgeError as exc:  # pragma: no cover - only on a ROS install
            raise ConversionError(f"cv_bridge: {exc}") from exc


class CameraInfoSource:
    """CameraInfo for an image stamp: synchronised by stamp with message_filters when present,
    else the latest message received."""

    def __init__(self, node, topic: str, qos, cache_size: int = 20) -> None:
        from sensor_msgs.msg import CameraInfo

        self._latest = None
        if message_filters is not None:
            self._sub = message_filters.Subscriber(node, CameraInfo, topic, qos_profile=qos)
            self._cache = message_filters.Cache(self._sub, cache_size, allow_headerless=False)
            self._sub.registerCallback(self._keep)
        else:
            self._cache = None
            self._sub = node.create_subscription(CameraInfo, topic, self._keep, qos)

    def _keep(self, msg) -> None:
        self._latest = msg

    def lookup(self, stamp) -> Optional[object]:
        """The CameraInfo with the newest stamp not after `stamp` (else the latest), or None."""
        if self._cache is not None:
            from rclpy.time import Time

            msg = self._cache.getElemBeforeTime(Time.from_msg(stamp))
            if msg is not None:
                return msg
        return self._latest


class TfBroadcaster:
    """sendTransform(list of geometry_msgs/TransformStamped) on /tf."""

    def __init__(self, node) -> None:
        if _TfBroadcaster is not None:
            self._impl = _TfBroadcaster(node)
            self._pub = None
        else:
            from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
            from tf2_msgs.msg import TFMessage

            self._impl = None
            self._msg = TFMessage
            qos = QoSProfile(
                depth=100,
                reliability=ReliabilityPolicy.RELIABLE,
                durability=DurabilityPolicy.VOLATILE,
            )
            self._pub = node.create_publisher(TFMessage, "/tf", qos)

    @property
    def publisher(self):
        """The /tf publisher (tf2_ros's own when it is installed)."""
        return self._impl.pub_tf if self._impl is not None else self._pub

    def sendTransform(self, transforms) -> None:  # noqa: N802 - tf2_ros's name
        if self._impl is not None:
            self._impl.sendTransform(transforms)
        elif transforms:
            self._pub.publish(self._msg(transforms=list(transforms)))
