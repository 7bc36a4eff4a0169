"""Exporting trained runs: checked ONNX files with metadata, test-time batch norm, variants, CycleGAN's G_B."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from conftest import SAMPLE, tiny_config

from i2i.deploy.export import export_run
from i2i.deploy.onnx_export import inference_network, model_input
from i2i.deploy.subpixel import SubpixelConvTranspose, rewritable
from i2i.engine.checkpoint import load_checkpoint
from i2i.engine.trainer import train
from i2i.errors import CheckpointError, ConfigError, I2IError
from i2i.fileio import sha256_of
from i2i.hub.store import ModelStore
from i2i.images import read_image
from i2i.infer import OnnxModel
from i2i.nn import inference_mode


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
    with pytest.raises(I2IError, match=r"differ by 3.00e-04 .*the export was removed"):
        export_run(runs["pix2pix"], out=tmp_path / "m.onnx", register=False, say=lambda _: None)
    assert not (tmp_path / "m.onnx").exists()
    monkeypatch.setattr("i2i.deploy.export.float64_errors", lambda *_: (2e-4, 3e-4))
    (result,) = export_run(runs["pix2pix"], out=tmp_path / "m.onnx", register=False, say=lambda _: None)
    assert result.path.is_file() and "amplifies fp32 rounding" in result.check
