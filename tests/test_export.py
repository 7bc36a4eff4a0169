"""Exporting trained runs: checked ONNX files with metadata, test-time batch norm, variants, CycleGAN's G_B."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from conftest import SAMPLE, export_tiny, tiny_config

from i2i.cli.main import main
from i2i.deploy.export import export_run, model_info
from i2i.deploy.onnx_export import TileableNorm, WithStatistics, export_onnx, inference_network, model_input
from i2i.deploy.subpixel import SubpixelConvTranspose, rewritable
from i2i.engine.checkpoint import load_checkpoint
from i2i.errors import CheckpointError, ConfigError, I2IError
from i2i.fileio import sha256_of
from i2i.hub.store import ModelStore
from i2i.images import read_image
from i2i.infer import OnnxModel
from i2i.infer.model import with_statistics_io
from i2i.models import spec_for
from i2i.nn import inference_mode
from i2i.training.trainer import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, unpaired_sample: Path) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("runs")
    p2p = tiny_config("pix2pix", SAMPLE, out, data={"val_images": 4}, run={"name": "p2p", "max_steps": 4})
    cyc = tiny_config("cyclegan", unpaired_sample, out, data={"val_images": 4}, run={"name": "cyc", "max_steps": 2})
    return {"pix2pix": train(p2p, progress_bar=False).run_dir, "cyclegan": train(cyc, progress_bar=False).run_dir}


def test_pix2pix_export_is_checked_described_and_registered(runs: dict[str, Path], tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "home")
    results = export_run(runs["pix2pix"], out=tmp_path / "m.onnx", fp16=True, int8=True, store=store,
                         say=lambda _: None)
    assert [r.name for r in results] == ["p2p", "p2p-fp16", "p2p-int8"]
    assert [r.path.name for r in results] == ["m.onnx", "m.fp16.onnx", "m.int8.onnx"]
    model = onnx.load(str(results[0].path))
    onnx.checker.check_model(model)
    meta = {p.key: p.value for p in model.metadata_props}
    assert (meta["i2i.task"], meta["i2i.architecture"], meta["i2i.in_channels"], meta["i2i.size_multiple"],
            meta["i2i.train_size"], meta["i2i.direction"], meta["i2i.batch_norm_stats"]) == (
        "pix2pix", "unet_64", "3", "64", "64", "AtoB", "batch")
    assert meta["i2i.value_range"] == "-1,1" and meta["i2i.i2i_version"]
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["sha256"] == sha256_of(tmp_path / "m.onnx") and card["source"].endswith("latest.safetensors")
    assert float(results[0].check.split("= ")[1].split()[0]) <= 1e-4
    assert float(results[2].check.split("= ")[1].split()[0]) > 25  # int8 PSNR in dB
    assert sorted(store.names()) == ["p2p", "p2p-fp16", "p2p-int8"]
    int8 = OnnxModel(store.get("p2p-int8").path, "cpu")  # type: ignore[union-attr]
    assert int8.info.precision == "int8"
    # upsampling rewritten as convolutions, so that every conv is quantized (see deploy/subpixel.py) ...
    ops = [node.op_type for node in onnx.load(str(results[2].path)).graph.node]
    assert "ConvTranspose" not in ops and ops.count("DequantizeLinear") >= ops.count("Conv") > 0
    # ... and still any batch and size, not those of the calibration images
    fp32 = OnnxModel(results[0].path, "cpu")
    x = np.random.default_rng(0).uniform(-1, 1, (3, 3, 128, 192)).astype(np.float32)
    assert int8(x).shape == (3, 3, 128, 192) and np.abs(int8(x) - fp32(x)).mean() < 0.05
    # every variant can share one image's norm statistics across tiles, as the fp32 model does
    for variant in (OnnxModel(results[1].path, "cpu"), int8):
        assert variant.info.norm_layers == fp32.info.norm_layers > 0
        stats = variant.statistics(x[:1])
        assert len(stats) == 2 * fp32.info.norm_layers and np.abs(variant(x[:1], stats) - variant(x[:1])).max() < 1e-3


@pytest.mark.parametrize(("kernel", "padding", "output_padding"), [(4, 1, 0), (3, 1, 1), (2, 0, 0), (6, 2, 0)])
def test_subpixel_convtranspose_is_exact(kernel: int, padding: int, output_padding: int) -> None:
    layer = torch.nn.ConvTranspose2d(5, 7, kernel, 2, padding, output_padding)
    assert rewritable(layer) and not rewritable(torch.nn.ConvTranspose2d(5, 7, 3, 2, 1))  # that one is 2H - 1
    x = torch.randn(2, 5, 9, 13)
    with torch.no_grad():
        assert torch.allclose(SubpixelConvTranspose(layer)(x), layer(x), atol=1e-5)


def test_dynamic_batch_and_size(runs: dict[str, Path], tmp_path: Path) -> None:
    (result,) = export_run(runs["pix2pix"], out=tmp_path / "m.onnx", register=False, say=lambda _: None)
    model = OnnxModel(result.path, "cpu")
    assert model(np.zeros((3, 3, 128, 192), np.float32)).shape == (3, 3, 128, 192)


def test_a_killed_exports_staging_folder_is_removed_by_the_next(runs: dict[str, Path], tmp_path: Path) -> None:
    """An export killed with SIGKILL leaves its hidden staging folder (full-size files); the next export to the
    same place removes it, and leaves alone one whose process still runs."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / f".m.onnx.{int(dead.stdout)}.abc123.staging"
    running = tmp_path / f".m.onnx.{os.getpid()}.def456.staging"
    for folder in (killed, running):
        folder.mkdir()
        (folder / "m.onnx").write_bytes(b"\0" * 1000)
    export_run(runs["pix2pix"], out=tmp_path / "m.onnx", register=False, say=lambda _: None)
    assert not killed.exists() and running.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.onnx", "m.json", running.name])


@pytest.mark.parametrize("stats", ["batch", "running"])
def test_batch_norm_at_test_time(runs: dict[str, Path], tmp_path: Path, stats: str) -> None:
    """'batch' reproduces the reference's test mode (batch norm on each image, one image per batch), minus
    dropout; 'running' is eval mode. Both are checked against PyTorch run independently of the export code."""
    (result,) = export_run(runs["pix2pix"], out=tmp_path / "m.onnx", batch_norm_stats=stats, register=False,
                           say=lambda _: None)
    G = load_checkpoint(runs["pix2pix"] / "checkpoints" / "latest.safetensors").build("G")
    image = read_image(sorted((SAMPLE / "val").glob("*.jpg"))[0])[:, :256]
    x = model_input(image, OnnxModel(result.path, "cpu").info)
    with torch.no_grad(), inference_mode(G, stats):  # type: ignore[arg-type]
        expected = G(torch.from_numpy(x)).numpy()
    got = OnnxModel(result.path, "cpu")(x)
    assert np.abs(got - expected).max() < 1e-4
    per_image_norms = OnnxModel(result.path, "cpu").info.norm_layers  # running statistics fold into the convs
    assert (per_image_norms > 0) == (stats == "batch")


def test_cyclegan_generators_and_errors(runs: dict[str, Path], tmp_path: Path) -> None:
    (g_b,) = export_run(runs["cyclegan"], which="G_B", out=tmp_path / "b.onnx", register=False, say=lambda _: None)
    info = OnnxModel(g_b.path, "cpu").info
    assert (g_b.name, info.direction, info.architecture, info.norm_layers) == ("cyc_G_B", "BtoA", "resnet_2blocks", 9)
    with pytest.raises(ConfigError, match="--which G: a cyclegan run has G_A, G_B"):
        export_run(runs["cyclegan"], which="G", register=False)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        export_run(tmp_path, register=False)


def test_inference_network_drops_dropout(runs: dict[str, Path]) -> None:
    G = load_checkpoint(runs["pix2pix"] / "checkpoints" / "latest.safetensors").build("G").train()
    net = inference_network(G)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(net(x), net(x))


def test_parity_check_tells_a_faulty_export_from_an_ill_conditioned_network(
        runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over 1e-4, the export stands only if ONNX is as close to float64 as PyTorch's own fp32 result is."""
    monkeypatch.setattr("i2i.deploy.export.parity", lambda *_: 3e-4)
    monkeypatch.setattr("i2i.deploy.export.float64_errors", lambda *_: (3e-4, 1e-5))
    with pytest.raises(I2IError, match=r"differ by 3.00e-04 .*the export was discarded"):
        export_run(runs["pix2pix"], out=tmp_path / "m.onnx", register=False, say=lambda _: None)
    assert not list(tmp_path.iterdir())  # nothing written, nothing left behind
    monkeypatch.setattr("i2i.deploy.export.float64_errors", lambda *_: (2e-4, 3e-4))
    (result,) = export_run(runs["pix2pix"], out=tmp_path / "m.onnx", register=False, say=lambda _: None)
    assert result.path.is_file() and "amplifies fp32 rounding" in result.check


@pytest.fixture(scope="module")
def resnet_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ResNet generator with 9 instance-norm layers, exported by i2i's export path."""
    return export_tiny(tmp_path_factory.mktemp("plain") / "r.onnx", "resnet_2blocks", "instance")


def test_the_exported_file_is_a_plain_model_for_other_runtimes(resnet_onnx: Path) -> None:
    """A third party's program: ONNX Runtime at its default log level prints nothing and sees image -> image;
    OpenCV's DNN module runs the file and agrees with ONNX Runtime."""
    code = ("import sys, onnxruntime as ort\n"
            "s = ort.InferenceSession(sys.argv[1])\n"
            "print([i.name for i in s.get_inputs()], [o.name for o in s.get_outputs()])")
    done = subprocess.run([sys.executable, "-c", code, str(resnet_onnx)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.strip() == "['input'] ['output']"
    graph = onnx.load(str(resnet_onnx)).graph
    assert [i.name for i in graph.input] == ["input"] and [o.name for o in graph.output] == ["output"]
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 64, 96)).astype(np.float32)
    expected = ort.InferenceSession(str(resnet_onnx)).run(None, {"input": x})[0]
    net = cv2.dnn.readNetFromONNX(str(resnet_onnx))
    net.setInput(x)
    got = net.forward()
    assert got.shape == expected.shape == (2, 3, 64, 96) and np.abs(got - expected).max() < 1e-4


def test_tiles_can_still_share_norm_statistics(resnet_onnx: Path, tmp_path: Path) -> None:
    """i2i exposes the statistics inside the plain file; given ones replace what each layer measures. Files of
    i2i 0.1, which had them as optional inputs, run the same way."""
    model = OnnxModel(resnet_onnx, "cpu")
    assert model.info.norm_layers == 9 and len(model.norm_inputs) == 18
    rng = np.random.default_rng(0)
    x, other = (rng.uniform(-1, 1, (1, 3, 64, 96)).astype(np.float32) for _ in range(2))
    own, theirs = model.statistics(x), model.statistics(other * 0.5)
    assert len(own) == 18 and own[0].shape == (1, 4) and own[0].dtype == np.float32
    assert np.abs(model(x, own) - model(x)).max() < 1e-5
    assert np.abs(model(x, theirs) - model(x)).mean() > 0.05  # the given statistics are the ones used
    legacy = tmp_path / "legacy.onnx"
    onnx.save(with_statistics_io(onnx.load(str(resnet_onnx)), model.norm_inputs, "test"), str(legacy))
    old = OnnxModel(legacy, "cpu")
    assert old.norm_inputs == model.norm_inputs
    assert np.abs(old(x, old.statistics(other * 0.5)) - model(x, theirs)).max() < 1e-6


def test_export_shows_warnings_and_its_norm_layers_keep_no_state(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Warnings raised while tracing reach the caller (none are swallowed wholesale), and the export itself
    raises none: no tensor attributes are assigned in forward. It prints nothing either."""

    class Noisy(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            warnings.warn("a note from the network", UserWarning, stacklevel=1)
            return self.net(x)

    spec = spec_for("resnet_2blocks", ngf=4, norm="instance")
    net = spec.build()
    test_net = inference_network(Noisy(net))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_onnx(test_net, model_info("cyclegan", spec, net, 64, "AtoB", "batch"), tmp_path / "n.onnx")
    messages = [str(w.message) for w in caught]
    assert capsys.readouterr().out == ""
    assert "a note from the network" in messages
    assert [m for m in messages if m != "a note from the network"] == []
    norms = [m for m in test_net.modules() if isinstance(m, TileableNorm)]
    state = [dict(vars(m)) for m in norms]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = WithStatistics(test_net)(torch.rand(1, 3, 32, 32))  # what the export traces
    assert len(outputs) == 1 + 2 * len(norms)
    for norm, before in zip(norms, state, strict=True):  # no attribute added or reassigned by a forward pass
        assert vars(norm).keys() == before.keys() and all(vars(norm)[k] is v for k, v in before.items())


def test_quantizing_leaves_the_callers_logging_alone(resnet_onnx: Path, tmp_path: Path) -> None:
    """In a fresh process: the root logger (level, handlers, filters) is the same after to_int8 and was not
    raised during it (the caller's own warnings still show), and ONNX Runtime's default log level is unchanged;
    the quantizer's own advice is not shown."""
    script = """
import logging, sys
from dataclasses import replace
from pathlib import Path
import numpy as np, onnx, onnxruntime as ort
import i2i.deploy.quantize as quantize
from i2i.infer.model import OnnxModel, with_statistics_io
source, out = Path(sys.argv[1]), Path(sys.argv[2])
root = logging.getLogger()
before, levels = (root.level, list(root.handlers), list(root.filters)), []
real = quantize.quantize_static
def spy(*args, **kwargs):
    levels.append(logging.getLogger("caller").getEffectiveLevel())
    logging.getLogger("caller").warning("the caller's warning")
    return real(*args, **kwargs)
quantize.quantize_static = spy
model = OnnxModel(source, "cpu")
quantize.to_int8(source, replace(model.info, precision="int8"), out, [np.zeros((1, 3, 32, 32), np.float32)])
print(before == (root.level, list(root.handlers), list(root.filters)), levels == [logging.WARNING])
# a model ONNX Runtime warns about (initializers that are also inputs): its warnings must still show
ort.InferenceSession(with_statistics_io(onnx.load(source), model.norm_inputs, "x").SerializeToString())
"""
    done = subprocess.run([sys.executable, "-c", script, str(resnet_onnx), str(tmp_path / "q.onnx")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
    assert "the caller's warning" in done.stderr and "appears in graph inputs" in done.stderr
    assert "pre-processing" not in done.stderr
    assert OnnxModel(tmp_path / "q.onnx", "cpu").info.precision == "int8"


@pytest.fixture(scope="module")
def earlier_export(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with an export of the pix2pix run (m.onnx and its card m.json)."""
    out = tmp_path_factory.mktemp("earlier") / "m.onnx"
    export_run(runs["pix2pix"], out=out, register=False, say=lambda _: None)
    return out.parent


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() if p.is_file() else b"<folder>" for p in folder.iterdir()}


@pytest.mark.parametrize(("step", "code"), [("model", errno.ENOSPC), ("model", errno.EROFS), ("fp16", errno.ENOSPC),
                                            ("card", errno.EACCES)])
def test_export_write_failures_are_one_line_and_keep_the_earlier_export(
        runs: dict[str, Path], earlier_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], step: str, code: int) -> None:
    """A full disk, a read-only file system or a denied permission while writing the model, a variant (after the
    model was ready) or a card: `error: PATH: cannot write (REASON)` on one line, and the files of the earlier
    export at that path are kept byte for byte."""
    folder = tmp_path / "export"
    shutil.copytree(earlier_export, folder)
    earlier = contents(folder)
    real_save = onnx.save

    def half_then_fail(*args: object, **kwargs: object) -> None:
        if step == "model":
            real_save(onnx.ModelProto(), args[1])  # something reached the temporary file first
        raise OSError(code, os.strerror(code))

    failing = {"model": folder / "m.onnx", "fp16": folder / "m.fp16.onnx", "card": folder / "m.json"}[step]
    target = {"model": "onnx.save", "fp16": "i2i.deploy.export.to_fp16", "card": "i2i.deploy.export.atomic_write_text"}
    monkeypatch.setattr(target[step], half_then_fail)
    status = main(["export", str(runs["pix2pix"]), "--out", str(folder / "m.onnx"), "--no-register",
                   *(["--fp16"] if step == "fp16" else [])])
    assert (status, capsys.readouterr().err) == (2, f"error: {failing}: cannot write ({os.strerror(code)})\n")
    assert contents(folder) == earlier  # nothing replaced, nothing left behind


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_export_into_a_read_only_folder(runs: dict[str, Path], earlier_export: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "export"
    shutil.copytree(earlier_export, folder)
    earlier = contents(folder)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        status = main(["export", str(runs["pix2pix"]), "--out", str(folder / "m.onnx"), "--no-register"])
    finally:
        folder.chmod(stat.S_IRWXU)
    assert (status, capsys.readouterr().err) == (2, f"error: {folder / 'm.onnx'}: cannot write (Permission denied)\n")
    assert contents(folder) == earlier


def test_a_store_that_cannot_be_written_is_one_line(runs: dict[str, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The files are written; registering them in I2I_HOME fails on a full disk: one line saying both."""
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))

    def disk_full(*_: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ModelStore, "add", disk_full)
    out = tmp_path / "m.onnx"
    status = main(["export", str(runs["pix2pix"]), "--out", str(out), "--name", "m"])
    assert (status, capsys.readouterr().err) == (
        2, f"error: {out} is written, but registering it as 'm' in {tmp_path / 'home'} failed (No space left on "
           "device)\n")
    assert OnnxModel(out, "cpu").info.task == "pix2pix" and (tmp_path / "m.json").is_file()
