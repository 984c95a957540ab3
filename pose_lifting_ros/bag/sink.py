"""A new rosbag2 bag (mcap storage) of a run's outputs, and optionally of its input topics.

Owns: writing `/skeletons` (pose_lifting/msg/Skeleton3DArray), `/markers`
(visualization_msgs/msg/MarkerArray) and `/tf` (tf2_msgs/msg/TFMessage) for every frame, each
with its image's header (stamp and frame_id) and logged at the image's own log time, so that
`ros2 bag play` replays them beside the images; copying input topics unchanged (serialized
bytes, definition, type hash and QoS), so that one file replays everything; and putting the
bag in place only when complete. The message definitions are embedded (the mcap's schemas),
so Foxglove and other readers decode this package's own types from the file alone.

The bag is written into a hidden folder beside the target and renamed to it at the end
(`commit`); a run that fails or is interrupted leaves no bag (`discard`). An existing target is
refused, as `ros2 bag record -o` refuses one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from typing import Dict, Optional, Sequence

from pose_lifting_ros.bag import BagError, messages
from pose_lifting_ros.bag.types import typestore

OUTPUT_TOPICS = {
    "/skeletons": messages.SKELETONS,
    "/markers": messages.MARKERS,
    "/tf": messages.TF,
}


class BagSink:
    """Writes one output bag. `copy_source`: the BagSource whose `copy_topics` are copied (its
    rosbag2 connections give their definitions and QoS); `outputs`: params.OutputConfig (what
    the nodes publish by default when None: markers and TF on, no joint frames, their marker
    sizes)."""

    def __init__(self, path: str, copy_source=None, copy_topics: Sequence[str] = (), outputs=None):
        from rosbags.rosbag2 import StoragePlugin, Writer

        from pose_lifting_ros.params import OutputConfig

        self.path = os.path.abspath(path)
        if os.path.lexists(self.path):
            raise BagError(
                f"{path} exists already; bags are never overwritten: remove it or "
                "choose another path"
            )
        self.outputs = outputs or OutputConfig.defaults()
        self.counts: Dict[str, int] = {t: 0 for t in OUTPUT_TOPICS}
        folder, name = os.path.split(self.path)
        os.makedirs(folder, exist_ok=True)
        self._tmp = os.path.join(folder, f".{name}.tmp{secrets.token_hex(4)}")
        os.mkdir(self._tmp)
        self._writer = Writer(
            os.path.join(self._tmp, name), version=9, storage_plugin=StoragePlugin.MCAP
        )
        try:  # a refused copy (a ROS 1 input, a clashing topic) leaves no temporary folder
            self._writer.open()
            ts = typestore()
            self._conns = {
                t: self._writer.add_connection(t, m, typestore=ts)
                for t, m in OUTPUT_TOPICS.items()
            }
            self._copied: Dict[int, object] = {}
            if copy_topics:
                self._add_copies(copy_source, copy_topics)
        except BaseException:
            with contextlib.suppress(Exception):
                self._writer.close()
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        self._markers = messages.MarkerBuilder()

    def _add_copies(self, source, topics: Sequence[str]) -> None:
        """An output connection for each input connection of `topics` (an output topic's own
        where the input has it with the same type, as /tf); BagError for a ROS 1 input (its
        messages are not CDR) or a topic that is an output topic of another type."""
        reader = source._reader
        if not getattr(reader, "is2", True):
            raise BagError(
                f"{source.path} is a ROS 1 bag: its topics cannot be copied into a "
                "ROS 2 bag (leave out --copy-input)"
            )
        for conn in source.connections(topics):
            if conn.topic in OUTPUT_TOPICS:
                if conn.msgtype != OUTPUT_TOPICS[conn.topic]:
                    raise BagError(
                        f"input topic {conn.topic} carries {conn.msgtype}, but the "
                        f"output's {conn.topic} is {OUTPUT_TOPICS[conn.topic]}"
                    )
                self._copied[conn.id] = self._conns[conn.topic]
                continue
            msgdef, digest = conn.msgdef.data, conn.digest
            if not msgdef or not digest:  # an older bag without them: from the reader's types
                msgdef = reader.typestore.generate_msgdef(conn.msgtype, ros_version=2)[0]
                digest = reader.typestore.hash_rihs01(conn.msgtype)
            qos = getattr(conn.ext, "offered_qos_profiles", [])
            self._copied[conn.id] = self._writer.add_connection(
                conn.topic, conn.msgtype, msgdef=msgdef, rihs01=digest, offered_qos_profiles=qos
            )

    def copy(self, conn, log_time_ns: int, raw: bytes) -> None:
        """Write an input message unchanged (BagSource.frames calls this as it reads)."""
        out = self._copied.get(conn.id)
        if out is not None:
            self._writer.write(out, log_time_ns, raw)

    def write(self, frame, info) -> None:
        """The outputs of a FrameResult whose image is `info` (source.BagFrame): stamped and
        framed as the image, logged at its log time. TF only when someone is in the frame (as
        the nodes)."""
        ts, c = typestore(), self.outputs
        hdr = messages.header(info.stamp_ns, info.frame_id)
        out = [("/skeletons", messages.skeleton_array(frame, hdr))]
        if c.publish_markers:
            out.append(
                (
                    "/markers",
                    self._markers(frame, hdr, c.marker_joint_diameter_m, c.marker_line_width_m),
                )
            )
        tf = messages.transforms(frame, hdr, c.frame_prefix)
        if c.publish_tf and tf is not None:
            out.append(("/tf", tf))
        for topic, msg in out:
            data = ts.serialize_cdr(msg, OUTPUT_TOPICS[topic])
            self._writer.write(self._conns[topic], info.log_time_ns, data)
            self.counts[topic] += 1

    def close(self, commit: bool = True) -> Optional[str]:
        """Finish the bag and, with `commit`, put it at its path (returned); without, remove it."""
        try:
            self._writer.close()
            if commit:
                os.rename(os.path.join(self._tmp, os.path.basename(self.path)), self.path)
                return self.path
            return None
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)
