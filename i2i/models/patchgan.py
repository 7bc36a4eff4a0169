"""Discriminators: PatchGAN with n layers, the 1x1 pixel discriminator, and a multi-scale PatchGAN.

Each returns raw logits (no sigmoid): one map of patch scores, or a list of maps for the multi-scale one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import NormKind
from ..nn import conv_bias, norm_layer
from .registry import NETWORKS


class NLayerDiscriminator(nn.Module):
    """PatchGAN: ``n_layers`` strided 4x4 convs, then two stride-1 convs; 3 layers see 70x70 patches.

    Shape: (B, in_channels, H, W) -> (B, 1, H', W') logits. Same keys as the reference.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: NormKind = "batch") -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias),
                       norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN (PixelGAN): judges each pixel's colour alone. (B, C, H, W) -> (B, 1, H, W)."""

    def __init__(self, in_channels: int, ndf: int = 64, norm: NormKind = "batch") -> None:
        super().__init__()
        bias = conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias), norm_layer(norm, ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MultiscaleDiscriminator(nn.Module):
    """pix2pixHD-style: the same PatchGAN design at full, 1/2, 1/4 ... resolution; returns a list of maps."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: NormKind = "batch",
                 num_scales: int = 3) -> None:
        super().__init__()
        self.scales = nn.ModuleList(NLayerDiscriminator(in_channels, ndf, n_layers, norm) for _ in range(num_scales))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for i, disc in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(disc(x))
        return outputs


@NETWORKS.register("basic", role="discriminator")
def basic(in_channels: int, ndf: int = 64, norm: NormKind = "batch") -> NLayerDiscriminator:
    """The default 70x70 PatchGAN (3 layers)."""
    return NLayerDiscriminator(in_channels, ndf, 3, norm)


@NETWORKS.register("n_layers", role="discriminator")
def n_layers(in_channels: int, ndf: int = 64, n_layers: int = 3, norm: NormKind = "batch") -> NLayerDiscriminator:
    """PatchGAN with ``n_layers`` strided convs (--n-layers-d)."""
    return NLayerDiscriminator(in_channels, ndf, n_layers, norm)


@NETWORKS.register("pixel", role="discriminator")
def pixel(in_channels: int, ndf: int = 64, norm: NormKind = "batch") -> PixelDiscriminator:
    """1x1 PixelGAN discriminator."""
    return PixelDiscriminator(in_channels, ndf, norm)


@NETWORKS.register("multiscale", role="discriminator")
def multiscale(in_channels: int, ndf: int = 64, n_layers: int = 3, norm: NormKind = "batch",
               num_scales: int = 3) -> MultiscaleDiscriminator:
    """Multi-scale PatchGAN (pix2pixHD): ``num_scales`` PatchGANs on an image pyramid."""
    return MultiscaleDiscriminator(in_channels, ndf, n_layers, norm, num_scales)
