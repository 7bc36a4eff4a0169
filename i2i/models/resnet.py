"""ResNet generator (CycleGAN, Johnson et al.): downsample x4, residual blocks, upsample.

The module tree mirrors the reference implementation's (``model.1.weight`` is the 7x7 input conv), so
its pretrained checkpoints load as they are.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import NormKind
from ..errors import ConfigError
from ..nn import conv_bias, norm_layer
from .registry import NETWORKS


class ResnetBlock(nn.Module):
    """x + [pad, conv3x3, norm, relu, (dropout), pad, conv3x3, norm](x), with reflection padding."""

    def __init__(self, dim: int, norm: NormKind, dropout: bool, bias: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim),
                                   nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Shape: (B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]; H and W multiples of 4."""

    size_multiple = 4

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: NormKind = "instance",
                 dropout: bool = False, n_blocks: int = 9, block: type[nn.Module] = ResnetBlock) -> None:
        """``block(dim, norm, dropout, bias)`` builds each residual block (compact variants swap it)."""
        super().__init__()
        if n_blocks < 1:
            raise ConfigError(f"a ResNet generator needs at least one residual block, got {n_blocks} "
                              "(resnet_6blocks, resnet_9blocks, ...)")
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                                   norm_layer(norm, ngf), nn.ReLU(True)]
        for i in range(2):  # 1. downsample twice
            mult = 2**i
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=bias),
                       norm_layer(norm, ngf * mult * 2), nn.ReLU(True)]
        layers += [block(ngf * 4, norm, dropout, bias) for _ in range(n_blocks)]  # 2. residual blocks
        for i in range(2):  # 3. upsample twice
            mult = 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1,
                                          bias=bias),
                       norm_layer(norm, ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@NETWORKS.register_family("resnet_<n>blocks", r"resnet_(?P<n_blocks>\d+)blocks",
                         examples=("resnet_6blocks", "resnet_9blocks"), role="generator")
def resnet(n_blocks: int, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: NormKind = "instance",
           dropout: bool = False) -> ResnetGenerator:
    """ResNet generator with ``n_blocks`` residual blocks: resnet_6blocks, resnet_9blocks, ..."""
    return ResnetGenerator(in_channels, out_channels, ngf, norm, dropout, n_blocks)
