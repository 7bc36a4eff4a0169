"""The app and the --web folder in a real browser: Debian's headless Chromium, with a fake camera playing a clip
the test writes. The live page in both modes shows frames and figures; an image translated in the browser
equals Python ONNX Runtime's output; the static folder works from `python -m http.server`; every page renders
something (screenshots checked), logs no error and asks nothing of another origin."""

from __future__ import annotations

import base64
import io
import re
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette")

from app_support import inked, photo, write_y4m
from browser import CHROMIUM, Chromium, Page

from i2i.app import ortweb
from i2i.cli.main import main
from i2i.infer import OnnxModel, Translator
from i2i.infer.model import to_model_range

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (.ci/run installs it)"),
              pytest.mark.skipif(ortweb.installed_version() != ortweb.Pin.read().version,
                                 reason="onnxruntime-web is not fetched (make ort-web)")]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """One Chromium for the module; its camera plays 2 s of a photo panning, 320x240 at 30 frames/s."""
    clip = tmp_path_factory.mktemp("camera") / "clip.y4m"
    wide = photo(240, 640)
    write_y4m(clip, [np.ascontiguousarray(np.roll(wide, 5 * i, axis=1)[:, :320]) for i in range(60)])
    with Chromium(camera=clip) as chromium:
        yield chromium


def fresh(page: Page, url: str) -> int:
    """Open ``url``; the number of errors and requests seen before, to look at this page's alone."""
    before = len(page.errors), len(page.requests)
    page.goto(url)
    return before


def check_clean(page: Page, origin: str, since: tuple[int, int]) -> None:
    errors = page.errors[since[0]:]
    assert not errors, errors  # no exception, console error, or refused load (CSP)
    foreign = [u for u in page.requests[since[1]:] if not u.startswith((origin, "blob:", "data:"))]
    assert not foreign, foreign  # nothing from another origin


def shot_of(page: Page, selector: str) -> tuple[bytes, tuple[int, int, int, int]]:
    """A screenshot with the element ``selector`` scrolled into view, and the element's box in it."""
    rect = page.evaluate(f"(() => {{ const e = document.querySelector('{selector}'); e.scrollIntoView(); "
                         "const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()")
    x, y, w, h = (round(v) for v in rect)
    return page.screenshot(), (x, y, w, h)


def inked_at(page: Page, selector: str) -> float:
    return inked(*shot_of(page, selector))


def python_reference(model_path: Path, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Python ONNX Runtime on ``image`` as Translator runs it: (float output (C, H, W), uint8 output, range)."""
    model = OnnxModel(model_path, "cpu")
    h, w = image.shape[:2]
    m = model.info.size_multiple
    x = cv2.copyMakeBorder(to_model_range(image, model.info.range), 0, -(-h // m) * m - h, 0, -(-w // m) * m - w,
                           cv2.BORDER_REFLECT_101)
    values = model(x.transpose(2, 0, 1)[None])[0][:, :h, :w]
    return values, Translator(model, tile=0)(image), model.info.range


def check_parity(page: Page, state: str, model_path: Path, image: np.ndarray) -> None:
    """The page's last in-browser result against Python ONNX Runtime: floats within 1e-3, and the same uint8
    rounding (pixels differ only where the float output sits within 1e-3 of a rounding step)."""
    values, pixels, (low, high) = python_reference(model_path, image)
    c, h, w = values.shape
    got = np.array(page.evaluate(f"Array.from({state}.last.values)"), np.float32).reshape(c, h, w)
    rgba = np.array(page.evaluate(f"Array.from({state}.last.rgba)"), np.uint8).reshape(h, w, 4)
    assert page.evaluate(f"[{state}.last.width, {state}.last.height]") == [w, h]
    error = float(np.abs(got - values).max())
    assert error <= 1e-3, error
    gain = 255 / (high - low)
    levels = ((values - low) * gain + 0.5).transpose(1, 2, 0)
    near_step = np.abs(levels - np.round(levels)) < 1e-3 * gain
    differs = rgba[:, :, :3] != pixels
    assert not (differs & ~near_step).any() and np.abs(rgba[:, :, :3].astype(int) - pixels).max() <= 1


def choose(page: Page, select: str, value: str) -> None:
    page.evaluate(f"(() => {{ const s = document.getElementById('{select}'); s.value = '{value}'; "
                  "s.dispatchEvent(new Event('change')); })()")


def test_live_page_in_the_browser_and_on_the_server(app_server: Any, browser: Chromium) -> None:
    page = browser.page
    for mode in ("browser", "server"):
        since = fresh(page, f"{app_server.url}/live")
        page.wait_for("!document.getElementById('start').disabled")
        choose(page, "model", "resnet")
        page.evaluate(f"document.querySelector('input[value={mode}]').click()")
        page.evaluate("document.getElementById('start').click()")
        live = page.wait_for("i2iLive.error || (i2iLive.frames >= 12 && i2iLive)", timeout=90)
        assert live["error"] is None and live["mode"] == mode, live
        assert live["fps"] > 1 and live["model_ms"] > 0 and live["latency_ms"] > 0, live
        figures = page.evaluate("document.getElementById('figures').textContent")
        shown = re.search(r" FPS · model \d+ ms · latency \d+ ms · (\d+) frames", figures)
        assert shown and int(shown.group(1)) >= 12, figures
        if mode == "browser":
            assert live["backend"] == "wasm" and page.evaluate("self.crossOriginIsolated")  # threads allowed
            assert live["threads"] == min(8, page.evaluate("navigator.hardwareConcurrency"))
        else:
            assert live["backend"] == "CPUExecutionProvider" and "dropped" in figures
        shot, (x, y, w, h) = shot_of(page, "#view")
        assert w > 400 and h == 480
        assert inked(shot, (x, y, w, h)) > 0.9  # the picture fills the canvas: input | output
        picture = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_COLOR)[y:y + h, x:x + w]
        left, right = picture[:, : w // 2].astype(int), picture[:, w // 2:].astype(int)
        assert np.abs(left - right).mean() > 10  # the output half is not the camera's picture
        page.evaluate("document.getElementById('stop').click()")
        stopped = page.evaluate("i2iLive.frames")
        time.sleep(1.0)
        assert page.evaluate("i2iLive.frames") <= stopped + 1  # no more frames (one may have been on its way)
        check_clean(page, app_server.url, since)
    deadline = time.monotonic() + 10
    while app_server.json("/api/status")["live"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app_server.json("/api/status")["live"] == 0  # the page's socket was closed and freed


def test_translate_page_in_the_browser_matches_python_and_zips_results(app_server: Any, app_home: Path,
                                                                        browser: Chromium, tmp_path: Path) -> None:
    page = browser.page
    since = fresh(page, f"{app_server.url}/")
    page.wait_for("window.i2iTranslate && i2iTranslate.ready")
    image = photo(45, 70)  # not a multiple of either model's size: padding and cropping are exercised
    cv2.imwrite(str(tmp_path / "photo.png"), image[:, :, ::-1])
    page.evaluate("document.querySelector('input[value=browser]').click()")
    for count, name in enumerate(("unet", "resnet"), start=1):
        choose(page, "model", name)
        page.set_files("#files", [tmp_path / "photo.png"])
        page.wait_for(f"i2iTranslate.done + i2iTranslate.failed === {count}", timeout=90)
        assert page.evaluate("i2iTranslate.errors") == []
        check_parity(page, "i2iTranslate", app_home / "models" / name / "model.onnx", image)
    page.evaluate("document.querySelector('input[value=server]').click()")
    page.set_files("#files", [tmp_path / "photo.png"])
    page.evaluate("document.querySelector('#folder').options[1].selected = true; "
                  "document.getElementById('pick').click()")
    page.wait_for("i2iTranslate.done + i2iTranslate.failed === 4", timeout=60)
    assert page.evaluate("[i2iTranslate.done, i2iTranslate.errors]") == [4, []]
    # "download all": the page's zip of its results, read back by Python's zipfile
    archive = page.evaluate("""(async () => {
        const bytes = new Uint8Array(await (await i2iTranslate.zip()).arrayBuffer());
        let text = ''; for (const b of bytes) text += String.fromCharCode(b);
        return btoa(text); })()""")
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(archive))) as z:
        assert z.testzip() is None
        names = z.namelist()
        assert len(names) == 4 and "b_resnet.jpg" in names and "photo_unet.png" in names
        assert len(set(names)) == 4  # two results of one name are told apart
        decoded = cv2.imdecode(np.frombuffer(z.read("b_resnet.jpg"), np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (64, 64, 3)
    assert inked_at(page, ".result") > 0.5  # before/after pictures drawn
    check_clean(page, app_server.url, since)


def test_webgpu_when_the_browser_has_it(app_server: Any, tmp_path: Path) -> None:
    """Chromium's WebGPU on SwiftShader (its CPU Vulkan): the page picks WebGPU, and the output still matches."""
    with Chromium("--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-webgpu-adapter=swiftshader") as gpu:
        page = gpu.page
        since = fresh(page, f"{app_server.url}/")
        if not page.evaluate("(async () => !!(navigator.gpu && await navigator.gpu.requestAdapter()))()"):
            pytest.skip("this Chromium offers no WebGPU adapter, even on SwiftShader")
        page.wait_for("window.i2iTranslate && i2iTranslate.ready")
        image = photo(20, 28)
        cv2.imwrite(str(tmp_path / "small.png"), image[:, :, ::-1])
        page.evaluate("document.querySelector('input[value=browser]').click()")
        choose(page, "model", "resnet")
        page.set_files("#files", [tmp_path / "small.png"])
        page.wait_for("i2iTranslate.done + i2iTranslate.failed === 1", timeout=120)
        assert page.evaluate("[i2iTranslate.backend, i2iTranslate.errors]") == ["webgpu", []]
        check_parity(page, "i2iTranslate", app_server.state.catalog.get("resnet").path, image)
        check_clean(page, app_server.url, since)


def test_sample_and_runs_pages(app_server: Any, browser: Chromium) -> None:
    page = browser.page
    since = fresh(page, f"{app_server.url}/sample")
    page.wait_for("!document.getElementById('go').disabled")
    assert page.evaluate("document.getElementById('label-box').hidden") is False  # a conditional model
    page.evaluate("document.getElementById('go').click()")
    page.wait_for("i2iSample.done === 1 && document.getElementById('sheet').naturalWidth > 0")
    assert page.evaluate("document.getElementById('sheet').naturalWidth") == 8 * 8 + 7 * 2  # a row of 8 per class
    assert inked_at(page, "#sheet") > 0.2
    check_clean(page, app_server.url, since)
    since = fresh(page, f"{app_server.url}/runs")
    page.wait_for("i2iRuns.count === 3 && [...document.images].every((i) => i.complete && i.naturalWidth > 0)")
    assert page.evaluate("document.images.length") == 3
    assert inked_at(page, ".run") > 0.2
    check_clean(page, app_server.url, since)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_web_folder_works_from_a_plain_static_server(app_home: Path, browser: Chromium, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("I2I_HOME", str(app_home))
        assert main(["models", "web", "unet", str(site)]) == 0
    assert "python -m http.server" in capsys.readouterr().out
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                               str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    origin = f"http://127.0.0.1:{port}"
    try:
        page = browser.page
        deadline = time.monotonic() + 20
        while True:  # until the server answers
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "http.server did not start"
                time.sleep(0.1)
        since = fresh(page, f"{origin}/")
        page.wait_for("i2iWeb.ready || i2iWeb.errors.length", timeout=60)
        assert page.evaluate("i2iWeb.errors") == []
        # python -m http.server sends no isolation headers: one thread, and the page says why
        assert page.evaluate("[self.crossOriginIsolated, i2iWeb.threads]") == [False, 1]
        assert "cross-origin isolation" in page.evaluate("document.getElementById('about').textContent")
        image = photo(45, 70)
        cv2.imwrite(str(tmp_path / "photo.png"), image[:, :, ::-1])
        page.set_files("#files", [tmp_path / "photo.png"])
        page.wait_for("i2iWeb.done + i2iWeb.failed === 1", timeout=60)
        check_parity(page, "i2iWeb", app_home / "models" / "unet" / "model.onnx", image)
        assert inked_at(page, ".result") > 0.5  # before/after drawn
        page.evaluate("document.getElementById('start').click()")
        live = page.wait_for("i2iWeb.errors.length ? i2iWeb.errors : i2iWeb.live.frames >= 8 && i2iWeb.live",
                             timeout=60)
        assert isinstance(live, dict) and live["fps"] > 1, live
        assert inked_at(page, "#view") > 0.9
        page.evaluate("document.getElementById('stop').click()")
        check_clean(page, origin, since)
    finally:
        server.terminate()
        server.wait(timeout=10)
