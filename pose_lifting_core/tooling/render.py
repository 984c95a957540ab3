"""Pictures of results: the 2D overlay beside a 3D view of the metric skeletons.

Owns: drawing only. The 2D panel is the image with each person's 17-joint skeleton and track
id; the 3D panel shows the camera (a frustum at the origin, from the intrinsics) and every person
at their estimated position in the camera frame, with a metre grid on the floor and the
distance written beside each person. Colours follow track ids, the same in both panels.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from pose_lifting_core.camera import Intrinsics
from pose_lifting_core.skeleton import SKELETON
from pose_lifting_core.tracking import colour


def draw_2d(
    image: np.ndarray,
    persons: Sequence,
    intrinsics: Optional[Intrinsics] = None,
    min_conf: float = 0.05,
) -> np.ndarray:
    """RGB image (H, W, 3) uint8, a copy with each person drawn: the 3D skeleton reprojected
    through the intrinsics (coloured bones; this includes joints the detector lacks, such as the
    spine and neck) and the detected 2D keypoints (white dots), so the fit is visible."""
    import cv2

    from pose_lifting_core.camera import project

    out = image.copy() if image.ndim == 3 else np.repeat(image[..., None], 3, -1)
    scale = max(1, int(round(max(out.shape[:2]) / 640)))
    for p in persons:
        c = colour(p.id)
        kp, conf = p.keypoints_2d, p.confidence
        if (
            intrinsics is not None
            and np.isfinite(p.joints_3d).all()
            and (p.joints_3d[:, 2] > 0).all()
        ):
            bones_px = project(p.joints_3d, intrinsics.K)
        else:
            bones_px = np.where(conf[:, None] > min_conf, kp, np.nan)
        for a, b in SKELETON.bones:
            if np.isfinite(bones_px[[a, b]]).all():
                cv2.line(
                    out,
                    tuple(int(v) for v in bones_px[a]),
                    tuple(int(v) for v in bones_px[b]),
                    c,
                    2 * scale,
                    cv2.LINE_AA,
                )
        for j in range(len(kp)):
            if conf[j] > min_conf:
                cv2.circle(
                    out, tuple(int(v) for v in kp[j]), 3 * scale, (255, 255, 255), -1, cv2.LINE_AA
                )
        x0, y0 = int(p.box[0]), int(max(p.box[1] - 6, 12))
        cv2.putText(
            out,
            f"#{p.id} {p.joints_3d[0, 2]:.1f} m",
            (x0, y0),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5 * scale,
            c,
            max(1, scale),
            cv2.LINE_AA,
        )
    return out


class View3D:
    """A reusable matplotlib 3D panel (Agg, no display needed)."""

    def __init__(
        self, size_px: Tuple[int, int] = (640, 480), max_depth: Optional[float] = None
    ) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self._plt = plt
        self.size = size_px
        self.max_depth = max_depth
        dpi = 100
        self.fig = plt.figure(figsize=(size_px[0] / dpi, size_px[1] / dpi), dpi=dpi)
        self.ax = self.fig.add_subplot(111, projection="3d")
        self.fig.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=0.95)

    def render(
        self,
        persons: Sequence,
        intrinsics: Intrinsics,
        image_size: Tuple[int, int],
        title: str = "",
    ) -> np.ndarray:
        """RGB (H, W, 3) uint8 of the camera and the people. Plot axes: camera x (right),
        z (forward, depth) and -y (up), all metres."""
        ax = self.ax
        ax.cla()
        depths = [p.joints_3d[0, 2] for p in persons if np.isfinite(p.joints_3d).all()]
        far = self.max_depth or max(4.0, 1.2 * max(depths, default=4.0))
        w, h = image_size
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
        d = min(0.6, 0.15 * far)
        rays = np.stack(
            [
                (corners[:, 0] - intrinsics.cx) / intrinsics.fx * d,
                (corners[:, 1] - intrinsics.cy) / intrinsics.fy * d,
                np.full(4, d),
            ],
            -1,
        )
        for r in rays:
            ax.plot([0, r[0]], [0, r[2]], [0, -r[1]], color="0.3", lw=1)
        loop = np.vstack([rays, rays[:1]])
        ax.plot(loop[:, 0], loop[:, 2], -loop[:, 1], color="0.3", lw=1)
        ax.text(0, 0, 0.05, "camera", fontsize=7, color="0.3")
        floor_y = max([p.joints_3d[:, 1].max() for p in persons] + [1.5])
        half = max(2.0, far * 0.6)
        for x in np.arange(-np.floor(half), np.floor(half) + 1):
            ax.plot([x, x], [0, far], [-floor_y, -floor_y], color="0.88", lw=0.6)
        for z in np.arange(0, np.floor(far) + 1):
            ax.plot([-half, half], [z, z], [-floor_y, -floor_y], color="0.88", lw=0.6)
        for p in persons:
            X = p.joints_3d
            if not np.isfinite(X).all():
                continue
            c = np.array(colour(p.id)) / 255.0
            for a, b in SKELETON.bones:
                ax.plot(
                    [X[a, 0], X[b, 0]], [X[a, 2], X[b, 2]], [-X[a, 1], -X[b, 1]], color=c, lw=2
                )
            ax.text(
                X[10, 0],
                X[10, 2],
                -X[10, 1] + 0.15,
                f"#{p.id} {X[0, 2]:.1f} m",
                fontsize=7,
                color=c,
            )
        top = -floor_y + 2.2
        ax.set_xlim(-half, half)
        ax.set_ylim(0, far)
        ax.set_zlim(-floor_y, top)
        ax.set_box_aspect(
            (2 * half, far, top + floor_y), zoom=1.25
        )  # metres at one scale on every axis
        ax.set_xlabel("x (m)", fontsize=7)
        ax.set_ylabel("depth z (m)", fontsize=7)
        ax.set_zlabel("up (m)", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.view_init(elev=22, azim=-62)
        ax.set_title(title, fontsize=8)
        self.fig.canvas.draw()
        buf = np.asarray(self.fig.canvas.buffer_rgba())[..., :3]
        return np.ascontiguousarray(buf)

    def close(self) -> None:
        self._plt.close(self.fig)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Both panels at the height of the left one, concatenated horizontally."""
    import cv2

    h = left.shape[0]
    r = cv2.resize(
        right, (int(round(right.shape[1] * h / right.shape[0])), h), interpolation=cv2.INTER_AREA
    )
    return np.concatenate([left, r], 1)


def render_frame(
    image: np.ndarray, persons: List, intrinsics: Intrinsics, view: View3D, title: str = ""
) -> np.ndarray:
    """The full picture of one frame: overlay | 3D view. RGB uint8."""
    h, w = image.shape[:2]
    est = " (K estimated)" if intrinsics.estimated else ""
    right = view.render(
        persons,
        intrinsics,
        (w, h),
        title or f"{len(persons)} people, f={intrinsics.fx:.0f} px{est}",
    )
    return side_by_side(draw_2d(image, persons, intrinsics), right)
