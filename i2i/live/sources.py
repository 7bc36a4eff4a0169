"""Where live frames come from, in one grammar: a camera index, a video file, a folder of images, a stream URL.

    0, 1, ...                  a camera (OpenCV's index)
    clip.mp4                   a video file
    shots/                     a folder of images, played in name order
    rtsp://..., http://...     a network stream

Cameras and streams are *live*: frames arrive on their own clock whether or not anyone takes them. Files and
folders are read on demand.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import cv2
import numpy as np

from ..errors import DataError, SourceError
from ..images import is_image_file, list_images, read_image

CAMERAS_PROBED = 5  # when a camera index fails, indices 0..4 (and up to the one asked for) are tried


class FrameSource(ABC):
    """Frames as (H, W, 3) uint8 RGB arrays, one ``read()`` at a time."""

    description: str = "source"
    live: bool = False  # frames arrive on their own clock (cameras, streams)
    fps: float | None = None  # nominal frame rate, when the source knows it

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next frame; None at the end of a file, or when a camera or stream fails to deliver one."""

    def reopen(self) -> bool:
        """Try to connect again after a failed read (cameras and streams); True when it worked."""
        return False

    def rewind(self) -> bool:
        """Start again from the first frame (files and folders); True when supported."""
        return False

    def close(self) -> None:  # noqa: B027  (nothing to release by default)
        """Release the device or file."""

    def skipped(self) -> list[str]:
        """Files passed over because they could not be read, one line each, in order (image folders)."""
        return []


class CaptureSource(FrameSource):
    """A camera, video file or stream read through ``cv2.VideoCapture``."""

    def __init__(self, target: int | str, description: str, live: bool) -> None:
        self.target, self.description, self.live = target, description, live
        self.capture = self._open()
        fps = self.capture.get(cv2.CAP_PROP_FPS) if self.capture is not None else 0
        self.fps = float(fps) if fps and 0 < fps < 1000 else None

    def _open(self) -> cv2.VideoCapture | None:
        capture = cv2.VideoCapture(self.target)
        if not capture.isOpened():
            capture.release()
            return None
        if self.live:
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver's own queue adds latency; we keep the newest
        return capture

    def read(self) -> np.ndarray | None:
        if self.capture is None:
            return None
        ok, frame = self.capture.read()
        if not ok or frame is None:
            return None
        if frame.ndim == 2:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB if frame.shape[2] == 4 else cv2.COLOR_BGR2RGB)

    def reopen(self) -> bool:
        self.close()
        self.capture = self._open()
        return self.capture is not None

    def rewind(self) -> bool:
        return not self.live and self.capture is not None and self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None


class FolderSource(FrameSource):
    """The images of a folder, in name order, as frames."""

    def __init__(self, folder: Path) -> None:
        self.paths = list_images(folder)
        if not self.paths:
            raise SourceError(f"{folder}: no images in this folder")
        self.description, self.position = f"{folder} ({len(self.paths)} images)", 0
        self.problems: list[str] = []  # one line per unreadable file (each once, however often the folder loops)
        self.bad: set[Path] = set()

    def read(self) -> np.ndarray | None:
        while self.position < len(self.paths):
            path = self.paths[self.position]
            self.position += 1
            try:
                image = read_image(path, channels=3)
            except DataError as e:  # skipped, as a dropped frame, and said once (see ``skipped``)
                if path not in self.bad:
                    self.bad.add(path)
                    self.problems.append(str(e))
                continue
            return image
        return None

    def skipped(self) -> list[str]:
        return self.problems

    def rewind(self) -> bool:
        self.position = 0
        return True


def _quiet_opencv() -> None:
    """OpenCV logs a warning for every camera index that does not exist; the error message says it better."""
    if hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(1)  # errors only (the constant's name differs between OpenCV versions)


def open_camera(index: int) -> FrameSource:
    """Camera ``index``; if there is none, a one-line error naming the indices tried and any cameras found."""
    _quiet_opencv()
    source = CaptureSource(index, f"camera {index}", live=True)
    if source.capture is not None and source.read() is not None:
        return source
    source.close()
    tried = sorted({*range(CAMERAS_PROBED), index})
    found = []
    for other in tried:
        if other != index:
            probe = cv2.VideoCapture(other)
            if probe.isOpened():
                found.append(other)
            probe.release()
    where = f"cameras found at {', '.join(map(str, found))}" if found else "no camera found"
    raise SourceError(f"no camera at index {index} (tried indices {', '.join(map(str, tried))}: {where}); "
                      "`i2i doctor` lists the camera devices and their permissions")


def open_source(spec: str) -> FrameSource:
    """A frame source from the ``--source`` grammar (see the module docstring)."""
    if spec.strip().isdigit():
        return open_camera(int(spec))
    if "://" in spec:
        source = CaptureSource(spec, spec, live=True)
        if source.capture is None:
            raise SourceError(f"{spec}: cannot open this stream")
        return source
    path = Path(spec).expanduser()
    if path.is_dir():
        return FolderSource(path)
    if not path.exists():
        raise SourceError(f"{spec}: no such file or folder (a camera is given by its index: --source 0)")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{spec}: not readable")
    if is_image_file(path.name):
        raise SourceError(f"{spec}: a single image; use `i2i translate {spec}`, or give a folder of images")
    _quiet_opencv()
    source = CaptureSource(str(path), str(path), live=False)
    if source.capture is None or source.read() is None:
        source.close()
        raise SourceError(f"{spec}: not a video OpenCV can read")
    source.rewind()
    return source
