"""Every registered network: shapes, parameter counts, the reference key layout, init and test mode."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from i2i.errors import ConfigError
from i2i.models import NETWORKS, create_model, list_models, spec_for
from i2i.nn import inference_mode, init_weights


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize(("name", "kwargs", "params"), [
    ("unet_256", {"norm": "batch"}, 54_413_955),         # the reference's figures
    ("resnet_9blocks", {"norm": "instance"}, 11_378_179),
    ("basic", {"in_channels": 6, "norm": "batch"}, 2_768_705),
])
def test_parameter_counts_match_the_reference(name: str, kwargs: dict, params: int) -> None:
    with torch.device("meta"):
        assert count(create_model(name, **kwargs)) == params


def test_reference_key_layout() -> None:
    """The keys the reference's pretrained files use, with their shapes (ConvTranspose: in, out, k, k)."""
    with torch.device("meta"):
        unet = create_model("unet_256", norm="batch", dropout=True).state_dict()
        resnet = create_model("resnet_9blocks", norm="instance").state_dict()
    assert unet["model.model.0.weight"].shape == (64, 3, 4, 4)
    assert unet["model.model.3.weight"].shape == (128, 3, 4, 4)
    assert "model.model.1.model.3.model.3.model.3.model.3.model.1.weight" in unet  # 6 levels deep
    assert resnet["model.1.weight"].shape == (64, 3, 7, 7)
    assert resnet["model.26.weight"].shape == (3, 64, 7, 7)
    assert resnet["model.10.conv_block.5.weight"].shape == (256, 256, 3, 3)
    assert not any("running" in key for key in resnet)  # instance norm keeps no running stats


GENERATORS = ["unet_32", "unet_64", "unet_128", "resnet_2blocks", "resnet_6blocks", "resnet_9blocks"]


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_generator_shapes(name: str, norm: str) -> None:
    net = create_model(name, in_channels=1, out_channels=3, ngf=4, norm=norm, dropout=True)
    size = max(64, net.size_multiple)
    out = net(torch.randn(2, 1, size, size + net.size_multiple))
    assert out.shape == (2, 3, size, size + net.size_multiple)
    assert out.abs().max() <= 1.0  # tanh output


@pytest.mark.parametrize(("name", "kwargs", "out_shape"), [
    ("basic", {}, [(2, 1, 14, 14)]),                      # 128 -> 70x70 receptive field patches
    ("n_layers", {"n_layers": 4}, [(2, 1, 6, 6)]),
    ("pixel", {}, [(2, 1, 128, 128)]),
    ("multiscale", {"num_scales": 3}, [(2, 1, 14, 14), (2, 1, 6, 6), (2, 1, 2, 2)]),
])
def test_discriminator_shapes(name: str, kwargs: dict, out_shape: list) -> None:
    net = create_model(name, in_channels=6, ndf=4, **kwargs)
    out = net(torch.randn(2, 6, 128, 128))
    outs = out if isinstance(out, list) else [out]
    assert [tuple(o.shape) for o in outs] == out_shape


def _example(name: str) -> tuple[nn.Module, tuple[torch.Tensor, ...], Callable[[Any], bool]]:
    """A small instance of a registered network, an input, and what its output must look like (its role's contract)."""
    entry = NETWORKS.entry(name)
    role, inputs = entry.tags["role"], entry.tags.get("inputs", "image")
    if inputs == "latent":  # noise (and labels) -> an image in tanh's range
        net = create_model(name, latent_dim=8, channels=3, image_size=32, ngf=4)
        return net, (torch.randn(2, 8),), lambda y: y.shape == (2, 3, 32, 32) and float(y.detach().abs().max()) <= 1.0
    if name == "dcgan_d":  # an image -> one logit per image
        return create_model(name, channels=2, image_size=32, ndf=4), (torch.randn(2, 2, 32, 32),), \
            lambda y: y.shape == (2,)
    if role == "encoder":  # an image -> mean and log-variance
        net = create_model(name, channels=2, image_size=32, ndf=4, latent_dim=8)
        return net, (torch.randn(2, 2, 32, 32),), lambda y: [t.shape for t in y] == [(2, 8), (2, 8)]
    if role == "classifier":  # an image -> class logits
        net = create_model(name, channels=2, class_names=list("abcde"), width=4)
        return net, (torch.randn(2, 2, 32, 32),), lambda y: y.shape == (2, 5)
    if entry.tags.get("upscales"):  # super-resolution: an image `scale` times larger ([0, 1] plus a residual)
        net = create_model(name, in_channels=2, out_channels=2, ngf=4, scale=2)
        return net, (torch.rand(2, 2, 32, 48),), lambda y: y.shape == (2, 2, 64, 96)
    if inputs == "patches":  # CUT's heads: sampled feature vectors per layer -> unit embeddings
        net = create_model(name, channels=[2, 5], width=4)
        return net, ([torch.randn(2, 7, 2), torch.randn(2, 7, 5)],), \
            lambda y: [t.shape for t in y] == [(2, 7, 4)] * 2 and all(torch.allclose(t.norm(dim=-1), torch.ones(2, 7))
                                                                    for t in y)
    if inputs == "feature_maps":  # distillation adapters: student maps -> teacher channels, same resolution
        net = create_model(name, student=[2, 3], teacher=[4, 6])
        return net, ([torch.randn(2, 2, 8, 8), torch.randn(2, 3, 4, 4)],), \
            lambda y: [t.shape for t in y] == [(2, 4, 8, 8), (2, 6, 4, 4)]
    x = torch.randn(2, 2, 256, 256)
    if role == "generator":  # an image of the same size, 3 channels by default, in tanh's range
        return create_model(name, in_channels=2, ngf=4), (x,), \
            lambda y: y.shape == (2, 3, 256, 256) and float(y.detach().abs().max()) <= 1.0
    # a discriminator: patch logits (a list of maps for the multi-scale one)
    return create_model(name, in_channels=2, ndf=4), (x,), \
        lambda y: all(m.shape[:2] == (2, 1) and m.shape[2] >= 1 for m in (y if isinstance(y, list) else [y]))


def test_every_registered_network_builds_and_runs() -> None:
    """Each name builds a network that maps an input to what its role promises, with gradients to every weight."""
    for name in list_models():
        concrete = name.replace("<size>", "64").replace("<n>", "3")
        net, inputs, expected = _example(concrete)
        out = net(*inputs)
        assert expected(out), name
        parts = out if isinstance(out, (list, tuple)) else [out]
        sum(part.sum() for part in parts).backward()
        assert all(p.grad is not None for p in net.parameters() if p.requires_grad), name


def test_unknown_names_and_arguments_are_clear() -> None:
    with pytest.raises(ConfigError, match="did you mean 'unet_256'"):
        create_model("unet256")
    with pytest.raises(ConfigError, match="power of two"):
        create_model("unet_100")
    with pytest.raises(ConfigError, match="does not take n_layers"):
        create_model("pixel", in_channels=3, n_layers=4)
    # spec_for keeps only what the builder accepts, so one options dict serves every discriminator
    assert spec_for("pixel", in_channels=3, n_layers=4).kwargs == {"in_channels": 3}


@pytest.mark.parametrize("kind", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_weights(kind: str) -> None:
    """Each scheme gives its own, computable spread: N(0, gain), gain*sqrt(2/(fan_in+fan_out)), sqrt(2/fan_in),
    and for orthogonal, rows that are orthogonal with norm gain."""
    torch.manual_seed(0)
    gain = 0.02
    conv = nn.Conv2d(64, 128, 3)  # fan_in 576, fan_out 1152
    net = init_weights(nn.Sequential(conv, nn.BatchNorm2d(128)), kind, gain)
    weight = conv.weight.detach()
    assert float(conv.bias.detach().abs().max()) == 0
    expected_std = {"normal": gain, "xavier": gain * math.sqrt(2 / (576 + 1152)), "kaiming": math.sqrt(2 / 576),
                    "orthogonal": gain / math.sqrt(576)}[kind]
    assert float(weight.std()) == pytest.approx(expected_std, rel=0.05)
    if kind == "orthogonal":
        rows = weight.view(128, -1)
        assert torch.allclose(rows @ rows.T, gain**2 * torch.eye(128), atol=1e-7)
    bn = net[1]
    assert float(bn.weight.detach().mean()) == pytest.approx(1.0, abs=0.01)
    assert float(bn.bias.detach().abs().max()) == 0


def test_inference_mode_uses_batch_statistics_and_changes_nothing() -> None:
    torch.manual_seed(0)
    net = create_model("unet_32", ngf=4, norm="batch", dropout=True)
    net.train()
    x = torch.randn(1, 3, 32, 32) * 3 + 2
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with inference_mode(net, "batch"):
        first, second = net(x), net(x)
    assert torch.equal(first, second)  # dropout off
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # running stats untouched
    assert net.training and all(m.training for m in net.modules())  # mode restored
    with inference_mode(net, "running"):
        running = net(x)
    assert not torch.allclose(first, running)  # fresh running stats (0/1) differ from this batch's
