"""U-Net generator with skip connections (pix2pix), any depth.

The module tree mirrors the reference implementation's, so a state dict has the same keys and shapes
(``model.model.0.weight`` is the first conv) and its pretrained checkpoints load as they are.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import NormKind
from ..errors import ConfigError
from ..nn import conv_bias, norm_layer
from .registry import NETWORKS


class UNetBlock(nn.Module):
    """One level: downsample, the inner levels, upsample; the input is concatenated as the skip.

    x -> [down -> inner -> up] -> cat(x, .)     (the outermost level returns the up path alone)
    """

    def __init__(self, outer_nc: int, inner_nc: int, in_nc: int | None = None, inner: nn.Module | None = None,
                 outermost: bool = False, norm: NormKind = "batch", dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        bias = conv_bias(norm)
        in_nc = outer_nc if in_nc is None else in_nc
        down_conv = nn.Conv2d(in_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=bias)
        if outermost:
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers = [down_conv, inner, nn.ReLU(True), up_conv, nn.Tanh()]
        elif inner is None:  # innermost: no skip below, no norm on the bottleneck
            up_conv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up_conv, norm_layer(norm, outer_nc)]
        else:
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, norm_layer(norm, inner_nc), inner,
                      nn.ReLU(True), up_conv, norm_layer(norm, outer_nc)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UNetGenerator(nn.Module):
    """U-Net with ``num_downs`` halvings: an input of 2**num_downs pixels reaches 1x1 at the bottleneck.

    Shape: (B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]; H and W multiples of
    ``size_multiple`` (2**num_downs).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, num_downs: int = 8, ngf: int = 64,
                 norm: NormKind = "batch", dropout: bool = False) -> None:
        super().__init__()
        if num_downs < 5:
            raise ConfigError(f"a U-Net needs at least 5 downsamplings (unet_32), got {num_downs}")
        self.size_multiple = 2**num_downs
        block = UNetBlock(ngf * 8, ngf * 8, norm=norm)  # innermost
        for _ in range(num_downs - 5):
            block = UNetBlock(ngf * 8, ngf * 8, inner=block, norm=norm, dropout=dropout)
        block = UNetBlock(ngf * 4, ngf * 8, inner=block, norm=norm)
        block = UNetBlock(ngf * 2, ngf * 4, inner=block, norm=norm)
        block = UNetBlock(ngf, ngf * 2, inner=block, norm=norm)
        self.model = UNetBlock(out_channels, ngf, in_nc=in_channels, inner=block, outermost=True, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@NETWORKS.register_family("unet_<size>", r"unet_(?P<size>\d+)", examples=("unet_128", "unet_256"),
                         role="generator")
def unet(size: int, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: NormKind = "batch",
         dropout: bool = False) -> UNetGenerator:
    """U-Net for images whose sides are multiples of ``size`` (a power of two >= 32): unet_128, unet_256, ..."""
    num_downs = size.bit_length() - 1
    if size < 32 or size != 2**num_downs:
        raise ConfigError(f"unet_{size}: the size must be a power of two, at least 32 (unet_64, unet_256, ...)")
    return UNetGenerator(in_channels, out_channels, num_downs, ngf, norm, dropout)
