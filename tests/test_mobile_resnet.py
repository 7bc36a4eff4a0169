"""The compact generator: shapes, registry, multiply-adds, training through a task, ONNX parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SAMPLE, tiny_config
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from i2i.deploy.onnx_export import export_onnx, inference_network
from i2i.engine.checkpoint import load_checkpoint
from i2i.infer import OnnxModel
from i2i.infer.model import ModelInfo
from i2i.models import NETWORKS, create_model, list_models
from i2i.models.macs import count_macs
from i2i.models.mobile_resnet import MobileResnetBlock, MobileResnetGenerator
from i2i.models.resnet import ResnetGenerator
from i2i.nn import inference_mode, init_weights
from i2i.tasks import task_class
from i2i.training.trainer import train


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_output_shape_and_range(channels: int, norm: str) -> None:
    net = create_model("mobile_resnet_2blocks", in_channels=channels, out_channels=channels, ngf=8, norm=norm,
                       dropout=True)
    out = net(torch.randn(2, channels, 32, 36) * 3)
    assert out.shape == (2, channels, 32, 36)
    assert out.abs().max() <= 1.0  # tanh output


def test_registry_lookup() -> None:
    net = create_model("mobile_resnet_6blocks", ngf=8)
    assert isinstance(net, MobileResnetGenerator) and net.size_multiple == 4
    assert sum(isinstance(m, MobileResnetBlock) for m in net.modules()) == 6
    depthwise = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(depthwise) == 12 and all(m.groups == m.in_channels == 32 for m in depthwise)
    generators = list_models("generator")
    assert "mobile_resnet_9blocks" in generators and "mobile_resnet_<n>blocks" in generators
    assert NETWORKS.entry("mobile_resnet_9blocks").tags["role"] == "generator"
    assert isinstance(create_model("resnet_6blocks", ngf=8), ResnetGenerator)  # the two families stay apart


def test_count_macs_is_exact() -> None:
    """Against a hand count and against torch's own FLOP counter (2 FLOPs per multiply-add)."""
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1,
                                                                             output_padding=1))
    assert count_macs(conv, (2, 3, 16, 16)) == 2 * (16 * 16 * 8 * 3 * 9 + 16 * 16 * 8 * 4 * 9)
    net = create_model("mobile_resnet_3blocks", ngf=8)
    with FlopCounterMode(display=False) as flops, torch.no_grad():
        net(torch.zeros(1, 3, 64, 64))
    assert count_macs(net, (1, 3, 64, 64)) == flops.get_total_flops() // 2
    assert net.training  # the count leaves the train/eval state as it was


def test_far_fewer_macs_and_parameters_than_resnet() -> None:
    with torch.device("meta"):  # counted without memory or compute
        mobile, resnet = create_model("mobile_resnet_9blocks", ngf=64), create_model("resnet_9blocks", ngf=64)
    ratio = count_macs(resnet, (1, 3, 64, 64)) / count_macs(mobile, (1, 3, 64, 64))
    assert 4.0 < ratio < 5.0, ratio  # 49.6 vs 11.1 GMACs at 256x256: the skeleton outside the blocks remains
    params = [sum(p.numel() for p in net.parameters()) for net in (resnet, mobile)]
    assert params[0] / params[1] > 5
    with torch.device("meta"):
        small = [count_macs(create_model(name, ngf=8), (1, 3, 64, 64))
                 for name in ("resnet_9blocks", "mobile_resnet_9blocks")]
    assert small[0] / small[1] > 2.5, small  # 2.8: at 32 channels a separable conv saves less (7x, not 8.7x)


def test_pix2pix_trains_it_and_the_checkpoint_rebuilds_it(tmp_path: Path) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, model={"net_g": "mobile_resnet_2blocks"},
                         data={"val_images": 2, "max_dataset_size": 8}, run={"max_steps": 2})
    result = train(config, progress_bar=False)
    assert result.progress.step == 2 and result.checkpoint.is_file()
    cyclegan = tiny_config("cyclegan", SAMPLE, tmp_path, model={"net_g": "mobile_resnet_9blocks"})
    assert task_class("cyclegan").check_config(cyclegan) == 4  # CycleGAN builds and probes it the same way
    checkpoint = load_checkpoint(result.checkpoint)
    assert checkpoint.specs["G"].name == "mobile_resnet_2blocks" and checkpoint.specs["G"].kwargs["ngf"] == 8
    G = checkpoint.build("G")
    assert isinstance(G, MobileResnetGenerator) and G.size_multiple == 4
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad(), inference_mode(G):
        assert G(x).shape == (1, 3, 64, 64)


def test_onnx_export_matches_pytorch(tmp_path: Path) -> None:
    """Batch norm on each image's statistics (pix2pix's test mode) and dropout: the graph keeps per-image norms
    (swapped in by the exporter) and drops dropout, matching PyTorch run one image per batch."""
    torch.manual_seed(0)
    G = init_weights(create_model("mobile_resnet_1blocks", ngf=8, norm="batch", dropout=True), "normal", 0.2)
    with torch.no_grad():  # running statistics unlike the defaults, which the export must not use
        G.train()(torch.rand(4, 3, 32, 32) * 2 - 1)
    info = ModelInfo(task="pix2pix", architecture="mobile_resnet_1blocks", in_channels=3, out_channels=3,
                     size_multiple=G.size_multiple, train_size=64, batch_norm_stats="batch")
    export_onnx(inference_network(G, "batch"), info, tmp_path / "m.onnx")
    model = OnnxModel(tmp_path / "m.onnx", "cpu")
    assert model.info.architecture == "mobile_resnet_1blocks"
    assert model.info.norm_layers == 1 + 2 + 4 + 2  # stem, downsampling, one block (two separable convs), upsampling
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 48, 64)).astype(np.float32)
    with torch.no_grad(), inference_mode(G, "batch"):
        expected = torch.cat([G(torch.from_numpy(x[i:i + 1])) for i in range(2)]).numpy()  # one image per batch
    assert np.abs(model(x) - expected).max() <= 1e-4
