"""A capture thread that hands the display loop the newest frame, so a slow model never builds a backlog.

Live sources (cameras, streams, and files played with ``realtime``) overwrite an unread frame with a newer
one and count it as dropped: what the model sees is always at most one frame old. Files played as fast as the
model goes are decoded one frame ahead and nothing is dropped, so each frame is translated once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from .sources import FrameSource

RECONNECT_ATTEMPTS = 5
RECONNECT_WAIT = 0.5  # seconds between attempts to reopen a camera or stream


@dataclass
class Frame:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    index: int  # position among the frames read from the source
    captured: float  # time.perf_counter() when it was read


class FrameSlot:
    """Holds at most one frame. ``drop_stale``: a new frame replaces an unread one; otherwise ``put`` waits."""

    def __init__(self, drop_stale: bool) -> None:
        self.drop_stale = drop_stale
        self.frame: Frame | None = None
        self.dropped = 0
        self.closed: str | None = None  # why no more frames will come
        self.condition = threading.Condition()

    def put(self, frame: Frame) -> bool:
        """Offer a frame; False once the slot is closed (the reader stopped)."""
        with self.condition:
            if not self.drop_stale:
                self.condition.wait_for(lambda: self.frame is None or self.closed is not None)
                frame.captured = time.perf_counter()  # read ahead; its wait for a free slot is not latency
            if self.closed is not None:
                return False
            if self.frame is not None:
                self.dropped += 1
            self.frame = frame
            self.condition.notify_all()
            return True

    def take(self, timeout: float | None = None) -> Frame | None:
        """The newest frame, waiting for one; None when the slot is closed and empty, or on timeout."""
        with self.condition:
            self.condition.wait_for(lambda: self.frame is not None or self.closed is not None, timeout)
            frame, self.frame = self.frame, None
            self.condition.notify_all()
            return frame

    def close(self, reason: str) -> None:
        with self.condition:
            if self.closed is None:
                self.closed = reason
            self.condition.notify_all()


class CaptureThread(threading.Thread):
    """Reads ``source`` into ``slot`` until the source ends, fails for good, or ``stop()`` is called.

    A live source that stops delivering is reopened up to ``attempts`` times; ``realtime`` paces a file as a
    camera would deliver it; ``loop`` replays a file from the start.
    """

    def __init__(self, source: FrameSource, slot: FrameSlot, realtime: float | None = None, loop: bool = False,
                 attempts: int = RECONNECT_ATTEMPTS, wait: float = RECONNECT_WAIT) -> None:
        """``realtime``: frames per second to pace a file at (0: its own rate); None reads it on demand."""
        super().__init__(name="i2i-capture", daemon=True)
        self.source, self.slot, self.loop = source, slot, loop
        pace = (realtime or source.fps or 25.0) if realtime is not None and not source.live else 0.0
        self.interval = 1.0 / pace if pace else 0.0
        self.attempts, self.wait = attempts, wait
        self.stopping = threading.Event()
        self.pending: np.ndarray | None = None  # the frame read when a reconnect was tested
        # read by the session, written here: under a lock, and frozen by stop(), so what the session reads after
        # stop() is final even when a slow read keeps this thread alive past the session's wait for it
        self._lock = threading.Lock()
        self._reconnects = 0
        self._lost = False

    @property
    def reconnects(self) -> int:
        """Attempts made to reopen a camera or stream (final once ``stop()`` has returned)."""
        with self._lock:
            return self._reconnects

    @property
    def lost(self) -> bool:
        """Whether the source failed for good, not by an ordinary end or stop (final once ``stop()`` has returned)."""
        with self._lock:
            return self._lost

    def stop(self) -> None:
        """Ask the thread to end; from here on the counts it reports no longer change."""
        with self._lock:
            self.stopping.set()
        self.slot.close("stopped")

    def _count_reconnect(self) -> bool:
        with self._lock:
            if self.stopping.is_set():
                return False
            self._reconnects += 1
            return True

    def _mark_lost(self) -> None:
        with self._lock:
            if not self.stopping.is_set():
                self._lost = True

    def run(self) -> None:
        index, start = 0, time.perf_counter()
        try:
            while not self.stopping.is_set():
                if self.interval:
                    delay = start + index * self.interval - time.perf_counter()
                    if delay > 0 and self.stopping.wait(delay):
                        break
                image, self.pending = (self.pending, None) if self.pending is not None else (self.source.read(), None)
                if image is None:
                    reason = self._recover()
                    if reason:
                        self.slot.close(reason)
                        return
                    continue
                if not self.slot.put(Frame(image, index, time.perf_counter())):
                    return
                index += 1
        except Exception as e:  # a decoder crash ends the session with its message, not a hung display loop
            self._mark_lost()
            self.slot.close(f"{self.source.description}: {e}")
        finally:
            self.slot.close("stopped")
            self.source.close()  # here, not by the session: a read may outlast the session's wait for this thread

    def _recover(self) -> str | None:
        """None when reading can go on; otherwise why the source has ended."""
        if not self.source.live:
            if self.loop and self.source.rewind():
                return None
            return "end of source"
        for _ in range(self.attempts):
            if self.stopping.wait(self.wait) or not self._count_reconnect():
                return "stopped"
            if self.source.reopen() and (image := self.source.read()) is not None:
                self.pending = image
                return None
        self._mark_lost()
        return f"{self.source.description} stopped delivering frames (gave up after {self.attempts} reconnects)"
