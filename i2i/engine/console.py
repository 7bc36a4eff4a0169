"""A console whose loss does not cost a run: writes to a closed pipe or a hung-up terminal stop training cleanly.

``i2i train ... | head`` closes standard output after a few lines; ``| tee log`` dies with the same Ctrl-C as i2i; a
dropped SSH session leaves a terminal that fails every write. Python raises the error from whatever ``print`` was
running, mid-step or mid-save. Inside ``guarded_console`` a write that fails makes the stream's file descriptor
point at /dev/null (so that nothing, not even the interpreter's last flush, fails again), sends what stdout still
has to say to stderr (the summary and how to resume reach the terminal when only the pipe is gone), and calls
``on_lost`` once, which asks the run to stop after its step.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO


class _Guarded:
    """A text stream that, on its first failed write or flush, turns to ``fallback`` (None: drops the text).

    The text written since the last flush that succeeded is kept (its last ``KEEP`` characters), since it may
    still sit in the stream's buffer when the pipe fails: it goes to ``fallback`` first, so a summary printed
    just before the failing flush is not lost."""

    KEEP = 65536

    def __init__(self, stream: TextIO, fallback: _Guarded | None, on_lost: Callable[[], None]) -> None:
        self.stream, self.fallback, self.on_lost = stream, fallback, on_lost
        self.lost = False
        self.unflushed = ""

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                written = self.stream.write(text)
            except OSError:
                self._lose()
            else:
                self.unflushed = (self.unflushed + text)[-self.KEEP:]
                return written
        if self.fallback is not None:
            self.fallback.write(text)
        return len(text)

    def flush(self) -> None:
        if self.lost:
            if self.fallback is not None:
                self.fallback.flush()
            return
        try:
            self.stream.flush()
        except OSError:
            self._lose()
        else:
            self.unflushed = ""

    def _lose(self) -> None:
        self.lost = True
        with contextlib.suppress(OSError, ValueError):  # a stream without a descriptor keeps its buffer
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.stream.fileno())
            os.close(null)
        if self.fallback is not None and self.unflushed:
            self.fallback.write(self.unflushed)
        self.unflushed = ""
        self.on_lost()

    def isatty(self) -> bool:
        return not self.lost and self.stream.isatty()

    def __getattr__(self, name: str) -> Any:  # fileno, encoding, ...: the real stream's
        return getattr(self.stream, name)


@contextlib.contextmanager
def guarded_console(on_lost: Callable[[], None]) -> Iterator[None]:
    """Inside the block, sys.stdout and sys.stderr survive being closed (see the module docstring)."""
    stdout, stderr = sys.stdout, sys.stderr
    if stdout is None or stderr is None:  # pythonw: nothing to guard
        yield
        return
    called = []

    def once() -> None:
        if not called:
            called.append(True)
            on_lost()

    sys.stderr = guarded_err = _Guarded(stderr, None, once)  # type: ignore[assignment]
    sys.stdout = _Guarded(stdout, guarded_err, once)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr
