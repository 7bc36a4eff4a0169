"""Super-resolution networks: published key layouts, sub-pixel shapes at every scale, discriminators, imports."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from i2i.deploy.reference import load_sr_generator
from i2i.errors import CheckpointError, ConfigError
from i2i.models import create_model


def rrdbnet_shapes(blocks: int = 23, nf: int = 64, gc: int = 32, in_ch: int = 3, scale: int = 4) -> dict:
    """The tensors of Real-ESRGAN's / BasicSR's RRDBNet files (RealESRGAN_x4plus.pth: 23 blocks), written out."""
    folded = {4: 1, 8: 1, 2: 4, 1: 16}[scale]
    shapes = {"conv_first.weight": (nf, in_ch * folded, 3, 3), "conv_first.bias": (nf,)}
    for b in range(blocks):
        for k in (1, 2, 3):
            for j in (1, 2, 3, 4, 5):
                out = gc if j < 5 else nf
                shapes[f"body.{b}.rdb{k}.conv{j}.weight"] = (out, nf + (j - 1) * gc, 3, 3)
                shapes[f"body.{b}.rdb{k}.conv{j}.bias"] = (out,)
    for name in ("conv_body", "conv_up1", "conv_up2", *(["conv_up3"] if scale == 8 else []), "conv_hr"):
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (nf, nf, 3, 3), (nf,)
    shapes["conv_last.weight"], shapes["conv_last.bias"] = (in_ch, nf, 3, 3), (in_ch,)
    return shapes


def msrresnet_shapes(scale: int, blocks: int = 16, nf: int = 64) -> dict:
    """BasicSR's MSRResNet files (MSRResNet_x4: 16 blocks, 64 features)."""
    shapes = {"conv_first.weight": (nf, 3, 3, 3), "conv_first.bias": (nf,)}
    for b in range(blocks):
        for c in ("conv1", "conv2"):
            shapes[f"body.{b}.{c}.weight"], shapes[f"body.{b}.{c}.bias"] = (nf, nf, 3, 3), (nf,)
    factors = {2: [4], 3: [9], 4: [4, 4]}[scale]
    for i, f in enumerate(factors, 1):
        shapes[f"upconv{i}.weight"], shapes[f"upconv{i}.bias"] = (nf * f, nf, 3, 3), (nf * f,)
    shapes["conv_hr.weight"], shapes["conv_hr.bias"] = (nf, nf, 3, 3), (nf,)
    shapes["conv_last.weight"], shapes["conv_last.bias"] = (3, nf, 3, 3), (3,)
    return shapes


def load_shapes(name: str, shapes: dict, **kwargs: object) -> torch.nn.Module:
    """Build ``name`` on the meta device and load a state dict of exactly ``shapes`` into it, strictly."""
    with torch.device("meta"):
        net = create_model(name, **kwargs)
        state = {k: torch.empty(v) for k, v in shapes.items()}
    net.load_state_dict(state, strict=True, assign=True)
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == shapes
    return net


@pytest.mark.parametrize("scale", [2, 4])
def test_rrdbnet_has_the_realesrgan_key_layout(scale: int) -> None:
    net = load_shapes("rrdbnet", rrdbnet_shapes(scale=scale), scale=scale)
    assert sum(math.prod(s) for s in rrdbnet_shapes(scale=scale).values()) == sum(p.numel() for p in net.parameters())
    load_shapes("rrdbnet_6blocks", rrdbnet_shapes(blocks=6))  # RealESRGAN_x4plus_anime_6B
    assert sum(p.numel() for p in create_model("rrdbnet", scale=4, **{}).parameters()) == 16_697_987


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_srresnet_has_basicsr_msrresnet_key_layout(scale: int) -> None:
    load_shapes("srresnet", msrresnet_shapes(scale), scale=scale)


@pytest.mark.parametrize(("name", "scale"), [("srresnet_2blocks", 2), ("srresnet_2blocks", 3), ("srresnet_2blocks", 4),
                                             ("srresnet_2blocks", 8), ("rrdbnet_1blocks", 1), ("rrdbnet_1blocks", 2),
                                             ("rrdbnet_1blocks", 4), ("rrdbnet_1blocks", 8)])
def test_sub_pixel_upsampling_gives_scale_times_the_input(name: str, scale: int) -> None:
    net = create_model(name, ngf=8, scale=scale)
    for h, w in ((12, 20), (16, 8)):
        x = torch.rand(2, 3, h, w)
        out = net(x)
        assert out.shape == (2, 3, h * scale, w * scale) and net.scale == scale
        out.mean().backward()
    assert net.size_multiple == ({1: 4, 2: 2}.get(scale, 1) if name.startswith("rrdbnet") else 1)


def test_srresnet_starts_near_bilinear_and_bad_scales_are_clear() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 3, 16, 16)
    bilinear = torch.nn.functional.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)
    assert (create_model("srresnet_4blocks", ngf=16)(x) - bilinear).abs().mean() < 0.05  # a small residual at first
    with pytest.raises(ConfigError, match="rrdbnet upscales by 1, 2, 4, 8, not 3"):
        create_model("rrdbnet", scale=3)
    with pytest.raises(ConfigError, match="srresnet upscales by 2, 3, 4, 8, not 5"):
        create_model("srresnet", scale=5)
    with pytest.raises(ConfigError, match="as many output as input channels"):
        create_model("srresnet", in_channels=1, out_channels=3)


def test_discriminators_judge_any_patch_size() -> None:
    vgg, unet = create_model("srgan", ndf=4), create_model("unet_sn", ndf=4)
    for h, w in ((96, 96), (128, 128), (80, 112)):
        x = torch.rand(2, 3, h, w)
        assert vgg(x).shape == (2, 1, math.ceil(h / 16), math.ceil(w / 16))
        assert unet(x).shape == (2, 1, h, w)
    keys = create_model("unet_sn", ndf=64).state_dict()  # Real-ESRGAN's net_d layout, spectral norm included
    assert keys["conv1.weight_orig"].shape == (128, 64, 4, 4) and keys["conv1.weight_u"].shape == (128,)
    assert keys["conv4.weight_orig"].shape == (256, 512, 3, 3) and keys["conv9.weight"].shape == (1, 64, 3, 3)
    assert "conv0.weight" in keys and "conv0.weight_orig" not in keys and "conv9.weight_orig" not in keys


def tiny_rrdbnet(scale: int = 4) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    torch.manual_seed(1)
    net = create_model("rrdbnet_2blocks", ngf=8, growth=4, scale=scale)
    for p in net.parameters():
        p.data.normal_(0, 0.05)
    return net, {k: v.clone() for k, v in net.state_dict().items()}


def test_published_files_import_unchanged(tmp_path: Path) -> None:
    """params_ema (preferred over params), DataParallel prefixes, ESRGAN's old names; the spec read from shapes."""
    net, state = tiny_rrdbnet(scale=2)
    noise = {k: torch.randn_like(v) for k, v in state.items()}
    torch.save({"params_ema": state, "params": noise}, tmp_path / "RealESRGAN_x2plus.pth")
    loaded, spec = load_sr_generator(tmp_path / "RealESRGAN_x2plus.pth", "rrdbnet")
    assert spec.name == "rrdbnet_2blocks" and spec.kwargs == {"in_channels": 3, "out_channels": 3, "ngf": 8,
                                                                "growth": 4, "scale": 2}
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(loaded(x), net(x))
    old = {}
    for key, value in tiny_rrdbnet(scale=4)[1].items():
        for new, was in (("body.", "RRDB_trunk."), ("conv_body", "trunk_conv"), ("conv_up", "upconv"),
                         ("conv_hr", "HRconv")):
            key = key.replace(new, was) if key.startswith(new) else key
        old["module." + key.replace(".rdb", ".RDB")] = value
    torch.save(old, tmp_path / "RRDB_ESRGAN_x4.pth")
    esrgan, spec = load_sr_generator(tmp_path / "RRDB_ESRGAN_x4.pth", "rrdbnet", scale=4)
    assert spec.kwargs["scale"] == 4 and torch.equal(esrgan(x), tiny_rrdbnet(scale=4)[0](x))
    torch.manual_seed(2)
    msr = create_model("srresnet_3blocks", ngf=8, scale=3)
    torch.save({"params": msr.state_dict()}, tmp_path / "MSRResNet_x3.pth")
    loaded, spec = load_sr_generator(tmp_path / "MSRResNet_x3.pth", "srresnet")
    assert spec.name == "srresnet_3blocks" and spec.kwargs["scale"] == 3 and torch.equal(loaded(x), msr(x))


def test_import_errors_are_one_line(tmp_path: Path) -> None:
    _, state = tiny_rrdbnet()
    torch.save({"params_ema": state}, tmp_path / "x4.pth")
    with pytest.raises(CheckpointError, match=r"x4\.pth: holds an x4 network, not --scale 2"):
        load_sr_generator(tmp_path / "x4.pth", "rrdbnet", scale=2)
    with pytest.raises(CheckpointError, match="holds an RRDBNet generator, not srresnet"):
        load_sr_generator(tmp_path / "x4.pth", "srresnet")
    with pytest.raises(CheckpointError, match="holds rrdbnet_2blocks, not rrdbnet_6blocks"):
        load_sr_generator(tmp_path / "x4.pth", "rrdbnet_6blocks")
    del state["body.1.rdb3.conv5.bias"]
    torch.save(state, tmp_path / "cut.pth")
    with pytest.raises(CheckpointError, match=r"lacks weight 'body\.1\.rdb3\.conv5\.bias' for rrdbnet_2blocks"):
        load_sr_generator(tmp_path / "cut.pth", "rrdbnet")
    torch.save({"params": {"weights": torch.zeros(3)}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not a BasicSR / Real-ESRGAN generator"):
        load_sr_generator(tmp_path / "other.pth", "rrdbnet")
