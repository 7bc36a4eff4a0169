"""`i2i app` through an HTTP client, against a real server: every page and endpoint, the errors promised for bad
input, the token and the Host/Origin checks, path traversal, the live socket's latest-frame policy, many
clients at once, and that a client that goes away leaves nothing held."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from app_support import Running, error_of, photo, request
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from i2i.app import ortweb
from i2i.app.api import check_work_size
from i2i.app.server import AppSettings, create_app
from i2i.cli.main import main
from i2i.errors import ConfigError, DataError
from i2i.images import decode_image, encode_image
from i2i.infer import OnnxModel, Translator
from i2i.report.html import CSP as REPORT_CSP
from i2i.sampling import open_generator
from i2i.sampling.sheets import sample_sheet, walk_sheet

pytestmark = pytest.mark.skipif(ortweb.installed_version() != ortweb.Pin.read().version,
                                reason="onnxruntime-web is not fetched (make ort-web)")


def wait_idle(app_server: Any, timeout: float = 15) -> dict[str, int]:
    """/api/status once nothing is held any more (uploads, jobs, live sockets)."""
    deadline = time.monotonic() + timeout
    while True:
        status = {k: v for k, v in app_server.json("/api/status").items() if k in ("uploads", "jobs", "live")}
        if not any(status.values()) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_pages_and_their_files(app_server: Any) -> None:
    for path in ("/", "/sample", "/live", "/runs"):
        status, headers, body = app_server.request("GET", path)
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["cross-origin-opener-policy"] == "same-origin"  # isolation: WebAssembly threads
        assert headers["cross-origin-embedder-policy"] == "require-corp"
        html = body.decode()
        assert "http://" not in html and "https://" not in html  # nothing from another origin
        script = {"/": "translate", "/sample": "sample", "/live": "live", "/runs": "runs"}[path]
        assert '"/static/style.css"' in html and f'src="/static/{script}.js"' in html  # its own style and script
    for name in ("translate.js", "live.js", "ortrun.js", "view.js", "zip.js", "ui.js", "common.js", "style.css",
                 "ort/ort.wasm.min.mjs", "ort/ort-wasm-simd-threaded.mjs", "ort/LICENSE"):
        status, headers, body = app_server.request("GET", f"/static/{name}")
        assert status == 200 and body, name
        if name.endswith(("js", "mjs")):
            assert headers["content-type"].startswith("text/javascript"), name  # module scripts need it
    status, headers, _ = app_server.request("HEAD", "/static/ort/ort-wasm-simd-threaded.wasm")
    assert status == 200 and headers["content-type"] == "application/wasm"
    status, _, _ = app_server.request("GET", "/static/ort/ort-wasm-simd-threaded.wasm", headers={"If-None-Match":
                                                                                           headers["etag"]})
    assert status == 304  # the large runtime files load once per browser
    assert "MIT License" in app_server.request("GET", "/static/ort/LICENSE")[2].decode()


def test_models_on_offer(app_server: Any, app_home: Path) -> None:
    models = {m["name"]: m for m in app_server.json("/api/models")["models"]}
    assert {n: m["kind"] for n, m in models.items()} == {"fixed64": "translate", "noise": "generate",
                                                         "resnet": "translate", "unet": "translate"}
    unet = models["unet"]
    assert unet["meta"]["size_multiple"] == "32" and unet["browser"] and unet["card"]["task"] == "test"
    assert str(app_home) not in json.dumps(models)  # no file system paths are given out
    status, _, body = app_server.request("GET", unet["graph"])
    assert status == 200 and body == (app_home / "models" / "unet" / "model.onnx").read_bytes()
    config = app_server.json("/api/config")
    assert config["folder"] == ["a.png", "b.jpg"] and config["runtime"] == ortweb.Pin.read().version


def test_translate_gives_what_i2i_translate_gives(app_server: Any, app_home: Path, app_layout: dict[str, Path]) -> None:
    model = OnnxModel(app_home / "models" / "unet" / "model.onnx", "cpu")
    image = photo(45, 70)
    status, headers, body = app_server.request("POST", "/api/translate?model=unet&name=day.png",
                                               encode_image(image, ".png"))
    assert status == 200 and headers["content-type"] == "image/png"
    assert headers["content-disposition"] == 'attachment; filename="day_unet.png"'
    assert float(headers["x-i2i-model-ms"]) > 0 and headers["x-i2i-size"] == "70x45"
    assert np.array_equal(decode_image(body), Translator(model)(image))  # lossless: exactly the CLI's output
    rgba = np.concatenate([image, np.full((45, 70, 1), 128, np.uint8)], axis=2)
    status, _, body = app_server.request("POST", "/api/translate?model=unet&name=x.png", encode_image(rgba, ".png"))
    assert status == 200 and decode_image(body).shape == (45, 70, 4)  # alpha kept, as i2i translate keeps it
    status, headers, body = app_server.request("POST", "/api/translate?model=resnet&size=32&name=photo.jpeg",
                                        encode_image(image, ".jpg"))
    assert status == 200 and headers["content-type"] == "image/jpeg" and decode_image(body).shape == (45, 70, 3)
    status, headers, body = app_server.request("POST", "/api/translate?model=unet&file=0")  # from --folder
    assert status == 200 and headers["content-disposition"] == 'attachment; filename="a_unet.png"'
    folder_image = decode_image((app_layout["images"] / "a.png").read_bytes())
    assert np.array_equal(decode_image(body), Translator(model)(folder_image))
    status, _, body = app_server.request("GET", "/api/folder/1")
    assert status == 200 and body == (app_layout["images"] / "b.jpg").read_bytes()


def test_max_pixels_bounds_what_an_upscaler_makes() -> None:
    """An x4 model's output counts against --max-pixels: 16 times the upload's pixels."""
    check_work_size((300, 300), None, 4, 2_000_000, "ok.png")
    with pytest.raises(DataError, match=r"^x.png: upscaled x4 it would be 2.6 megapixels, over the app's limit of "
                                        r"2 \(--max-pixels\)"):
        check_work_size((400, 400), None, 4, 2_000_000, "x.png")


def test_bad_input_is_a_clear_4xx_and_the_server_keeps_serving(app_server: Any) -> None:
    good = encode_image(photo(32, 32), ".png")
    png = encode_image(photo(64, 64), ".png")
    bomb = png[:16] + (30000).to_bytes(4, "big") + (30000).to_bytes(4, "big")  # a header claiming 900 MP
    bomb += zlib.crc32(bomb[12:24]).to_bytes(4, "big") + png[33:]
    jpeg = encode_image(photo(64, 64), ".jpg")
    cases = [
        ("/api/translate?model=unet&name=empty.png", b"", 400, "empty.png: the file is empty (0 bytes)"),
        ("/api/translate?model=unet&name=notes.png", b"just some text", 400, "notes.png: not a readable image"),
        ("/api/translate?model=unet&name=cut.jpg", jpeg[: len(jpeg) // 2], 400, "cut.jpg: truncated JPEG"),
        ("/api/translate?model=unet&name=bomb.png", bomb, 400, "900 megapixels, over the limit of 2"),
        ("/api/translate?model=unet&name=big.png", b"\0" * 1_200_000, 413, "over the limit of 1 MB"),
        ("/api/translate?model=unte", good, 404, "no image-to-image model 'unte' here (did you mean 'unet'?)"),
        ("/api/translate?model=noise", good, 404, "no image-to-image model 'noise'"),
        ("/api/translate?model=unet&size=0", good, 400, "size 0: must be 1 or more"),
        ("/api/translate?model=unet&tile=abc", good, 400, "tile 'abc': expected a whole number"),
        ("/api/translate?model=unet&tile=0", good, 400, "tile 0: must be 1 or more and at most 1024"),  # always tiles
        ("/api/translate?model=unet&size=8192&name=s.png", good, 400,
         "s.png: at size 8192 it would be 67.1 megapixels, over the app's limit of 2 (--max-pixels)"),
        ("/api/translate?model=unet&tile=32&overlap=40", good, 400, "--overlap 40: at most half the tile side"),
        ("/api/translate?model=fixed64&name=odd.png", good, 422, "odd.png: model fixed64 failed on this image"),
        ("/api/translate?model=unet&file=7", None, 400, "file 7: must be 0 or more and at most 1"),
        ("/api/sample", b"{not json", 400, "the request is not JSON"),
        ("/api/sample", b'{"model": "noise", "count": 0}', 400, "count 0: a whole number from 1 to 256"),
        ("/api/sample", b'{"model": "noise", "label": "up"}', 400, "--label up: not a class of this model"),
        ("/api/sample", b'{"model": "unet"}', 404, "no from-noise model 'unet'"),
    ]
    for path, body, code, message in cases:
        status, headers, answer = app_server.request("POST", path, body)
        assert status == code and headers["content-type"] == "application/json", (path, status, answer)
        assert message in error_of(answer), (path, answer)
    status, _, answer = app_server.request("POST", "/api/translate?model=fixed64&name=ok.png",
                                    encode_image(photo(64, 64), ".png"))
    assert status == 200  # the same model works on the size it takes
    for path in ("/nothing", "/api/nothing", "/models/unet/other.onnx", "/runs/base/secret.txt"):
        status, _, answer = app_server.request("GET", path)
        assert status == 404 and error_of(answer), path
    assert app_server.request("POST", "/api/translate?model=unet&name=x.png", good)[0] == 200  # still serving
    assert wait_idle(app_server) == {"uploads": 0, "jobs": 0, "live": 0}


def test_an_upload_over_the_limit_is_refused_before_it_is_read(app_server: Any) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", app_server.port, timeout=10)
    connection.putrequest("POST", "/api/translate?model=unet")
    connection.putheader("Content-Length", "900000000")  # announces 900 MB, sends none of it
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and "900.0 MB, over the limit of 1 MB" in error_of(response.read())
    connection.close()


def test_sample_gives_what_i2i_sample_gives(app_server: Any, app_home: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    generator = open_generator(str(app_home / "models" / "noise" / "model.onnx"), "cpu")
    status, headers, body = app_server.request("POST", "/api/sample", json.dumps({"model": "noise", "seed": 3,
                                                                           "count": 6}).encode())
    assert status == 200 and headers["content-type"] == "image/png"
    assert np.array_equal(decode_image(body), sample_sheet(generator, 6, 3)[1])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("I2I_HOME", str(app_home))
        assert main(["sample", "--model", "noise", "-n", "6", "--seed", "3", "-o", str(tmp_path / "cli.png")]) == 0
    capsys.readouterr()
    assert np.array_equal(decode_image(body), decode_image((tmp_path / "cli.png").read_bytes()))
    walk = {"model": "noise", "seed": 1, "label": "RIGHT", "walk": {"rows": 2, "steps": 5}}
    status, _, body = app_server.request("POST", "/api/sample", json.dumps(walk).encode())
    assert status == 200 and np.array_equal(decode_image(body), walk_sheet(generator, 2, 5, 1, "RIGHT"))


def test_runs_their_samples_and_reports(app_server: Any, app_layout: dict[str, Path]) -> None:
    runs = app_server.json("/api/runs")["runs"]
    assert [r["name"] for r in runs] == ["base", "fast", "sneaky"]  # not 'linked', a symlink out of the folder
    assert runs[0]["step"] == 4 and runs[0]["task"] == "pix2pix" and runs[0]["sample"] == "/runs/base/sample.png"
    status, headers, body = app_server.request("GET", "/runs/base/sample.png")
    assert status == 200 and body == (app_layout["runs"] / "base" / "samples" / "step_000004.png").read_bytes()
    assert app_server.json("/api/runs")["runs"][2]["step"] == 2  # the sneaky link to a file outside is not a sample
    status, headers, body = app_server.request("GET", "/runs/base/report.html")
    assert status == 200 and headers["content-security-policy"] == REPORT_CSP and b"<h1>i2i report: base</h1>" in body
    status, headers, body = app_server.request("GET", "/runs/compare?run=base&run=fast")
    assert status == 200 and b"Configuration differences" in body and b"optim.lr" in body
    for path in ("/runs/linked/report.html", "/runs/linked/sample.png", "/runs/compare?run=base&run=linked",
                 "/runs/nope/report.html", "/runs/compare"):
        status, _, body = app_server.request("GET", path)
        assert status == 404 and error_of(body), path


@pytest.mark.parametrize("path", [
    "/static/../api.py", "/static/%2e%2e/api.py", "/static/..%2fapi.py", "/static/%2e%2e%2fserver.py",
    "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/ort/../../api.py", "/static/ort/%2e%2e%2fortweb.json",
    "/models/unet/..%2f..%2fnoise%2fcard.json", "/models/unet/card.json", "/models/..%2fmodels%2funet/model.onnx",
    "/models/%2e%2e/model.onnx", "/models/unet/%2fetc%2fpasswd",
    "/runs/..%2felsewhere%2fsecret/sample.png", "/runs/%2e%2e/sample.png", "/runs/base%2f..%2f..%2fimages/report.html",
    "/runs/%2fetc/report.html", "/runs/compare?run=..%2felsewhere%2fsecret", "/runs/compare?run=%2fetc",
    "/api/folder/-1", "/api/folder/2", "/api/folder/..%2f..%2fetc%2fpasswd", "//etc/passwd", "/..%2f..%2fetc%2fpasswd",
])
def test_no_request_reaches_a_file_the_app_does_not_serve(app_server: Any, path: str) -> None:
    status, _, body = app_server.request("GET", path)
    assert status == 404, (path, status)
    assert error_of(body) and b"integrity" not in body and b"root:" not in body  # an error, not a file


def test_the_token_host_and_origin_checks(app_home: Path, app_layout: dict[str, Path]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("I2I_HOME", str(app_home))
        running = Running(AppSettings(runs=app_layout["runs"], token="s3cret-token"))
        _, open_state = create_app(AppSettings(host="0.0.0.0", runs=app_layout["runs"]))
    assert open_state.settings.token and len(open_state.settings.token) >= 24  # beyond this machine: always one
    open_state.close()
    try:
        for path in ("/", "/api/models", "/static/ortrun.js", "/models/unet/model.onnx", "/?token=wrong"):
            status, _, body = running.request("GET", path)
            assert status == 403 and b"needs its token" in body, path
        assert running.request("POST", "/api/translate?model=unet", b"x")[0] == 403
        status, headers, _ = running.request("GET", "/live?token=s3cret-token&x=1")
        assert status == 303 and headers["location"] == "/live?x=1"  # the token leaves the address bar
        cookie = headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
        assert running.request("GET", "/api/models", headers={"Cookie": cookie})[0] == 200
        assert running.request("GET", "/api/models", headers={"Authorization": "Bearer s3cret-token"})[0] == 200
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{running.port}/ws/live?model=unet", open_timeout=10)
        with connect(f"ws://127.0.0.1:{running.port}/ws/live?model=unet", open_timeout=10,
                     additional_headers={"Cookie": cookie}) as socket:
            assert json.loads(socket.recv(timeout=30))["ready"]
        # DNS rebinding: a page of another name resolved to 127.0.0.1 is not answered
        status, _, body = running.request("GET", "/api/models", headers={"Host": "evil.example:80",
                                                                         "Cookie": cookie})
        assert status == 403 and b"answers only to localhost" in body
        # another site cannot make the user's browser post to the app, or open its socket
        status, _, body = running.request("POST", "/api/sample", b"{}", headers={
            "Cookie": cookie, "Origin": "http://evil.example"})
        assert status == 403 and b"another site" in body
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{running.port}/ws/live?model=unet", open_timeout=10, origin="http://evil.example",
                    additional_headers={"Cookie": cookie})
        same = f"http://127.0.0.1:{running.port}"
        assert running.request("POST", "/api/sample", json.dumps({"model": "noise"}).encode(),
                               headers={"Cookie": cookie, "Origin": same})[0] == 200
    finally:
        running.stop()


def live_url(app_server: Any, **query: Any) -> str:
    return f"ws://127.0.0.1:{app_server.port}/ws/live?" + "&".join(f"{k}={v}" for k, v in query.items())


def frame_jpeg(seed: int, size: tuple[int, int] = (160, 120)) -> bytes:
    return encode_image(np.roll(photo(size[1], size[0]), 7 * seed, axis=1), ".jpg", 90)


def test_live_socket_translates_frames(app_server: Any, app_home: Path) -> None:
    with connect(live_url(app_server, model="resnet", size=48, fit="pad"), open_timeout=10, max_size=None) as socket:
        ready = json.loads(socket.recv(timeout=30))
        assert ready == {"ready": True, "model": "resnet", "side": 48, "provider": "CPUExecutionProvider", "scale": 1}
        socket.send(frame_jpeg(0))
        header = json.loads(socket.recv(timeout=30))
        picture = decode_image(socket.recv(timeout=30))
        assert header["frame"] == 0 and header["model_ms"] > 0 and header["dropped"] == 0
        assert picture.shape == (48, 48, 3)
        socket.send(b"not a jpeg")  # a bad frame is reported and the socket goes on
        assert "not a readable image" in json.loads(socket.recv(timeout=30))["error"]
        socket.send(frame_jpeg(1))
        assert json.loads(socket.recv(timeout=30))["frame"] == 2
        socket.recv(timeout=30)
    for query, message in (({"model": "nope"}, "no image-to-image model 'nope'"), ({"model": "unet", "fit": "zoom"},
                           "fit zoom: choose crop or pad"), ({"model": "unet", "size": "0"}, "size 0: a side from 1")):
        with connect(live_url(app_server, **query), open_timeout=10) as socket:
            assert message in json.loads(socket.recv(timeout=30))["error"]


class SlowModel:
    """A model that takes 0.25 s a frame, to see what the server does with frames it cannot keep up with."""

    def __init__(self, model: OnnxModel) -> None:
        self.model, self.info, self.name, self.provider = model, model.info, model.name, model.provider
        self.norm_inputs: list[str] = []

    def __call__(self, batch: np.ndarray, stats: Any = None) -> np.ndarray:
        time.sleep(0.25)
        return self.model(batch)


def test_a_slow_model_drops_frames_and_never_queues_them(app_server: Any) -> None:
    catalog = app_server.state.catalog
    slow = SlowModel(catalog.translator_model("unet"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog, "translator_model", lambda name: slow)
        with connect(live_url(app_server, model="unet", size=32), open_timeout=10, max_size=None) as socket:
            assert json.loads(socket.recv(timeout=30))["ready"]
            started = time.monotonic()
            for i in range(20):  # 20 frames in about 0.2 s: the model could do one
                socket.send(frame_jpeg(i, (64, 48)))
                time.sleep(0.01)
            answered = []
            while not answered or answered[-1]["frame"] != 19:
                message = socket.recv(timeout=10)
                if isinstance(message, str):
                    answered.append(json.loads(message))
            elapsed = time.monotonic() - started
    assert len(answered) <= 4, answered  # the first frame, maybe one that arrived during it, and the newest
    assert answered[-1]["dropped"] >= 16 and elapsed < 2.0  # a queue of 20 frames would take 5 s


def test_many_clients_at_once_and_disconnects_free_everything(app_server: Any) -> None:
    errors: list[str] = []
    results: dict[str, int] = {"uploads": 0, "frames": 0}
    lock = threading.Lock()

    def uploads(seed: int) -> None:
        for k in range(3):
            status, _, body = app_server.request("POST", f"/api/translate?model=unet&name=f{seed}.jpg",
                                          frame_jpeg(seed + k, (96, 64)))
            with lock:
                if status == 200:
                    results["uploads"] += 1
                else:
                    errors.append(body.decode())

    def live(seed: int, rude: bool) -> None:
        try:
            with connect(live_url(app_server, model="resnet", size=32), open_timeout=20, max_size=None) as socket:
                assert json.loads(socket.recv(timeout=30))["ready"]
                for k in range(5):
                    socket.send(frame_jpeg(seed + k, (64, 48)))
                    header = json.loads(socket.recv(timeout=30))
                    socket.recv(timeout=30)
                    with lock:
                        results["frames"] += "error" not in header
                socket.send(frame_jpeg(seed))  # one more in flight when the client goes
                if rude:
                    socket.socket.close()  # gone without a goodbye, as a closed laptop lid
        except Exception as e:  # collected for the assertion below
            with lock:
                errors.append(repr(e))

    def vanishing_upload() -> None:
        import socket

        with socket.create_connection(("127.0.0.1", app_server.port), timeout=10) as raw:
            raw.sendall(b"POST /api/translate?model=unet&name=half.png HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Length: 500000\r\n\r\n" + b"\x89PNG" * 20000)  # 80 kB of the promised 500
            time.sleep(0.2)

    threads = [threading.Thread(target=uploads, args=(i,)) for i in range(3)]
    threads.append(threading.Thread(target=vanishing_upload))
    threads += [threading.Thread(target=live, args=(10 + i, i % 2 == 0)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and results == {"uploads": 9, "frames": 30}, (errors, results)
    assert wait_idle(app_server) == {"uploads": 0, "jobs": 0, "live": 0}
    assert app_server.state.catalog.open_sessions() <= app_server.settings.keep_models
    with contextlib.ExitStack() as stack:
        for _ in range(app_server.settings.max_live):
            socket = stack.enter_context(connect(live_url(app_server, model="unet"), open_timeout=10))
            assert json.loads(socket.recv(timeout=30))["ready"]
        with connect(live_url(app_server, model="unet"), open_timeout=10) as extra:
            assert "busy" in json.loads(extra.recv(timeout=30))["error"]  # --max-live: memory stays bounded
    assert wait_idle(app_server)["live"] == 0


def test_settings_that_cannot_work_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate")
    junk = ["--ssl-certfile", str(tmp_path / "junk.pem"), "--ssl-keyfile", str(tmp_path / "junk.pem")]
    for argv, message in ((junk, "junk.pem: not a certificate and its key"),
                          (["--port", "70000"], "--port 70000: choose 0-65535"),
                          (["--workers", "0"], "--workers 0: must be a positive number"),
                          (["--max-upload-mb", "nan"], "--max-upload-mb nan: must be a positive number"),
                          (["--folder", str(tmp_path / "no")], "no such folder"),
                          (["--ssl-certfile", str(tmp_path / "c.pem")], "--ssl-certfile and --ssl-keyfile go together"),
                          (["--models", "nosuch"], "unknown model 'nosuch'")):
        assert main(["app", "--port", "0", "--runs", str(tmp_path), *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err, err
    with pytest.raises(ConfigError, match="cannot listen"):
        from i2i.app.server import bind

        taken = bind("127.0.0.1", 0)
        try:
            bind("127.0.0.1", taken.getsockname()[1])
        finally:
            taken.close()


def test_the_command_serves_until_ctrl_c(app_home: Path, tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "i2i", "app", "--port", "0", "--models", "unet", "--runs",
                                str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "I2I_HOME": str(app_home)})
    try:
        line = process.stdout.readline()
        assert line.startswith("i2i app: http://127.0.0.1:"), (line, process.stderr.read() if process.poll() else "")
        port = int(line.rsplit(":", 1)[1].strip("/\n"))
        assert "models: unet;" in process.stdout.readline()
        status, _, body = request(port, "GET", "/api/models")
        assert status == 200 and [m["name"] for m in json.loads(body)["models"]] == ["unet"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_runtime_is_fetched_and_checked_against_its_pin(tmp_path: Path) -> None:
    """onnxruntime-web comes from the registry (here a local one) and is kept only if its sha512 matches."""
    import http.server
    import io
    import tarfile

    from i2i.errors import DownloadError

    tarball = io.BytesIO()
    with tarfile.open(fileobj=tarball, mode="w:gz") as tar:
        members = {"package/package.json": json.dumps({"version": "9.9.9", "license": "MIT"}).encode()}
        members.update({f"package/dist/{name}": f"/*! Copyright (c) Someone. */ {name}".encode()
                        for name in ortweb.FILES})
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = tarball.getvalue()

    class Registry(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    folder = tmp_path / "ort"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("npm_config_registry", f"http://127.0.0.1:{server.server_address[1]}")
            with pytest.raises(DownloadError, match="its sha512 is not the pinned one"):
                ortweb.fetch(folder, ortweb.Pin("9.9.9", "sha512-AAAA"), say=lambda _: None)
            assert not folder.exists()
            ortweb.fetch(folder, ortweb.Pin("9.9.9", ortweb.integrity_of(data)), say=lambda _: None)
    finally:
        server.shutdown()
    assert ortweb.installed_version(folder) == "9.9.9"
    assert "Copyright (c) Someone." in (folder / "LICENSE").read_text()
    with pytest.raises(ortweb.MissingRuntime, match=r"run `make ort-web`"):
        ortweb.runtime_folder(folder)  # not the pinned version
