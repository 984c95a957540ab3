"""Reading inputs for `pose-lifting estimate` and writing renders.

Owns: turning a path (an image, a video, or a folder of images) into a stream of RGB frames
with their times, and writing a PNG or an MP4. OpenCV does the decoding and encoding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterator, Optional, Tuple

import numpy as np

from pose_lifting_core.files import AtomicFile, atomic_path

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
VIDEO_EXT = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v")
RENDER_EXT = (".png", ".jpg", ".mp4", ".avi")


class MediaError(ValueError):
    """An input that cannot be read; the message names the file and the problem."""


@dataclass
class Source:
    """Frames of an input. kind: image | video | folder; fps for videos (None otherwise)."""

    path: str
    kind: str
    num_frames: int
    fps: Optional[float]
    size: Tuple[int, int]
    skipped: list = field(default_factory=list)  # (file, reason) of folder images not decoded

    def frames(self) -> Iterator[Tuple[int, float, np.ndarray]]:
        """(index, time_s, RGB uint8 (H, W, 3)); folder frames are 1 s apart by convention. A
        folder image that cannot be decoded is skipped and listed in `skipped`; the rest go on."""
        import cv2

        if self.kind == "video":
            cap = cv2.VideoCapture(self.path)
            i = 0
            try:
                while True:
                    ok, bgr = cap.read()
                    if not ok:
                        break
                    yield i, i / (self.fps or 30.0), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    i += 1
            finally:
                cap.release()
        else:
            files = [self.path] if self.kind == "image" else _images_in(self.path)
            for i, f in enumerate(files):
                try:
                    rgb = read_image(f)
                except MediaError as exc:
                    if self.kind == "image":
                        raise
                    self.skipped.append((f, str(exc)))
                    continue
                yield i, float(i), rgb


def input_files(path: str) -> list:
    """The files an input path stands for: the path itself, or a folder's images."""
    return _images_in(path) if os.path.isdir(path) else [path]


def _images_in(folder: str) -> list:
    return sorted(
        os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXT)
    )


def encoded_size_problem(source) -> Optional[str]:
    """Why an encoded image (a path or a binary file object) is over the pipeline's size limit,
    read from its header without decoding it (Pillow reads only the header), or None: under the
    limit, or a format Pillow does not read (OpenCV then decides when decoding)."""
    from PIL import Image

    from pose_lifting_core.detection import MAX_IMAGE_PIXELS, image_size_problem

    try:
        with Image.open(source) as im:
            return image_size_problem(*im.size)
    except Image.DecompressionBombError:  # Pillow's own guard (179 megapixels) came first
        return (
            f"image over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; the limit is "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels"
        )
    except Exception:
        return None


def read_image(path: str) -> np.ndarray:
    """RGB uint8 (H, W, 3) from an image file (grey images become 3 channels). An image over
    the pipeline's size limit is refused from its header, before it is decoded."""
    import cv2

    problem = encoded_size_problem(path)
    if problem:
        raise MediaError(f"{path}: {problem}")
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise MediaError(f"cannot decode image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def open_source(path: str) -> Source:
    """Inspect a path. Raises MediaError for a missing path, an unknown type or an unreadable
    file."""
    import cv2

    if not os.path.exists(path):
        raise MediaError(f"input not found: {path}")
    if os.path.isdir(path):
        files = _images_in(path)
        if not files:
            raise MediaError(f"folder {path} has no images ({', '.join(IMAGE_EXT)})")
        for f in files:  # the size of the first image that decodes
            try:
                h, w = read_image(f).shape[:2]
                return Source(path, "folder", len(files), None, (w, h))
            except MediaError:
                continue
        raise MediaError(f"no image in folder {path} can be decoded")
    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXT:
        h, w = read_image(path).shape[:2]
        return Source(path, "image", 1, None, (w, h))
    if ext in VIDEO_EXT:
        from pose_lifting_core.detection import image_size_problem

        cap = cv2.VideoCapture(path)
        try:
            size = (
                int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            )
            if image_size_problem(*size):
                raise MediaError(f"{path}: video frames: {image_size_problem(*size)}")
            ok, frame = cap.read()
            if not ok or frame is None:
                raise MediaError(f"cannot decode video {path}")
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
            return Source(path, "video", max(n, 1), fps, (frame.shape[1], frame.shape[0]))
        finally:
            cap.release()
    raise MediaError(
        f"unknown input type {ext or '(none)'} for {path}: give an image, a video or a folder"
    )


class RenderWriter:
    """Writes a PNG (one frame: the last one given) or an MP4 (every frame). The file appears at
    `path` only when `close` commits it, complete (files.AtomicFile: the video is encoded into a
    temporary file beside it); a run that fails or is interrupted leaves an existing file as it
    was."""

    def __init__(self, path: str, fps: float = 10.0) -> None:
        ext = os.path.splitext(path)[1].lower()
        if ext not in RENDER_EXT:
            raise MediaError(f"render must be .png, .jpg, .mp4 or .avi, got {path}")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path, self.fps, self.video = path, fps, ext in (".mp4", ".avi")
        self._writer = None
        self._file: Optional[AtomicFile] = None
        self._last = None

    def write(self, rgb: np.ndarray) -> None:
        import cv2

        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if not self.video:
            self._last = bgr
            return
        if self._writer is None:
            fourcc = cv2.VideoWriter_fourcc(
                *("mp4v" if self.path.lower().endswith(".mp4") else "MJPG")
            )
            self._file = AtomicFile(self.path)
            self._writer = cv2.VideoWriter(
                self._file.tmp, fourcc, self.fps, (bgr.shape[1], bgr.shape[0])
            )
            if not self._writer.isOpened():
                self._writer = None
                self._file.discard()
                raise MediaError(f"cannot open video writer for {self.path}")
        self._writer.write(bgr)

    def close(self, commit: bool = True) -> None:
        """Finish the file and put it in place; with `commit` false (the run failed or was
        interrupted) write nothing and leave an existing file as it was."""
        import cv2

        if self._writer is not None:
            self._writer.release()
            self._writer = None
            if commit:
                self._file.commit()
            else:
                self._file.discard()
        elif self._last is not None and commit:
            with atomic_path(self.path) as tmp:
                if not cv2.imwrite(tmp, self._last):
                    raise MediaError(f"cannot write {self.path}")
        self._last = None
