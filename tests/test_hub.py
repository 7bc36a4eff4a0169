"""Named models: the store, the pretrained catalogue, resumable downloads and pulling from a (local) server."""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli

from i2i.cli.main import main
from i2i.errors import ConfigError
from i2i.fileio import sha256_of
from i2i.hub.download import DownloadError, download
from i2i.hub.store import ModelStore
from i2i.hub.zoo import PRETRAINED
from i2i.images import read_image, write_image
from i2i.models import create_model


class FileServer:
    """Serves ``files`` on 127.0.0.1 with byte ranges; can drop the first response of a path part-way."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut_after: dict[str, int] = {}  # path -> bytes sent before the first response is dropped
        self.honour_ranges = True
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                if self.headers.get("Range") and server.honour_ranges:
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = server.cut_after.pop(self.path, None)
                self.wfile.write(body[start:cut] if cut is not None else body[start:])
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[FileServer]:
    files = FileServer()
    yield files
    files.httpd.shutdown()


def reference_pth(arch: str, norm: str, old_style: bool) -> bytes:
    """A generator file in the reference layout (small width), with the quirks of the published files."""
    import io

    torch.manual_seed(0)
    net = create_model(arch, ngf=4, norm=norm)
    state = collections.OrderedDict((k, v) for k, v in net.state_dict().items() if not k.endswith("_tracked"))
    if old_style:  # the 2017 CycleGAN files: instance norm with running statistics
        for name, module in net.named_modules():
            if isinstance(module, torch.nn.InstanceNorm2d):
                state[f"{name}.running_mean"] = torch.zeros(module.num_features)
                state[f"{name}.running_var"] = torch.ones(module.num_features)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_store(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    (tmp_path / "m.onnx").write_bytes(b"one")
    first = store.add("day", tmp_path / "m.onnx", {"source": "here"})
    assert store.names() == ["day"] and first.card["sha256"] == sha256_of(tmp_path / "m.onnx")
    (tmp_path / "n.onnx").write_bytes(b"two")
    store.add("day", tmp_path / "n.onnx", {})
    assert store.get("day").path.read_bytes() == b"two"  # type: ignore[union-attr]
    assert sorted(p.name for p in store.models.iterdir()) == ["day"]  # no staging or old copies left
    with pytest.raises(ConfigError, match="not a valid model name"):
        store.add("../up", tmp_path / "n.onnx", {})
    assert store.remove("day") and not store.remove("day") and store.get("night") is None


def test_store_keeps_large_weights_beside_the_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    weight = np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 8, 8, 8])],
                              [numpy_helper.from_array(weight, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(tmp_path / "m.onnx"))
    monkeypatch.setattr("i2i.hub.store.SPLIT_ABOVE", 100)
    monkeypatch.setattr("i2i.hub.store.WEIGHTS_INLINE_UP_TO", 100)
    stored = ModelStore(tmp_path / "home").add("conv", tmp_path / "m.onnx", {})
    assert (stored.path.parent / "model.weights").stat().st_size == weight.nbytes
    assert stored.card["sha256"] == sha256_of(tmp_path / "m.onnx")
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    run = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
           for p in (tmp_path / "m.onnx", stored.path)]
    assert np.array_equal(run[0], run[1])
    (tmp_path / "bad.onnx").write_bytes(b"not a model" * 100)
    with pytest.raises(ConfigError, match=r"bad\.onnx: not an ONNX model"):
        ModelStore(tmp_path / "home").add("bad", tmp_path / "bad.onnx", {})
    assert ModelStore(tmp_path / "home").names() == ["conv"]


def test_pretrained_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(PRETRAINED) == 23
    assert {"sat2map-pix2pix", "sat2map-cyclegan", "facades_label2photo-pix2pix", "horse2zebra"} <= set(PRETRAINED)
    assert "sat2map" not in PRETRAINED
    assert PRETRAINED["day2night"].url() == "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/day2night.pth"
    assert PRETRAINED["sat2map-cyclegan"].url().endswith("/cyclegan/pretrained_models/sat2map.pth")
    assert (PRETRAINED["style_monet"].architecture, PRETRAINED["day2night"].norm) == ("resnet_9blocks", "batch")
    monkeypatch.setenv("I2I_MODEL_MIRROR", "http://mirror/x/")
    assert PRETRAINED["horse2zebra"].url() == "http://mirror/x/cyclegan/horse2zebra.pth"


def test_download_resumes_after_a_dropped_connection(server: FileServer, tmp_path: Path) -> None:
    body = bytes(range(256)) * 4000
    server.files["/f.pth"] = body
    server.cut_after["/f.pth"] = 300_000
    seen: list[int] = []
    digest = download(f"{server.url}/f.pth", tmp_path / "f.pth", progress=lambda done, total: seen.append(done))
    assert (tmp_path / "f.pth").read_bytes() == body and digest == sha256_of(tmp_path / "f.pth")
    assert server.requests == [("/f.pth", None), ("/f.pth", "bytes=300000-")]
    assert seen[-1] == len(body) and not (tmp_path / "f.pth.part").exists()


def test_download_restarts_when_the_server_ignores_ranges(server: FileServer, tmp_path: Path) -> None:
    server.files["/f.pth"] = b"x" * 50_000
    server.honour_ranges = False
    (tmp_path / "f.pth.part").write_bytes(b"y" * 1000)  # a stale partial file
    download(f"{server.url}/f.pth", tmp_path / "f.pth")
    assert (tmp_path / "f.pth").read_bytes() == b"x" * 50_000


def test_download_errors(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"missing\.pth: HTTP 404"):
        download(f"{server.url}/missing.pth", tmp_path / "m.pth")
    server.files["/f.pth"] = b"abc"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(f"{server.url}/f.pth", tmp_path / "f.pth", sha256="0" * 64)
    assert not (tmp_path / "f.pth").exists() and not (tmp_path / "f.pth.part").exists()
    with pytest.raises(DownloadError, match="download failed after 1 attempts"):
        download("http://127.0.0.1:9/f.pth", tmp_path / "f.pth", attempts=1, timeout=2)


def test_translate_pulls_a_pretrained_model_on_first_use(server: FileServer, tmp_path: Path) -> None:
    """`i2i translate --model day2night` downloads, converts, caches and translates; the second call only reads."""
    server.files["/pix2pix/day2night.pth"] = reference_pth("unet_256", "batch", old_style=False)
    write_image(tmp_path / "street.jpg", read_image(Path(__file__).parent.parent / "i2i" / "assets" / "parity.jpg"))
    env_home = tmp_path / "home"
    first = run_cli("translate", str(tmp_path / "street.jpg"), "--model", "day2night", "--mirror", server.url,
                    env={"I2I_HOME": str(env_home)})
    assert first.returncode == 0, first.stderr
    assert read_image(tmp_path / "street_day2night.jpg").shape == (256, 256, 3)
    card = json.loads((env_home / "models" / "day2night" / "card.json").read_text())
    assert card["source"] == f"{server.url}/pix2pix/day2night.pth" and "BSD" in card["licence"]
    assert card["source_file_sha256"] and card["sha256"] == sha256_of(env_home / "models" / "day2night" / "model.onnx")
    assert not list((env_home / "downloads").iterdir())  # the .pth is gone once converted
    again = run_cli("translate", str(tmp_path / "street.jpg"), "--model", "day2night", "--mirror", server.url,
                    env={"I2I_HOME": str(env_home)})
    assert again.returncode == 0 and len(server.requests) == 1


def test_models_commands(server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    server.files["/cyclegan/horse2zebra.pth"] = reference_pth("resnet_9blocks", "instance", old_style=True)
    assert main(["models", "pull", "horse2zebra", "--mirror", server.url]) == 0
    (tmp_path / "g.pth").write_bytes(reference_pth("unet_128", "batch", old_style=False))
    assert main(["models", "import", str(tmp_path / "g.pth"), "--arch", "unet_128", "--norm", "batch",
                 "--name", "mine"]) == 0
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "horse2zebra" in listing and "mine" in listing and " *horse2zebra" in listing
    assert main(["models", "info", "mine"]) == 0
    assert json.loads(capsys.readouterr().out)["architecture"] == "unet_128"
    assert main(["models", "remove", "mine"]) == 0 and main(["models", "remove", "mine"]) == 2
    assert "no stored model 'mine'" in capsys.readouterr().err
