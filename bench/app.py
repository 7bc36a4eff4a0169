#!/usr/bin/env python3
"""`i2i app` benchmark: the browser against Python ONNX Runtime, side by side in one run, on this machine.

1. Live in the browser: the Live page in headless Chromium (WebAssembly, SIMD, threads; a fake camera playing a
   640x480 clip) at a 256-pixel side, frames/s once warm, against Python ONNX Runtime's frames/s on the same file
   at the same size (batch 1, as many threads as cores). Target: at least 60%.
2. Live on the server: the same page sending frames over the WebSocket; latency from the frame's capture to the
   result drawn (p50), against the model's own latency on the server (p50). Target: at most the model + 30 ms.
3. A dropped 1-megapixel photo (1152x864 JPEG) on the Translate page, translated on the server: the time from
   the drop to the result shown, and the same request from a plain HTTP client, against Translator's own time
   on the decoded photo. Target: at most the model's time + 150 ms.

Models: the demo model (`make demo`: unet_128, ngf 32, stored as 'demo') and the compact generator
(mobile_resnet_9blocks, ngf 16, instance norm; random weights, exported as `i2i export` does: speed does not
depend on the weights). Needs torch (for the compact export) and Debian's chromium.

    .venv/bin/python bench/app.py                       # about 3 minutes on 2 cores
    .venv/bin/python bench/app.py --screenshots docs/img  # also docs/app.md's screenshots (live, translate)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch
from hardware import cpu_description

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from app_support import Running, request, write_y4m  # noqa: E402
from browser import CHROMIUM, Chromium, Page  # noqa: E402

from i2i.app import ortweb  # noqa: E402
from i2i.app.server import AppSettings  # noqa: E402
from i2i.deploy.export import ExportRequest, export_network, model_info  # noqa: E402
from i2i.hub.store import ModelStore  # noqa: E402
from i2i.images import encode_image, list_images, read_image  # noqa: E402
from i2i.infer import OnnxModel, Translator  # noqa: E402
from i2i.infer.model import to_model_range  # noqa: E402
from i2i.models import spec_for  # noqa: E402
from i2i.nn.init import init_weights  # noqa: E402

SIDE = 256


def compact_model(folder: Path) -> Path:
    torch.manual_seed(0)
    spec = spec_for("mobile_resnet_9blocks", norm="instance", ngf=16)
    net = init_weights(spec.build())
    info = model_info("cyclegan", spec, net, SIDE, "AtoB", "batch")
    path = folder / "compact.onnx"
    export_network(net, info, ExportRequest("compact", path, register=False),
                   [read_image(ROOT / "i2i" / "assets" / "parity.jpg")], [], say=lambda _: None)
    return path


def camera_clip(path: Path) -> Path:
    """A 640x480 clip panning across the bundled sample photos, 3 s at 30 frames/s."""
    pictures = [read_image(p) for p in list_images(ROOT / "datasets" / "gnome-day2night" / "val")][:6]
    strip = np.concatenate([cv2.resize(p[:, : p.shape[1] // 2], (640, 480)) for p in pictures], axis=1)
    frames = [np.ascontiguousarray(strip[:, (i * 16) % (strip.shape[1] - 640):][:, :640]) for i in range(90)]
    return write_y4m(path, frames)


def python_fps(path: Path, seconds: float) -> tuple[float, float]:  # (frames/s, median ms)
    """(frames/s, median ms) of Python ONNX Runtime alone on 256x256 frames, batch 1."""
    model = OnnxModel(path, "cpu")
    x = to_model_range(np.random.default_rng(0).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8), model.info.range)
    batch = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
    for _ in range(3):
        model(batch)
    times, start = [], time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < seconds:
        begin = time.perf_counter()
        model(batch)
        times.append(time.perf_counter() - begin)
    return len(times) / (time.perf_counter() - start), 1000 * statistics.median(times)


def live(page: Page, url: str, model: str, mode: str, seconds: float) -> dict[str, float]:
    """Run the Live page; frames/s over ``seconds`` once warm, and p50 of the model's and the frame's latency."""
    page.goto(f"{url}/live")
    page.wait_for("!document.getElementById('start').disabled")
    page.evaluate(f"(() => {{ const s = document.getElementById('model'); s.value = '{model}'; "
                  f"s.dispatchEvent(new Event('change')); document.getElementById('size').value = '{SIDE}'; "
                  f"document.querySelector('input[value={mode}]').click(); "
                  "document.getElementById('start').click(); })()")
    page.wait_for("i2iLive.error || i2iLive.frames >= 5", timeout=180)
    assert not page.evaluate("i2iLive.error"), page.evaluate("i2iLive.error")
    first = page.evaluate("[performance.now(), i2iLive.frames]")
    time.sleep(seconds)
    last = page.evaluate("[performance.now(), i2iLive.frames]")
    recent = [r for r in page.evaluate("i2iLive.recent") if r[0] >= first[0]]
    return {"fps": 1000 * (last[1] - first[1]) / (last[0] - first[0]),
            "model_ms": statistics.median(r[1] for r in recent), "latency_ms": statistics.median(r[2] for r in recent),
            "threads": page.evaluate("i2iLive.threads"), "backend": page.evaluate("i2iLive.backend")}


def stop(page: Page) -> None:
    page.evaluate("document.getElementById('stop').click()")


def photo_1mp(path: Path) -> bytes:
    picture = read_image(ROOT / "datasets" / "gnome-day2night" / "val" / "wood_r2c1.jpg")[:, :256]
    data = encode_image(cv2.resize(picture, (1152, 864), interpolation=cv2.INTER_CUBIC), ".jpg", 92)
    path.write_bytes(data)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo", help="the stored demo model (default: demo, from `make demo`)")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds each live measurement lasts")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each side is shown")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", help="write the live and translate pages' "
                                                                        "screenshots here (JPEG, 1000 px wide)")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("needs Debian's chromium (apt-get install chromium)")
    ortweb.runtime_folder()
    demo = ModelStore().get(args.model)
    if demo is None:
        sys.exit(f"no stored model '{args.model}': run `make demo` first (it trains and stores it)")
    work = Path(tempfile.mkdtemp(prefix="i2i-bench-app-"))
    try:
        store = ModelStore(work / "home")
        store.add("demo", demo.path if not (demo.path.parent / "model.weights").exists() else _joined(demo.path, work),
                  demo.card)
        store.add("compact", compact_model(work), {"task": "cyclegan", "source": "random weights (benchmark)"})
        clip = camera_clip(work / "clip.y4m")
        photo = photo_1mp(work / "photo.jpg")
        os.environ["I2I_HOME"] = str(store.root)
        app = Running(AppSettings(runs=work / "runs", max_upload_mb=20, workers=1))
        rows = []
        with Chromium(camera=clip, size=(1280, 1000)) as chromium:
            page = chromium.page
            version = chromium_version()
            for name in ("demo", "compact"):
                path = store.get(name).path
                python, browser, server = [], [], []
                for _ in range(args.rounds):  # interleaved rounds: a busy spell of the machine hits both sides
                    python.append(python_fps(path, args.seconds / 2))
                    browser.append(live(page, app.url, name, "browser", args.seconds))
                    if args.screenshots and name == "demo" and len(browser) == 1:
                        screenshot(page, args.screenshots / "app-live.jpg")
                    stop(page)
                    server.append(live(page, app.url, name, "server", args.seconds))
                    stop(page)
                fps, ms = max(python)
                rows.append((name, fps, ms, max(browser, key=lambda r: r["fps"]),
                             min(server, key=lambda r: r["latency_ms"] - r["model_ms"])))
            translate = translate_photo(page, app, work / "photo.jpg", photo, store.get("demo").path)
            if args.screenshots:
                translate_screenshot(page, app, work, args.screenshots / "app-translate.jpg")
        app.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {cpu_description()}; onnxruntime {ort.__version__}, onnxruntime-web {ortweb.Pin.read().version} "
          f"in {version} (headless, {rows[0][3]['backend']}, {rows[0][3]['threads']} threads); side {SIDE}; "
          f"best of {args.rounds} interleaved rounds")
    print("\n| model | Python ORT | in the browser | browser / Python (target >= 60%) | server mode latency p50 | "
          "model p50 on the server | latency - model (target <= 30 ms) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, fps, ms, browser, server in rows:
        label = {"demo": "demo (unet_128, ngf 32)", "compact": "compact (mobile_resnet_9blocks, ngf 16)"}[name]
        print(f"| {label} | {fps:.1f} FPS ({ms:.0f} ms) | {browser['fps']:.1f} FPS ({browser['model_ms']:.0f} ms) | "
              f"{100 * browser['fps'] / fps:.0f}% | {server['latency_ms']:.0f} ms ({server['fps']:.1f} FPS) | "
              f"{server['model_ms']:.0f} ms | {server['latency_ms'] - server['model_ms']:+.0f} ms |")
    alone, page_total, page_over, http_total, http_over = translate
    print("\n| 1-megapixel photo (1152x864 JPEG), demo model, on the server | Translator alone | dropped on the page, "
          "to the result shown | its overhead (target <= 150 ms) | HTTP request alone | its overhead |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| medians of 3 (page) and 5 (requests); overhead = total - the model's time in that request | "
          f"{alone:.0f} ms | {page_total:.0f} ms | {page_over:.0f} ms | {http_total:.0f} ms | {http_over:.0f} ms |")
    return 0


def _joined(path: Path, work: Path) -> Path:
    """A stored model whose weights sit beside its graph, as one file (the store splits it again)."""
    import onnx

    joined = work / "demo.onnx"
    onnx.save(onnx.load(str(path)), str(joined))
    return joined


def chromium_version() -> str:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip().split(" built")[0]


def translate_photo(page: Page, app: Running, path: Path, data: bytes,
                    model_path: Path) -> tuple[float, float, float, float, float]:
    """Medians in ms: Translator alone; the page from the drop to the result shown, and that minus the model's
    time in the same request; a plain HTTP request, and that minus the model's time in it."""
    translator = Translator(OnnxModel(model_path, "cpu"))
    image = read_image(path)
    translator(image)
    alone = []
    for _ in range(3):
        start = time.perf_counter()
        translator(image)
        alone.append(1000 * (time.perf_counter() - start))
    requests = []
    for _ in range(5):
        start = time.perf_counter()
        status, headers, _ = request(app.port, "POST", "/api/translate?model=demo&name=photo.jpg", data)
        total = 1000 * (time.perf_counter() - start)
        assert status == 200
        requests.append((total, total - float(headers["x-i2i-model-ms"])))
    page.goto(f"{app.url}/")
    page.wait_for("window.i2iTranslate && i2iTranslate.ready")
    page.evaluate("(() => { const s = document.getElementById('model'); s.value = 'demo'; "
                  "s.dispatchEvent(new Event('change')); })()")
    for count in (1, 2, 3):  # one at a time
        page.set_files("#files", [path])
        page.wait_for(f"i2iTranslate.done + i2iTranslate.failed === {count}", timeout=120)
    assert page.evaluate("i2iTranslate.errors") == [], page.evaluate("i2iTranslate.errors")
    timings = page.evaluate("i2iTranslate.timings")
    return (statistics.median(alone), statistics.median(t["total_ms"] for t in timings),
            statistics.median(t["total_ms"] - t["model_ms"] for t in timings),
            statistics.median(r[0] for r in requests), statistics.median(r[1] for r in requests))


def translate_screenshot(page: Page, app: Running, work: Path, target: Path) -> None:
    """The Translate page after three of the sample's day photos went through the demo model."""
    photos = []
    for i, source in enumerate(list_images(ROOT / "datasets" / "gnome-day2night" / "val")[:6:2]):
        picture = read_image(source)
        photos.append(work / f"day{i}.jpg")
        photos[-1].write_bytes(encode_image(picture[:, : picture.shape[1] // 2], ".jpg", 92))
    page.goto(f"{app.url}/")
    page.wait_for("window.i2iTranslate && i2iTranslate.ready")
    page.evaluate("(() => { const s = document.getElementById('model'); s.value = 'demo'; "
                  "s.dispatchEvent(new Event('change')); })()")
    page.set_files("#files", photos[::-1])
    page.wait_for(f"i2iTranslate.done === {len(photos)}", timeout=120)
    time.sleep(0.5)
    page.evaluate("document.querySelectorAll('.compare input').forEach((r) => { r.value = 40; "
                  "r.dispatchEvent(new Event('input')); }); window.scrollTo(0, 0)")
    screenshot(page, target)


def screenshot(page: Page, path: Path) -> None:
    """The page as the user sees it, 1000 pixels wide, as a small JPEG (for the README)."""
    shot = cv2.imdecode(np.frombuffer(page.screenshot(), np.uint8), cv2.IMREAD_COLOR)
    shot = shot[: min(shot.shape[0], 900)]
    scale = 1000 / shot.shape[1]
    small = cv2.resize(shot, (1000, round(shot.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), small, [cv2.IMWRITE_JPEG_QUALITY, 82])
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
