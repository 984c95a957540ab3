"""2D human keypoint detection: images in, people with 2D keypoints out.

Owns: the detector interface every backend implements (`Detector`), the per-person result
(`Person2D`), the error type for missing or corrupt model files and unusable images
(`DetectorError`), the model files on disk and how they are fetched at set-up time (`models`),
and the BlazePose backend run through LiteRT (`blazepose.BlazePoseDetector`).

Backends are imported from their own modules (`from pose_lifting_core.detection.blazepose
import BlazePoseDetector`) so that importing this package needs only numpy: OpenCV and LiteRT
are loaded by the backend that uses them. No module here downloads anything at run time.

Coordinates are image pixels, x to the right and y down, with the centre of the top-left pixel
at (0, 0) (the OpenCV convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Protocol, runtime_checkable

import numpy as np

__all__ = ["Person2D", "Detector", "DetectorError"]


class DetectorError(RuntimeError):
    """A model file is missing or unreadable, or an image cannot be used (message says which)."""


MAX_IMAGE_PIXELS = 40_000_000
"""Largest image the pipeline takes (8K video is 33 megapixels); larger ones are refused with
one line naming this limit, before they are decoded where the format allows."""


def image_size_problem(width: int, height: int) -> Optional[str]:
    """Why an image of this size is refused (over MAX_IMAGE_PIXELS), or None."""
    if width * height > MAX_IMAGE_PIXELS:
        return (
            f"image {width}x{height} has {width * height / 1e6:.0f} megapixels; the limit is "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels"
        )
    return None


@dataclass(frozen=True, eq=False)
class Person2D:
    """One detected person.

    keypoints: (J, 2) float64, pixels in the input image (x, y).
    scores: (J,) float64 in [0, 1], per-keypoint confidence (visible and inside the image).
    box: (4,) float64, x0, y0, x1, y1 in pixels: the box around the keypoints, clipped to the
        image.
    score: person confidence in [0, 1].
    layout: the keypoint layout name (a key of `pose_lifting_core.skeleton.LAYOUTS`, e.g.
        "blazepose33"), which fixes J and the joint order.

    Frozen: the fields cannot be rebound, and the arrays are made read-only.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    box: np.ndarray
    score: float
    layout: str

    def __post_init__(self) -> None:
        kp = np.array(self.keypoints, dtype=np.float64)
        sc = np.array(self.scores, dtype=np.float64)
        box = np.array(self.box, dtype=np.float64)
        if kp.ndim != 2 or kp.shape[1] != 2:
            raise ValueError(f"keypoints must have shape (J, 2), got {kp.shape}")
        if sc.shape != (kp.shape[0],):
            raise ValueError(f"scores must have shape ({kp.shape[0]},), got {sc.shape}")
        if box.shape != (4,):
            raise ValueError(f"box must have shape (4,), got {box.shape}")
        for a in (kp, sc, box):
            a.setflags(write=False)
        object.__setattr__(self, "keypoints", kp)
        object.__setattr__(self, "scores", sc)
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "score", float(self.score))


@runtime_checkable
class Detector(Protocol):
    """A multi-person 2D keypoint detector.

    layout: the keypoint layout of every `Person2D` it returns.
    detect(image): image is an (H, W, 3) uint8 RGB array; returns the people found, most
        confident first (possibly none). Raises DetectorError for an unusable image.
    """

    layout: str

    def detect(self, image: np.ndarray) -> List[Person2D]: ...
