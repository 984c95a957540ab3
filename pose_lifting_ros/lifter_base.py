"""What pose_lifter and keypoint_lifter share: the newest-input slot and worker thread, the
outputs (skeletons, markers, TF: outputs.py), the counters, /diagnostics, and the reading of
CameraInfo (`camera`: the core's camera_model rule, its problems warned as they appear).

Owns: threading and bookkeeping of a lifting node. Subscription callbacks only put the message
in a one-element slot (a newer message replaces an unprocessed one, counted as a drop), so they
never block; a worker thread takes the newest, calls `process(msg)` of the subclass and
publishes. An exception on one message is logged (throttled) and counted; the node goes on.
The worker ends quietly when the context is shut down (a signal): nothing is published after.
"""

from __future__ import annotations

import collections
import gc
import threading
import time
from typing import Optional

from rclpy.node import Node

from pose_lifting_core.plausibility import REASONS
from pose_lifting_ros.conversions import calibration_from_camera_info
from pose_lifting_ros.outputs import Outputs
from pose_lifting_ros.params import (
    CameraConfig,
    OutputConfig,
    declare,
    on_set_validator,
    pipeline_config,
)


DIAGNOSTIC_REASON = {"too_far": "beyond_max_distance"}
"""Diagnostics keys people_dropped_<reason> that differ from plausibility's reason name."""


class LatestSlot:
    """Holds the newest item; put() replaces an untaken one and counts it as dropped."""

    def __init__(self) -> None:
        self._item = None
        self._cond = threading.Condition()
        self.dropped = 0
        self.received = 0

    def put(self, item) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.received += 1
            self._cond.notify()

    def take(self, timeout: float) -> Optional[object]:
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item


class LifterNodeBase(Node):
    """Base of the lifting nodes; subclasses implement process(msg) -> (FrameResult, header)."""

    def __init__(self, name: str, specs, **kwargs) -> None:
        super().__init__(name, **kwargs)
        from diagnostic_msgs.msg import DiagnosticArray

        self.values = declare(self, specs)
        self.outputs = outputs = OutputConfig.from_values(
            self.values, self.get_namespace(), self.get_name()
        )
        self.camera_config = CameraConfig.from_values(self.values)
        self._warned = set()
        self._last_warn = {}
        self.out = Outputs(self, hri=outputs.hri)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.slot = LatestSlot()
        self.failed = 0
        self.published = 0
        # implausible people left out of the outputs, by reason (pose_lifting_core.plausibility)
        self.people_dropped = collections.Counter()
        self.people_tentative = 0  # held back until seen in tracker_min_hits frames in a row
        self._camera = None  # the last frame's (intrinsics estimated, CameraInfo problems)
        self._latency = collections.deque(maxlen=200)
        self._out_times = collections.deque(maxlen=200)
        self._in_times = collections.deque(maxlen=200)
        self._outcomes = collections.deque(maxlen=200)  # (time, processed without error)
        self._running = True
        self._worker = threading.Thread(target=self._work, name=f"{name}_worker", daemon=True)
        self._diag_timer = self.create_timer(
            outputs.diagnostics_period_s, self._publish_diagnostics
        )

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._running = False
        self._worker.join(timeout=2.0)

    def enqueue(self, msg) -> None:
        """Subscription callback body: never blocks."""
        self._in_times.append(time.monotonic())
        self.slot.put((msg, time.monotonic()))

    def process(self, msg):  # pragma: no cover - abstract
        raise NotImplementedError

    def warn_once(self, text: str) -> None:
        """Log a warning the first time this exact text comes up."""
        if text not in self._warned and self.context.ok():  # no /rosout once shut down
            self._warned.add(text)
            self.get_logger().warning(text)

    def warn_throttled(
        self, text: str, category: Optional[str] = None, period_s: float = 5.0
    ) -> None:
        """Log a warning, at most once per period per category of problem (by default the
        text): a hundred slightly different messages of one kind give one line."""
        key = category or text
        now = time.monotonic()
        if not self.context.ok():
            return  # a signal shut the context down: there is no /rosout to log to
        if now - self._last_warn.get(key, -1e9) >= period_s:
            self._last_warn[key] = now
            if len(self._last_warn) > 256:
                self._last_warn.clear()
            self.get_logger().warning(text)

    def camera(self, info, image_size, frame_id: str = "", input_name: str = "image"):
        """The camera model of a frame of `image_size` (width, height) pixels (zeros: unknown)
        in optical frame `frame_id` (the input's header), from `info`, the CameraInfo paired
        with it (None: none received), by the one rule both lifting nodes share,
        camera_model.camera_model: K and D, or P and no D where `image_is_rectified`. Each
        problem is warned once when it appears (again only after a frame without it, and at
        most every 5 s), and /diagnostics shows it (WARN) until a frame comes without it."""
        from pose_lifting_core.camera_model import CameraModel, camera_model

        hfov = self.estimator.config.hfov_deg
        if info is None:
            cam = CameraModel(
                None,
                None,
                tuple(image_size),
                (
                    f"no CameraInfo on {self.resolve_topic_name('camera_info')}: intrinsics "
                    f"estimated from a {hfov:g} deg field of view",
                ),
            )
        else:
            cam = camera_model(
                calibration_from_camera_info(info),
                image_size,
                hfov,
                "CameraInfo",
                frame_id,
                input_name,
                rectified=self.camera_config.image_is_rectified,
            )
        for problem in cam.problems:
            if problem not in (self._camera or (False, ()))[1]:
                self.warn_throttled(problem, f"camera: {problem}")
        self._camera = (cam.K is None, cam.problems)
        return cam

    def accept_parameter_updates(self, specs) -> None:
        """Validate run-time parameter updates (refused with the reason when invalid); a valid
        pipeline change takes effect at the next message (`fresh_estimator`)."""
        self._pending = None

        def apply(values) -> None:
            self._pending = pipeline_config(values)  # raises ValueError -> refused with the reason
            old_period = self.outputs.diagnostics_period_s
            self.outputs = OutputConfig.from_values(values, self.get_namespace(), self.get_name())
            self.camera_config = CameraConfig.from_values(values)
            if self.outputs.diagnostics_period_s != old_period:
                self.destroy_timer(self._diag_timer)
                self._diag_timer = self.create_timer(
                    self.outputs.diagnostics_period_s, self._publish_diagnostics
                )

        on_set_validator(self, specs, apply)

    def fresh_estimator(self):
        """The estimator, reconfigured in place if the parameters changed: the lifter, the
        detector and the track ids carry on (no id is reused, and the first frame after a
        parameter update costs what a normal one does)."""
        if self._pending is not None:
            cfg, self._pending = self._pending, None
            self.estimator.reconfigure(cfg)
        return self.estimator

    def _work(self) -> None:
        # Ends with the context: once a signal has shut it down, publishing can only fail
        # ("publisher's context is invalid"), which is no fault of the message.
        while self._running and self.context.ok():
            item = self.slot.take(0.1)
            if item is None:
                continue
            msg, t_in = item
            try:
                out = self.process(msg)
                if out is None:
                    continue
                if not self.context.ok():
                    break  # shut down while processing: nothing to publish to
                frame, header = out
                self._publish(frame, header)
                if self.published == 1:
                    # what is loaded by now (models, rclpy, torch) lives as long as the node: out
                    # of the collector's way, a full collection no longer stalls a frame
                    gc.freeze()
                self._latency.append(time.monotonic() - t_in)
                self._outcomes.append((time.monotonic(), True))
            except Exception as exc:  # one bad message never kills the node
                if not self.context.ok():
                    break  # the context ended while publishing (SIGINT): quietly stop
                self.failed += 1
                self._outcomes.append((time.monotonic(), False))
                self.warn_throttled(f"skipped a message: {exc}", f"skipped: {type(exc).__name__}")

    def _publish(self, frame, header) -> None:
        self.people_tentative += frame.tentative
        if frame.dropped:
            from pose_lifting_core.plausibility import describe

            self.people_dropped.update(frame.dropped)
            why = describe(frame.dropped, self.estimator.config.max_distance_m)
            self.warn_throttled(
                f"left out {sum(frame.dropped.values())} implausible person(s): {why}",
                "implausible people",
            )
        self.out.publish(self.out.build(frame, header, self.outputs))
        self.published += 1
        self._out_times.append(time.monotonic())

    RECENT_S = 5.0  # the window that rates and the diagnostics level look at

    def _rate(self, times, now: float) -> float:
        """Events per second over the last RECENT_S seconds: it decays to 0 when they stop."""
        return sum(1 for t in list(times) if t > now - self.RECENT_S) / self.RECENT_S

    def stats(self, now: Optional[float] = None) -> dict:
        now = time.monotonic() if now is None else now
        lat = sorted(self._latency)
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0  # noqa: E731
        return {
            "input_rate_hz": self._rate(self._in_times, now),
            "output_rate_hz": self._rate(self._out_times, now),
            "latency_ms_p50": pct(0.5),
            "latency_ms_p95": pct(0.95),
            "received": self.slot.received,
            "dropped": self.slot.dropped,
            "failed": self.failed,
            "published": self.published,
            "people_dropped": sum(self.people_dropped.values()),
            "people_tentative": self.people_tentative,
            **{
                f"people_dropped_{DIAGNOSTIC_REASON.get(r, r)}": self.people_dropped[r]
                for r in REASONS
            },
        }

    def health(self, now: Optional[float] = None) -> tuple:
        """(level, reason) from the last RECENT_S seconds: ERROR when every recent frame failed
        (the detector or the lifter cannot run); WARN when most recent frames failed, or when
        input arrives but nothing has gone out for three diagnostics periods, or while the last
        frame's CameraInfo had a problem (missing, unusable K, another size or frame_id,
        unusable distortion: each named); OK otherwise."""
        from diagnostic_msgs.msg import DiagnosticStatus

        level, reason = self._frame_health(now)
        problems = self._camera[1] if self._camera else ()
        if problems:
            camera = "; ".join(problems)
            reason = camera if level == DiagnosticStatus.OK else f"{reason}; {camera}"
            if level == DiagnosticStatus.OK:
                level = DiagnosticStatus.WARN
        return level, reason

    def _frame_health(self, now: Optional[float] = None) -> tuple:
        """(level, reason) of `health` from the frames' outcomes alone."""
        from diagnostic_msgs.msg import DiagnosticStatus

        now = time.monotonic() if now is None else now
        recent = [ok for t, ok in list(self._outcomes) if t > now - self.RECENT_S]
        failed = recent.count(False)
        if len(recent) >= 3 and failed == len(recent):
            return DiagnosticStatus.ERROR, f"every one of the last {failed} frames failed"
        if recent and failed > len(recent) / 2:
            return DiagnosticStatus.WARN, f"{failed} of the last {len(recent)} frames failed"
        quiet = 3 * self.outputs.diagnostics_period_s
        last_in = self._in_times[-1] if self._in_times else -1e18
        last_out = self._out_times[-1] if self._out_times else -1e18
        if now - last_in < quiet and now - last_out > quiet:
            return DiagnosticStatus.WARN, f"input arrives but no output for {quiet:g} s"
        return DiagnosticStatus.OK, "ok"

    def diagnostic_status(self, now: Optional[float] = None):
        """This node's diagnostic_msgs/DiagnosticStatus (level from `health`), named by the
        node's fully qualified name, so that several cameras' nodes report apart."""
        from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

        s = self.stats(now)
        st = DiagnosticStatus(
            name=f"{self.get_fully_qualified_name()}: pipeline", hardware_id="pose_lifting"
        )
        st.level, reason = self.health(now)
        st.message = (
            f"{reason}; {s['output_rate_hz']:.1f} Hz out, {s['dropped']} dropped, "
            f"{s['failed']} failed"
        )
        if self.people_dropped:  # how many people were left out as implausible, and why
            from pose_lifting_core.plausibility import describe

            counts = {r: self.people_dropped[r] for r in REASONS if self.people_dropped[r]}
            st.message += (
                f"; implausible people left out: "
                f"{describe(counts, self.estimator.config.max_distance_m)}"
            )
        estimated, problems = self._camera if self._camera else (False, ())
        s = {**s, "intrinsics_estimated": int(estimated), "camera_problems": len(problems)}
        st.values = [
            KeyValue(key=k, value=f"{v:.3f}" if isinstance(v, float) else str(v))
            for k, v in s.items()
        ]
        return st

    def _publish_diagnostics(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        arr = DiagnosticArray(status=[self.diagnostic_status()])
        arr.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(arr)
