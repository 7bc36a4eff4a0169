"""What the app's tests share: a real server (uvicorn on a free port, in a thread), a plain HTTP client, small
hand-made ONNX models (a generator from noise, a translator that only takes 64x64 images), run folders, a
camera clip for Chromium's fake camera, and checks on screenshots."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from conftest import SAMPLE
from onnx import TensorProto, helper, numpy_helper

from i2i.app.server import AppSettings, bind, create_app

SPEC = "default-src 'self'"


class Running:
    """``i2i app`` with ``settings`` on a free port of 127.0.0.1, served by uvicorn on a thread."""

    def __init__(self, settings: AppSettings) -> None:
        import uvicorn

        settings.port = 0
        self.app, self.state = create_app(settings, say=lambda _: None)
        self.settings = settings
        self.socket = bind("127.0.0.1", 0)
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="error", lifespan="off", ws="auto"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
        return request(self.port, method, path, body, headers, timeout)

    def json(self, path: str, **kwargs: Any) -> Any:
        status, _, body = self.request("GET", path, **kwargs)
        assert status == 200, body
        return json.loads(body)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.state.close()
        self.socket.close()


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to 127.0.0.1:port; (status, headers with lower-case names, body). The path is sent as
    given (no normalisation), as an attacker would send it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def error_of(body: bytes) -> str:
    """The one-line message of a JSON error answer (and that it is one line, with no traceback)."""
    message = json.loads(body)["error"]
    assert "\n" not in message and "Traceback" not in message, message
    return message


def _model(graph: onnx.GraphProto, meta: dict[str, str]) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in {**meta, "format_version": "1"}.items():
        model.metadata_props.add(key=f"i2i.{key}", value=value)
    onnx.checker.check_model(model)
    return model


def noise_model(path: Path) -> Path:
    """A conditional generator from noise: z (N, 8) and label (N,) -> (N, 1, 8, 8) images in [-1, 1]."""
    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.standard_normal((8, 64)).astype(np.float32), "W")
    embedding = numpy_helper.from_array(rng.standard_normal((2, 8)).astype(np.float32), "E")
    shape = numpy_helper.from_array(np.array([-1, 1, 8, 8], np.int64), "shape")
    nodes = [helper.make_node("Gather", ["E", "label"], ["e"]), helper.make_node("Add", ["z", "e"], ["h"]),
             helper.make_node("MatMul", ["h", "W"], ["m"]), helper.make_node("Reshape", ["m", "shape"], ["r"]),
             helper.make_node("Tanh", ["r"], ["image"])]
    graph = helper.make_graph(nodes, "noise", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 8]),
                                               helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])],
                              [weights, embedding, shape])
    meta = {"kind": "latent", "task": "test-noise", "latent_dim": "8", "classes": json.dumps(["left", "right"]),
            "image_size": "8", "channels": "1", "value_range": "-1,1", "interpolation": "slerp"}
    onnx.save(_model(graph, meta), str(path))
    return path


def fixed_size_model(path: Path) -> Path:
    """An image-to-image model that only accepts 64x64 inputs: ONNX Runtime fails on any other size."""
    graph = helper.make_graph([helper.make_node("Neg", ["x"], ["y"])], "fixed",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 64, 64])])
    meta = {"task": "test-fixed", "architecture": "neg", "in_channels": "3", "out_channels": "3",
            "size_multiple": "1", "train_size": "64"}
    onnx.save(_model(graph, meta), str(path))
    return path


def make_run(folder: Path, lr: float, steps: tuple[int, ...] = (2, 4)) -> Path:
    """A run folder as training leaves it (config, metrics, sample grids), written directly."""
    (folder / "samples").mkdir(parents=True)
    (folder / "config.yaml").write_text(f"task: pix2pix\noptim:\n  lr: {lr}\nrun:\n  name: {folder.name}\n")
    with (folder / "metrics.jsonl").open("w") as f:
        for step in steps:
            f.write(json.dumps({"kind": "train", "step": step, "epoch": 0, "time": float(step), "lr": lr,
                                "loss_G": 1.0 / step, "loss_D": 0.5}) + "\n")
    for step in steps:
        grid = np.full((48, 96, 3), 40 * step % 255, np.uint8)
        cv2.putText(grid, str(step), (10, 36), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        cv2.imwrite(str(folder / "samples" / f"step_{step:06d}.png"), grid)
    return folder


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    """A raw YUV 4:2:0 clip, the format Chromium's fake camera plays (``--use-file-for-fake-video-capture``)."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def inked(png: bytes, box: tuple[int, int, int, int] | None = None) -> float:
    """Share of a screenshot's pixels (in ``box`` = x, y, w, h) that are not page-white."""
    shot = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert shot is not None, "not a PNG"
    if box is not None:
        x, y, w, h = box
        shot = shot[y:y + h, x:x + w]
    assert shot.size
    return float((shot.astype(int).sum(axis=2) < 3 * 240).mean())


def photo(height: int, width: int) -> np.ndarray:
    """A crop of the bundled sample at the given size (RGB)."""
    tile = cv2.cvtColor(cv2.imread(str(SAMPLE / "val" / "pixels_r2c1.jpg")), cv2.COLOR_BGR2RGB)[:, :256]
    return cv2.resize(tile, (width, height), interpolation=cv2.INTER_AREA)
