"""``i2i webcam``: headless runs on a clip written here, the latest-frame policy, camera loss, errors, a real window."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_cli

from i2i.cli.main import main
from i2i.images import write_image
from i2i.infer.translate import Translator
from i2i.live import CaptureThread, FrameSlot, FrameSource, LiveOptions, LiveSession, open_source
from i2i.live.view import VIEWS, compose, fit

CLIP_FRAMES, CLIP_SIZE = 40, (160, 120)  # width, height
RED, GREEN = (200, 0, 0), (0, 255, 0)


def clip_frame(i: int) -> np.ndarray:
    """RGB: a green disc moving across a red background."""
    frame = np.zeros((CLIP_SIZE[1], CLIP_SIZE[0], 3), np.uint8)
    frame[:] = RED
    cv2.circle(frame, (40 + 2 * i, 60), 18, GREEN, -1)
    return frame


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, CLIP_SIZE)
    for i in range(CLIP_FRAMES):
        writer.write(cv2.cvtColor(clip_frame(i), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def video_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def test_headless_run_records_and_reports(clip: Path, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    result = run_cli("webcam", "--model", str(tiny_models["resnet"]), "--source", str(clip), "--no-window",
                     "--frames", "12", "--record", str(tmp_path / "out.mp4"), "--report", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["frames"] == 12 and report["stopped"] == "12 frames" and not report["source_lost"]
    assert report["model"] == "resnet" and report["provider"] == "CPUExecutionProvider" and report["size"] == 64
    assert report["fps"] > 0 and report["latency_ms"]["p95"] >= report["latency_ms"]["p50"] > 0
    assert report["model_ms"]["p50"] > 0 and report["dropped_frames"] == 0 and report["recorded_frames"] == 12
    frames = video_frames(tmp_path / "out.mp4")
    assert len(frames) == 12 and frames[0].shape == (480, 960, 3)  # input | output, each 480x480
    left = frames[0][:, :480].reshape(-1, 3).mean(axis=0)  # BGR: the red background of the clip
    assert left[2] > 120 and left[1] < 100
    assert "12 frames" in result.stdout and not list(tmp_path.glob(".out*"))  # no temporary file left


def test_a_file_plays_every_frame_to_its_end(clip: Path, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    result = run_cli("webcam", "--model", str(tiny_models["unet"]), "--source", str(clip), "--no-window",
                     "--view", "output", "--fit", "pad", "--report", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["frames"], report["stopped"], report["dropped_frames"]) == (CLIP_FRAMES, "end of source", 0)


class FakeCamera(FrameSource):
    """A live source with its own clock (``interval`` seconds per frame) that can die and come back."""

    live = True
    description = "fake camera"

    def __init__(self, interval: float, die_after: int | None = None, come_back: bool = False) -> None:
        self.interval, self.die_after, self.come_back = interval, die_after, come_back
        self.delivered, self.alive, self.reopened = 0, True, 0
        self.fps = 1 / interval

    def read(self) -> np.ndarray | None:
        time.sleep(self.interval)
        if self.die_after is not None and self.delivered >= self.die_after and self.alive:
            self.alive = False
        if not self.alive:
            return None
        self.delivered += 1
        return clip_frame(self.delivered % CLIP_FRAMES)

    def reopen(self) -> bool:
        self.reopened += 1
        if self.come_back and self.reopened == 2:
            self.alive, self.die_after = True, None
        return self.alive


def test_a_slow_model_never_builds_a_backlog(tiny_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    original = Translator.__call__

    def slow(self: Translator, image: np.ndarray, name: str = "image") -> np.ndarray:
        time.sleep(0.08)
        return original(self, image, name)

    monkeypatch.setattr(Translator, "__call__", slow)
    camera = FakeCamera(interval=0.005)  # 200 frames/s against a model that does about 12
    report = LiveSession([("unet", tiny_models["unet"])], camera, "fake", LiveOptions(window=False, frames=10)).run()
    assert report.frames == 10
    assert report.dropped_frames > 5 * report.frames  # most frames were dropped, not queued ...
    assert report.latency_ms["max"] < 250  # ... so what is shown is at most about one model run old


def test_a_lost_camera_is_retried_then_the_session_ends_cleanly(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    camera = FakeCamera(interval=0.01, die_after=6)
    options = LiveOptions(window=False, record=tmp_path / "lost.avi", reconnect_attempts=3, reconnect_wait=0.01)
    report = LiveSession([("unet", tiny_models["unet"])], camera, "fake", options).run()
    assert report.source_lost and camera.reopened == 3 and report.reconnects == 3
    assert "gave up after 3 reconnects" in report.stopped and report.frames + report.dropped_frames == 6
    assert len(video_frames(tmp_path / "lost.avi")) == report.recorded_frames >= report.frames  # finalised, playable

    comes_back = FakeCamera(interval=0.01, die_after=4, come_back=True)
    options = LiveOptions(window=False, frames=10, reconnect_attempts=3, reconnect_wait=0.01)
    report = LiveSession([("unet", tiny_models["unet"])], comes_back, "fake", options).run()
    assert not report.source_lost and report.frames == 10 and report.reconnects == 2


def test_usage_errors_are_one_line(clip: Path, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    model = str(tiny_models["unet"])
    no_camera = run_cli("webcam", "--model", model, "--source", "7", "--no-window")
    assert no_camera.returncode == 2
    assert no_camera.stderr.strip().splitlines()[-1].startswith("error: no camera at index 7 (tried indices 0, 1, 2")
    missing = run_cli("webcam", "--model", model, "--source", str(tmp_path / "none.mp4"), "--no-window")
    assert missing.returncode == 2 and "none.mp4: no such file or folder" in missing.stderr
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    broken = run_cli("webcam", "--model", model, "--source", str(tmp_path / "broken.mp4"), "--no-window")
    assert broken.returncode == 2 and "broken.mp4: not a video OpenCV can read" in broken.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    no_display = subprocess.run([sys.executable, "-m", "i2i", "webcam", "--model", model, "--source", str(clip)],
                                capture_output=True, text=True, env=env, timeout=120)
    assert no_display.returncode == 2 and "--no-window" in no_display.stderr and "`i2i doctor`" in no_display.stderr
    assert len(no_display.stderr.strip().splitlines()) == 1 and "Traceback" not in no_display.stderr
    bad_record = run_cli("webcam", "--model", model, "--source", str(clip), "--no-window",
                         "--record", str(tmp_path / "out.gif"))
    assert bad_record.returncode == 2 and "the extension picks the codec" in bad_record.stderr


@pytest.mark.parametrize("option", ["--record", "--report"])
def test_an_unwritable_output_folder_is_one_line_before_the_session(
        clip: Path, tiny_models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, option: str) -> None:
    """A read-only folder (EROFS; EACCES for a user) is refused by name before any frame is read."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    real_open = os.open

    def read_only(path: str, flags: int, *args: int, **kwargs: object) -> int:  # as on a read-only disk
        if flags & os.O_CREAT and Path(path).parent == folder:  # (chmod would not stop root)
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only)
    target = folder / ("out.mp4" if option == "--record" else "r.json")
    code = main(["webcam", "--model", str(tiny_models["unet"]), "--source", str(clip), "--no-window",
                 "--frames", "2", option, str(target)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {option} {target}: cannot write in {folder} (Read-only file system)")
    assert not list(folder.iterdir())


def test_a_folder_source_names_the_files_it_skips(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    for i in range(3):
        write_image(tmp_path / "shots" / f"{i}.png", clip_frame(i))
    (tmp_path / "shots" / "1b.png").write_bytes(b"not an image")
    said: list[str] = []
    report = LiveSession([("unet", tiny_models["unet"])], open_source(str(tmp_path / "shots")), "shots",
                         LiveOptions(window=False), say=said.append).run()
    assert (report.frames, report.skipped_files, report.stopped) == (3, 1, "end of source")
    assert said == [f"skipped {tmp_path / 'shots' / '1b.png'}: not a readable image (corrupt, truncated or an "
                    "unsupported format)"]


def test_pause_and_view_keys_are_handled_without_recursion(clip: Path, tiny_models: dict[str, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of key presses in a row (a long pause, a held key) must not grow the stack."""
    import cv2 as opencv

    import i2i.live.session as session

    keys = iter([ord("v")] * 1501 + [ord(" ")] * 1001 + [ord("q")])
    monkeypatch.setattr(session, "check_display", lambda: None)
    for name in ("namedWindow", "setMouseCallback", "imshow", "resizeWindow", "destroyAllWindows"):
        monkeypatch.setattr(opencv, name, lambda *args: None)
    monkeypatch.setattr(opencv, "getWindowProperty", lambda *args: 1.0)
    monkeypatch.setattr(opencv, "waitKey", lambda delay: next(keys, -1))
    live = LiveSession([("unet", tiny_models["unet"])], open_source(str(clip)), "clip", LiveOptions())
    report = live.run()
    assert report.stopped == "quit" and report.frames == 1
    assert report.view == VIEWS[1501 % len(VIEWS)] and live.paused


class StuckCamera(FrameSource):
    """A camera that has died, whose reopen hangs until ``release`` is set (a driver that blocks)."""

    live = True
    description = "stuck camera"

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def read(self) -> np.ndarray | None:
        return None

    def reopen(self) -> bool:
        self.entered.set()
        self.release.wait(10)
        return False


def test_capture_counts_do_not_change_after_stop() -> None:
    """What the session reads after stop() is final, even while a slow reopen keeps the thread alive."""
    camera = StuckCamera()
    capture = CaptureThread(camera, FrameSlot(drop_stale=True), attempts=1, wait=0.01)
    capture.start()
    assert camera.entered.wait(10)
    capture.stop()
    capture.join(timeout=0.1)
    seen = (capture.lost, capture.reconnects)
    camera.release.set()
    capture.join(timeout=10)
    assert not capture.is_alive() and (capture.lost, capture.reconnects) == seen == (False, 1)


def test_fit_and_views() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, :100] = 255
    padded = fit(frame, 64, "pad")
    assert padded.image.shape == (64, 64, 3) and padded.box == (0, 16, 64, 32)
    cropped = fit(frame, 64, "crop")
    assert cropped.box == (0, 0, 64, 64) and cropped.image[:, :30].mean() > 250 and cropped.image[:, 34:].max() == 0
    output = np.full((64, 64, 3), 7, np.uint8)
    assert compose(padded, output, "side", height=100).shape == (100, 400, 3)  # the letterbox is not shown
    assert compose(padded, output, "output", height=100).shape == (100, 200, 3)
    split = compose(cropped, output, "split", split=0.25, height=100)
    assert split.shape == (100, 100, 3) and split[:, :20].mean() > 250 and split[:, 30:].max() == 7


def read_xwd(data: bytes) -> np.ndarray:
    """An X window dump (xwd, TrueColor) as an RGB array."""
    fields = struct.unpack(">25I", data[:100])
    header_size, width, height, byte_order = fields[0], fields[4], fields[5], fields[7]
    bits_per_pixel, bytes_per_line, colours = fields[11], fields[12], fields[19]
    rows = np.frombuffer(data, np.uint8, height * bytes_per_line, header_size + 12 * colours)
    pixels = rows.reshape(height, bytes_per_line)[:, : width * bits_per_pixel // 8]
    pixels = pixels.reshape(height, width, bits_per_pixel // 8)
    return pixels[:, :, [2, 1, 0]] if byte_order == 0 else pixels[:, :, -3:]


@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xwd")), reason="needs Debian's xvfb and x11-apps")
def test_window_shows_input_and_output_side_by_side(clip: Path, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        display = f":{os.read(read_fd, 16).decode().strip()}"
        env = {**os.environ, "DISPLAY": display}
        app = subprocess.Popen([sys.executable, "-m", "i2i", "webcam", "--model", str(tiny_models["resnet"]),
                                "--source", str(clip), "--loop", "--record", str(tmp_path / "shown.avi"),
                                "--report", str(tmp_path / "r.json")], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        screen = np.zeros((720, 1280, 3), np.uint8)
        deadline = time.time() + 60
        while time.time() < deadline and app.poll() is None:
            time.sleep(0.5)
            dump = subprocess.run(["xwd", "-root", "-silent"], env=env, capture_output=True, timeout=30).stdout
            screen = read_xwd(dump)
            if (screen.max(axis=2) > 0).sum() > 400 * 400:
                break
        time.sleep(0.5)
        app.send_signal(signal.SIGINT)  # Ctrl-C: the session ends cleanly and finalises its recording
        _, err = app.communicate(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert app.returncode == 0, err
    rows, cols = np.nonzero(screen.max(axis=2) > 0)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    assert (bottom - top, right - left) == (480, 960)  # the window: two 480x480 pictures side by side
    original, translated = screen[top:bottom, left:left + 480], screen[top:bottom, left + 480:right]
    red = (original[:, :, 0] > 150) & (original[:, :, 1] < 80)
    green = (original[:, :, 1] > 150) & (original[:, :, 0] < 80)
    assert red.mean() > 0.6 and green.mean() > 0.03  # the clip's red background and green disc, on the left
    assert (translated[:, :, 0] > 150).mean() < 0.5  # the model's output, on the right, is not the input
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["stopped"] == "interrupted" and report["frames"] > 0
    assert len(video_frames(tmp_path / "shown.avi")) == report["recorded_frames"] > 0
