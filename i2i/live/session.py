"""The live loop: newest frame -> model -> picture -> window and/or recording, with figures and keys.

Capture runs on its own thread (see ``capture``); the model, drawing and the window run on the main thread,
as OpenCV's GUI requires. Keys in the window: q or Esc quit, s snapshot, m next model, space pause, v next view;
in the split view, drag with the mouse to move the divider.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .. import __version__, doctor
from ..errors import DisplayError, I2IError
from ..fileio import atomic_write_text
from ..images import round_up, write_image
from ..infer.model import OnnxModel
from ..infer.translate import Translator
from .capture import RECONNECT_ATTEMPTS, RECONNECT_WAIT, CaptureThread, FrameSlot
from .recorder import Recorder, check_writable
from .sources import FrameSource
from .view import DISPLAY_HEIGHT, FITS, VIEWS, Fitted, compose, fit, overlay

WINDOW = "i2i"
KEY_ESC = 27


def check_display() -> None:
    """Raise DisplayError unless OpenCV can open a window (checked first: OpenCV aborts the process otherwise)."""
    if not doctor.gui_backend(doctor.opencv_build_information()):
        raise DisplayError(f"this OpenCV is the headless build (no windows): {doctor.opencv_gui_fix()}; or run with "
                           "--no-window (`i2i doctor` checks the set-up)")
    problem = doctor.display_problem()
    if problem:
        raise DisplayError(f"no display here ({problem}): run with --no-window, and --record and/or --report to "
                           "keep the results (`i2i doctor` checks the set-up)")


def _point_qt_at_system_fonts() -> None:
    """OpenCV's Qt looks for fonts inside the cv2 package, which ships none, and warns on every window."""
    bundled = Path(cv2.__file__).parent / "qt" / "fonts"
    if "QT_QPA_FONTDIR" in os.environ or bundled.is_dir():
        return
    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype", "/usr/share/fonts"):
        if Path(folder).is_dir():
            os.environ["QT_QPA_FONTDIR"] = folder
            return


def _open_window(on_mouse: Callable[..., None]) -> None:
    """Create the window; an OpenCV that cannot (no GUI backend after all) is a DisplayError, not a traceback."""
    _point_qt_at_system_fonts()
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        cv2.setMouseCallback(WINDOW, on_mouse)
    except cv2.error as e:
        reason = str(e).strip().splitlines()[-1][:160] if str(e).strip() else "no details"
        raise DisplayError(f"OpenCV cannot open a window ({reason}): run with --no-window (`i2i doctor` checks "
                           "the set-up)") from None


@dataclass
class LiveOptions:
    """How a live session runs (the ``i2i webcam`` flags)."""

    size: int | None = None  # model input side (default: see ``default_side``), rounded to its multiple
    fit: str = "crop"  # crop | pad: how a frame is made square
    view: str = "side"  # side | output | split
    window: bool = True
    frames: int | None = None  # stop after this many frames shown
    record: Path | None = None
    report: Path | None = None
    realtime: float | None = None  # play files at this rate (0: their own), dropping what the model misses
    loop: bool = False  # replay files from the start
    device: str = "auto"
    snapshots: Path = Path(".")
    reconnect_attempts: int = RECONNECT_ATTEMPTS  # a lost camera or stream is reopened this many times
    reconnect_wait: float = RECONNECT_WAIT  # seconds between attempts


@dataclass
class LiveReport:
    """What a session did; written as JSON by ``--report``."""

    model: str
    source: str
    provider: str
    size: int
    view: str
    frames: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)  # frame read -> picture shown
    model_ms: dict[str, float] = field(default_factory=dict)  # the model's run alone
    dropped_frames: int = 0
    skipped_files: int = 0  # unreadable images a folder source passed over (each named as it happened)
    reconnects: int = 0
    stopped: str = ""
    source_lost: bool = False
    recording: str | None = None
    recorded_frames: int = 0
    i2i_version: str = __version__
    finished: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def _summary(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {}
    ordered = sorted(values_ms)
    return {"p50": round(statistics.median(ordered), 2), "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "mean": round(statistics.fmean(ordered), 2), "max": round(ordered[-1], 2)}


def default_side(scale: int, train_size: int) -> int:
    """The model input side when --size is not given: the training size, or for a model that upscales, the side
    whose output fills the window's height (an x4 model trained on 32-pixel inputs would show a thumbnail)."""
    return train_size if scale == 1 else -(-DISPLAY_HEIGHT // scale)


class ModelCycle:
    """The ``--model`` list, opened one at a time as the user switches (``m``)."""

    def __init__(self, models: list[tuple[str, Path]], device: str, size: int | None) -> None:
        if not models:
            raise I2IError("no model given")
        self.models, self.device, self.size = models, device, size
        self.position = 0
        self.open: dict[int, tuple[Translator, int]] = {}

    @property
    def name(self) -> str:
        return self.models[self.position][0]

    def current(self) -> tuple[Translator, int]:
        """The current model's translator and input side, opened and warmed up on first use."""
        if self.position not in self.open:
            name, path = self.models[self.position]
            model = OnnxModel(path, self.device, name=name, spin=False)  # the capture thread needs a core too
            multiple = model.info.size_multiple
            side = round_up(self.size or default_side(model.info.scale, model.info.train_size), multiple)
            translator = Translator(model, tile=0)
            translator(np.zeros((side, side, 3), np.uint8))  # the first run allocates; keep it off the clock
            self.open[self.position] = (translator, side)
        return self.open[self.position]

    def next(self) -> None:
        self.position = (self.position + 1) % len(self.models)


class LiveSession:
    """Runs ``models`` on ``source`` until the frames, the source or the user end it; ``run()`` -> report."""

    def __init__(self, models: list[tuple[str, Path]], source: FrameSource, source_name: str,
                 options: LiveOptions, say: Callable[[str], None] = print) -> None:
        if options.view not in VIEWS:
            raise I2IError(f"--view {options.view}: choose {', '.join(VIEWS)}")
        if options.fit not in FITS:
            raise I2IError(f"--fit {options.fit}: choose {', '.join(FITS)}")
        self.source, self.source_name, self.options, self.say = source, source_name, options, say
        self.models = ModelCycle(models, options.device, options.size)
        self.view, self.split, self.paused = options.view, 0.5, False
        self.picture: np.ndarray | None = None  # what is shown (RGB) ...
        self.bgr: np.ndarray | None = None  # ... and in OpenCV's order, for the window and the recording
        self.keep_bgr = False
        self.last: tuple[Fitted, np.ndarray, float] | None = None  # the newest frame: redrawn on pause or view
        self.window_size: tuple[int, int] | None = None
        self.snapshots = 0
        self.recent: deque[float] = deque(maxlen=30)  # times the last pictures were shown, for the on-screen FPS
        self.interrupted = False

    def run(self) -> LiveReport:
        options = self.options
        try:  # everything that can refuse to start, before the capture thread takes over the source
            if options.window:
                check_display()
            realtime = self.source.live or options.realtime is not None
            fps = options.realtime or self.source.fps or 30.0
            recorder = Recorder(options.record, fps, realtime) if options.record else None
            if options.report:
                check_writable(options.report, "--report")
            translator, side = self.models.current()
        except BaseException:
            self.source.close()
            raise
        slot = FrameSlot(drop_stale=realtime)
        capture = CaptureThread(self.source, slot, realtime=options.realtime, loop=options.loop,
                                attempts=options.reconnect_attempts, wait=options.reconnect_wait)
        self.keep_bgr = options.window or recorder is not None
        latencies: list[float] = []
        model_times: list[float] = []
        stopped, shown, started, last = "end of source", 0, time.perf_counter(), time.perf_counter()
        self.interrupted = False
        on_main_thread = threading.current_thread() is threading.main_thread()
        if on_main_thread:  # Ctrl-C ends the loop between frames, so the recording and report are complete
            previous_handler = signal.signal(signal.SIGINT, self._interrupt)
        capture.start()  # from here the capture thread owns the source, and closes it
        said = 0  # skipped files of a folder source already named
        try:
            if options.window:
                _open_window(self._on_mouse)
            while options.frames is None or shown < options.frames:
                said = self._say_skipped(said)
                if self.interrupted:
                    stopped = "interrupted"
                    break
                frame = None
                if not self.paused:  # paused: files wait, cameras keep dropping frames in the capture thread
                    frame = slot.take(timeout=0.03 if options.window else 0.2)
                    if frame is None and slot.closed is not None:
                        stopped = slot.closed
                        break
                if frame is not None:
                    fitted = fit(frame.image, side, options.fit)
                    begin = time.perf_counter()
                    output = translator(fitted.image)
                    model_times.append(1000 * (time.perf_counter() - begin))
                    self.last = (fitted, output, model_times[-1])
                    self._render()
                    last = time.perf_counter()
                    latencies.append(1000 * (last - frame.captured))
                    self.recent.append(last)
                    shown += 1
                    if recorder is not None:
                        recorder.write(self.bgr, last)
                if options.window and self.picture is not None:
                    action = self._handle_window(new_picture=frame is not None)
                    if action == "quit":
                        stopped = "quit"
                        break
                    if action == "model":
                        translator, side = self._switch_model()
            else:
                stopped = f"{options.frames} frames"
        finally:
            if on_main_thread:
                signal.signal(signal.SIGINT, previous_handler)
            capture.stop()  # freezes its counts: read below, they are final even if a slow read outlasts the join
            capture.join(timeout=2)
            said = self._say_skipped(said)
            recording = recorder.finish() if recorder is not None else None
            if options.window:
                cv2.destroyAllWindows()
                cv2.waitKey(1)
        seconds = last - started
        report = LiveReport(
            model=self.models.name, source=self.source_name, provider=translator.model.provider, size=side,
            view=self.view, frames=shown, seconds=round(seconds, 3),
            fps=round(shown / seconds, 2) if shown and seconds > 0 else 0.0, latency_ms=_summary(latencies),
            model_ms=_summary(model_times), dropped_frames=slot.dropped, skipped_files=said,
            reconnects=capture.reconnects,
            stopped=stopped, source_lost=capture.lost, recording=str(recording) if recording else None,
            recorded_frames=recorder.frames if recorder is not None else 0,
            finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
        if options.report:
            atomic_write_text(options.report, report.to_json())
        return report

    def _interrupt(self, signum: int, frame: Any) -> None:
        self.interrupted = True

    def _say_skipped(self, said: int) -> int:
        """Name the unreadable files the source passed over since the last call; the count named so far."""
        skipped = self.source.skipped()
        for line in skipped[said:]:
            self.say(f"skipped {line}")
        return max(said, len(skipped))

    def _render(self) -> None:
        """Draw the last translated frame in the current view, with the figures (and BGR for window/recording)."""
        fitted, output, model_ms = self.last
        picture = compose(fitted, output, self.view, self.split)
        fps = (len(self.recent) - 1) / (self.recent[-1] - self.recent[0]) if len(self.recent) > 1 else 0.0
        lines = [f"{self.models.name}   {fps:.1f} FPS   model {model_ms:.0f} ms"]
        if self.paused:
            lines.append("paused (space)")
        self.picture = overlay(picture, lines)
        if self.keep_bgr:
            self.bgr = cv2.cvtColor(self.picture, cv2.COLOR_RGB2BGR)

    def _handle_window(self, new_picture: bool) -> str | None:
        """Show a new picture, then read keys: 'quit', 'model' (switch), or None.

        Pause and view keys redraw the same frame and read the next key here, in a loop (not by recursion, so
        any number of them in a row, or a pause of any length, costs no stack).
        """
        while True:
            if new_picture:
                size = self.bgr.shape[1], self.bgr.shape[0]
                if size != self.window_size:  # the first picture, or a new view: the window takes its size
                    cv2.resizeWindow(WINDOW, *size)
                    self.window_size = size
                cv2.imshow(WINDOW, self.bgr)
            key = cv2.waitKey(30 if self.paused else 1) & 0xFF
            if key in (ord("q"), KEY_ESC) or cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                return "quit"
            if key == ord("s"):
                self._snapshot()
            elif key == ord("m") and len(self.models.models) > 1:
                return "model"
            elif key in (ord(" "), ord("v")):
                if key == ord(" "):
                    self.paused = not self.paused
                else:
                    self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
                self._render()  # paused or in a new view: show the same frame redrawn
                new_picture = True
                continue
            return None

    def _switch_model(self) -> tuple[Translator, int]:
        self.models.next()
        self.say(f"model: {self.models.name}")
        return self.models.current()

    def _snapshot(self) -> None:
        assert self.picture is not None
        self.snapshots += 1
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self.options.snapshots / f"i2i-{self.models.name}-{stamp}-{self.snapshots}.png"
        try:
            write_image(path, self.picture)
        except (OSError, I2IError) as e:  # a snapshot that cannot be written must not end the session
            self.say(f"snapshot not saved: {path}: {getattr(e, 'strerror', None) or e}")
            return
        self.say(f"snapshot: {path}")

    def _on_mouse(self, event: int, x: int, y: int, flags: int, param: Any) -> None:
        dragging = event == cv2.EVENT_MOUSEMOVE and flags & cv2.EVENT_FLAG_LBUTTON
        if self.view == "split" and self.picture is not None and (event == cv2.EVENT_LBUTTONDOWN or dragging):
            self.split = x / max(1, self.picture.shape[1])
