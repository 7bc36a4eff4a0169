"""Recording what the live window shows to a video file that is complete however the session ends.

Frames go to a temporary file beside the target, which is closed, synced and renamed into place by ``finish()``
(called from a ``finally``, so Ctrl-C and a lost camera still leave a playable file; a session that shows no
frame leaves no file).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path

import cv2
import numpy as np

from ..errors import ConfigError
from ..fileio import atomic_path, check_writable

CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


class Recorder:
    """Writes BGR frames (OpenCV's order) of one size to ``path`` at ``fps``.

    With ``realtime``, each frame is written as many times as the frame rate asks for the time it was shown,
    so a recording of a camera plays at the speed things happened even when the model ran slower.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float, realtime: bool) -> None:
        self.path = check_record_path(path)
        self.fps, self.realtime = fps, realtime
        self.writer: cv2.VideoWriter | None = None
        self.target: AbstractContextManager[Path] | None = None  # the atomic_path the writer fills
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self.start = 0.0

    def write(self, picture: np.ndarray, now: float) -> None:
        height, width = picture.shape[:2]
        if self.writer is None:
            self._open(width, height)
            self.start = now
        if (width, height) != self.size:  # a view or model change: keep the recording's size
            picture = cv2.resize(picture, self.size)
        copies = 1
        if self.realtime:
            copies = max(1, round((now - self.start) * self.fps) + 1 - self.frames)
        for _ in range(copies):
            self.writer.write(picture)  # type: ignore[union-attr]
        self.frames += copies

    def _open(self, width: int, height: int) -> None:
        self.target = atomic_path(self.path, suffix=self.path.suffix)
        try:
            temp = self.target.__enter__()
        except OSError as e:  # the folder became unwritable since the session started
            self.target = None
            raise ConfigError(f"--record {self.path}: cannot write in {self.path.parent} ({e.strerror or e})") from None
        self.size = (width, height)
        fourcc = cv2.VideoWriter_fourcc(*CODECS[self.path.suffix.lower()])
        self.writer = cv2.VideoWriter(str(temp), fourcc, self.fps, self.size)
        if not self.writer.isOpened():
            self.writer = None
            error = ConfigError(f"--record {self.path}: OpenCV cannot write this format here")
            self.target.__exit__(ConfigError, error, None)  # removes the temporary file
            raise error

    def finish(self) -> Path | None:
        """Close the file and move it into place; the path, or None when no frame was written."""
        if self.writer is None or self.target is None:
            return None
        self.writer.release()
        self.writer = None
        self.target.__exit__(None, None, None)
        return self.path


def check_record_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if a recording can be written there, else a one-line ConfigError naming it."""
    target = Path(path)
    if target.suffix.lower() not in CODECS:
        raise ConfigError(f"--record {path}: use one of {', '.join(CODECS)} (the extension picks the codec)")
    if not target.parent.is_dir():
        raise ConfigError(f"--record {path}: no folder {target.parent}")
    check_writable(target, "--record")
    return target
