"""Named models: the store, the pretrained catalogue, resumable downloads and pulling from a (local) server."""

from __future__ import annotations

import collections
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli

from i2i.cli.main import main
from i2i.deploy.resolve import pull
from i2i.errors import ConfigError
from i2i.fileio import sha256_of
from i2i.hub.download import DownloadError, download
from i2i.hub.store import ModelStore
from i2i.hub.zoo import PRETRAINED
from i2i.images import read_image, write_image
from i2i.models import create_model


class FileServer:
    """Serves ``files`` on 127.0.0.1 with byte ranges; can drop the first response of a path part-way.

    A path with an entry in ``etags`` is sent with that ETag, and a ranged request whose If-Range names another
    one gets the whole file (200), as HTTP asks; ``honour_if_range = False`` makes a server that ignores it.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.cut_after: dict[str, int] = {}  # path -> bytes sent before the first response is dropped
        self.honour_ranges = True
        self.honour_if_range = True
        self.requests: list[tuple[str, str | None]] = []
        self.if_range: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                server.if_range.append(self.headers.get("If-Range"))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                etag = server.etags.get(self.path)
                changed = (server.honour_if_range and self.headers.get("If-Range") is not None
                           and self.headers["If-Range"] != etag)
                if self.headers.get("Range") and server.honour_ranges and not changed:
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                if etag:
                    self.send_header("ETag", etag)
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


CRASH = """
import os, shutil, sys
from pathlib import Path
import i2i.hub.store as store
step = sys.argv[3]
real_replace, real_rmtree = os.replace, shutil.rmtree
def replace(a, b):  # the second rename moves the new model in: die just before it
    if step == "before" and Path(a).name.startswith(".day.") and Path(b).name == "day":
        os._exit(3)
    real_replace(a, b)
def rmtree(path, *args, **kwargs):  # the old copy is deleted last: die just before that
    if step == "after" and Path(path).name == ".day.old":
        os._exit(3)
    real_rmtree(path, *args, **kwargs)
store.os.replace, store.shutil.rmtree = replace, rmtree
store.ModelStore(Path(sys.argv[1])).add("day", Path(sys.argv[2]), {})
"""


@pytest.mark.parametrize(("step", "survivor"), [("before", b"one"), ("after", b"two")])
def test_store_replacement_survives_a_crash(tmp_path: Path, step: str, survivor: bytes) -> None:
    """A process killed between the two renames of a replacement loses neither model: the next use repairs it."""
    store = ModelStore(tmp_path / "home")
    (tmp_path / "one.onnx").write_bytes(b"one")
    (tmp_path / "two.onnx").write_bytes(b"two")
    store.add("day", tmp_path / "one.onnx", {})
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(tmp_path / "home"), str(tmp_path / "two.onnx"), step],
                             capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 3, crashed.stderr
    hidden = sorted(p.name for p in store.models.iterdir() if p.name.startswith("."))
    assert ".day.old" in hidden  # what the crash left: the old copy moved aside (and, before, a staging folder)
    fresh = ModelStore(tmp_path / "home")
    assert fresh.names() == ["day"]  # hidden folders are never listed
    assert fresh.get("day").path.read_bytes() == survivor  # type: ignore[union-attr]
    assert not (store.models / ".day.old").exists()  # put back, or deleted once the new model was in place
    store.add("day", tmp_path / "two.onnx", {})  # and the store works on as usual
    assert fresh.get("day").path.read_bytes() == b"two"  # type: ignore[union-attr]


def test_store_lists_no_hidden_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A staging folder of an add in progress (or a crash's) is not a model: `models list` shows only real ones."""
    store = ModelStore(tmp_path)
    (tmp_path / "m.onnx").write_bytes(b"one")
    store.add("day", tmp_path / "m.onnx", {})
    (store.models / ".night.k2x9a1b7").mkdir()  # as `add` stages a model before renaming it into place
    (store.models / ".night.k2x9a1b7" / "model.onnx").write_bytes(b"partial")
    assert store.names() == ["day"]
    monkeypatch.setenv("I2I_HOME", str(tmp_path))
    assert main(["models", "list"]) == 0
    assert "  day " in capsys.readouterr().out


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
    assert len(PRETRAINED) == 27  # 5 pix2pix, 18 CycleGAN, 4 Real-ESRGAN
    assert {"sat2map-pix2pix", "sat2map-cyclegan", "facades_label2photo-pix2pix", "horse2zebra"} <= set(PRETRAINED)
    assert "sat2map" not in PRETRAINED
    assert PRETRAINED["day2night"].url() == "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/day2night.pth"
    assert PRETRAINED["sat2map-cyclegan"].url().endswith("/cyclegan/pretrained_models/sat2map.pth")
    assert (PRETRAINED["style_monet"].architecture, PRETRAINED["day2night"].norm) == ("resnet_9blocks", "batch")
    assert PRETRAINED["realesrgan-x4"].url() == (
        "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth")
    assert (PRETRAINED["realesrgan-x4-anime"].architecture, PRETRAINED["realesrgan-x2"].scale) == ("rrdbnet_6blocks", 2)
    monkeypatch.setenv("I2I_MODEL_MIRROR", "http://mirror/x/")
    assert PRETRAINED["horse2zebra"].url() == "http://mirror/x/cyclegan/horse2zebra.pth"
    assert PRETRAINED["realesrgan-x2"].url() == "http://mirror/x/realesrgan/RealESRGAN_x2plus.pth"


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


def test_download_refetches_a_file_that_changed_between_attempts(server: FileServer, tmp_path: Path) -> None:
    """A resumed request carries If-Range: a file replaced on the server is fetched whole, never spliced."""
    old, new = bytes(range(256)) * 2000, bytes(reversed(range(256))) * 2000
    server.files["/f.pth"], server.etags["/f.pth"] = old, '"v1"'
    server.cut_after["/f.pth"] = 200_000
    with pytest.raises(DownloadError, match="run again to resume"):
        download(f"{server.url}/f.pth", tmp_path / "f.pth", attempts=1)
    server.files["/f.pth"], server.etags["/f.pth"] = new, '"v2"'  # the file changes on the server
    download(f"{server.url}/f.pth", tmp_path / "f.pth")
    assert server.requests[1] == ("/f.pth", "bytes=200000-") and server.if_range[1] == '"v1"'
    assert (tmp_path / "f.pth").read_bytes() == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pth"]  # no .part and no sidecar left


def test_download_restarts_when_the_size_changed_behind_a_server_that_ignores_if_range(
        server: FileServer, tmp_path: Path) -> None:
    server.honour_if_range = False
    server.files["/f.pth"], server.etags["/f.pth"] = b"a" * 300_000, '"v1"'
    server.cut_after["/f.pth"] = 100_000
    with pytest.raises(DownloadError):
        download(f"{server.url}/f.pth", tmp_path / "f.pth", attempts=1)
    server.files["/f.pth"] = b"b" * 400_000  # a 206 would splice: its Content-Range gives the new size away
    download(f"{server.url}/f.pth", tmp_path / "f.pth")
    assert (tmp_path / "f.pth").read_bytes() == b"b" * 400_000


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts connections and never answers; its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes the handshakes; nobody ever reads or writes
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_server_that_never_answers_is_a_quick_one_line_error(silent_server: str, tmp_path: Path) -> None:
    lines: list[str] = []
    began = time.monotonic()
    with pytest.raises(DownloadError) as error:
        download(f"{silent_server}/f.pth", tmp_path / "f.pth", timeout=0.5, say=lines.append)
    message = str(error.value)
    assert time.monotonic() - began < 5
    assert message.startswith(f"{silent_server}/f.pth: no answer from 127.0.0.1:") and "in 0.5 s" in message
    assert "\n" not in message and "kept in" not in message  # nothing was received, so nothing is said to be kept
    assert lines == [f"connecting to {silent_server.removeprefix('http://')} ..."]
    lines.clear()
    began = time.monotonic()
    with pytest.raises(DownloadError, match="no answer from"):  # the same through pull, the timeout passed on
        pull("day2night", ModelStore(tmp_path / "home"), silent_server, say=lines.append, timeout=0.5)
    assert time.monotonic() - began < 5
    assert lines[0] == f"downloading day2night from {silent_server}/pix2pix/day2night.pth" and len(lines) == 2


def test_pull_checks_for_torch_before_downloading(server: FileServer, tmp_path: Path) -> None:
    server.files["/pix2pix/day2night.pth"] = b"x" * 1000
    code = ("import sys; sys.modules['torch'] = None\n"
            "from i2i.cli.main import main\n"
            f"sys.exit(main(['models', 'pull', 'day2night', '--mirror', {server.url!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "I2I_HOME": str(tmp_path / "home")})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "needs PyTorch" in done.stderr and "pip install torch" in done.stderr
    assert server.requests == []  # nothing was downloaded


def test_download_errors(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"missing\.pth: HTTP 404"):
        download(f"{server.url}/missing.pth", tmp_path / "m.pth")
    server.files["/f.pth"] = b"abc"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(f"{server.url}/f.pth", tmp_path / "f.pth", sha256="0" * 64)
    assert not (tmp_path / "f.pth").exists() and not (tmp_path / "f.pth.part").exists()
    with pytest.raises(DownloadError, match="download failed after 1 attempts") as refused:
        download("http://127.0.0.1:9/f.pth", tmp_path / "f.pth", attempts=1, timeout=2)
    assert "kept in" not in str(refused.value)  # no .part file exists: none is said to be kept


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
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "unet_128" and info["task"] == "pix2pix"  # the task that trains U-Nets
    assert main(["models", "import", str(tmp_path / "g.pth"), "--arch", "unet_128", "--norm", "batch",
                 "--name", "other", "--task", "pix2pixx"]) == 2
    assert "--task pix2pixx" in capsys.readouterr().err
    assert main(["models", "remove", "mine"]) == 0 and main(["models", "remove", "mine"]) == 2
    assert "no stored model 'mine'" in capsys.readouterr().err


def test_weights_are_fetched_once_checked_and_taken_from_a_mirror(server: FileServer, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from i2i.errors import ConfigError
    from i2i.hub import weights

    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    body = b"weights " * 1000
    digest = hashlib.sha256(body).hexdigest()
    monkeypatch.setitem(weights.WEIGHTS, "test-net", weights.WeightsFile(
        "test-net", f"net-{digest[:8]}.pth", f"{server.url}/publisher/net.pth", digest[:8], "test licence"))
    server.files["/mirror/weights/" + f"net-{digest[:8]}.pth"] = body
    lines: list[str] = []
    path = weights.weights_path("test-net", mirror=f"{server.url}/mirror", say=lines.append)
    assert path.read_bytes() == body and path.parent == tmp_path / "home" / "weights"
    assert any("test licence" in line for line in lines)
    requests = len(server.requests)
    assert weights.weights_path("test-net", say=lines.append) == path and len(server.requests) == requests
    given = tmp_path / "mine.pth"
    given.write_bytes(b"fine-tuned")
    assert weights.weights_path("test-net", given=given) == given  # a user's file is used as it is
    with pytest.raises(ConfigError, match=r"nope\.pth: no such weights file"):
        weights.weights_path("test-net", given=tmp_path / "nope.pth")
    path.unlink()
    server.files["/publisher/net.pth"] = b"something else"
    with pytest.raises(DownloadError, match=r"checksum mismatch .* the file was deleted"):
        weights.weights_path("test-net", say=lines.append)
    assert not path.exists()
    with pytest.raises(ConfigError, match="no weights called 'test-nett' \\(did you mean 'test-net'\\?\\)"):
        weights.weights_path("test-nett")
