"""Compact ResNet generator for real-time CPU inference (after GAN Compression's MobileResnetGenerator).

The skeleton is ResnetGenerator's (7x7 stem, two stride-2 downsamplings, residual blocks at ``ngf * 4``
channels, two transposed-conv upsamplings, 7x7 output conv, tanh); only the residual blocks change: each 3x3
conv becomes a depthwise 3x3 conv and a pointwise 1x1 conv, 8.7x fewer multiply-adds at 256 channels. The
blocks hold 88% of resnet_9blocks' work, so at ngf 64 the network does 4.5x fewer (11.1 vs 49.6 GMACs at
256x256) with 5.7x fewer parameters; at ngf 32 it does 3.1 GMACs. What remains is mostly the full-resolution
skeleton, which dominates CPU latency at small ngf (``bench/compact.py`` measures it).
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import NormKind
from ..nn import norm_layer
from .registry import NETWORKS
from .resnet import ResnetGenerator


def separable_conv(dim: int, norm: NormKind, bias: bool) -> list[nn.Module]:
    """Depthwise 3x3 conv, norm, pointwise 1x1 conv, norm: a 3x3 conv's receptive field at ~1/9 the cost.

    The norm between the two convs (as in GAN Compression) normalises each channel's spatial filter output
    before channels are mixed. The caller pads by reflection first, as ResnetBlock does (zero padding inside
    the conv measured no faster in ONNX Runtime).
    """
    return [nn.Conv2d(dim, dim, 3, groups=dim, bias=bias), norm_layer(norm, dim),
            nn.Conv2d(dim, dim, 1, bias=bias), norm_layer(norm, dim)]


class MobileResnetBlock(nn.Module):
    """x + [pad, dw3x3, norm, pw1x1, norm, relu, (dropout), pad, dw3x3, norm, pw1x1, norm](x)."""

    def __init__(self, dim: int, norm: NormKind, dropout: bool, bias: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), *separable_conv(dim, norm, bias), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), *separable_conv(dim, norm, bias)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class MobileResnetGenerator(ResnetGenerator):
    """ResnetGenerator with MobileResnetBlocks. Shape: (B, in, H, W) -> (B, out, H, W); H, W multiples of 4."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: NormKind = "instance",
                 dropout: bool = False, n_blocks: int = 9) -> None:
        super().__init__(in_channels, out_channels, ngf, norm, dropout, n_blocks, block=MobileResnetBlock)


@NETWORKS.register_family("mobile_resnet_<n>blocks", r"mobile_resnet_(?P<n_blocks>\d+)blocks",
                         examples=("mobile_resnet_9blocks",), role="generator")
def mobile_resnet(n_blocks: int, in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
                  norm: NormKind = "instance", dropout: bool = False) -> MobileResnetGenerator:
    """Compact ResNet generator with ``n_blocks`` depthwise-separable residual blocks: mobile_resnet_9blocks, ..."""
    return MobileResnetGenerator(in_channels, out_channels, ngf, norm, dropout, n_blocks)
