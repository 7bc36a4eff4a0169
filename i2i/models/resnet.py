"""ResNet generator (CycleGAN, Johnson et al.): downsample x4, residual blocks, upsample.

The module tree mirrors the reference implementation's (``model.1.weight`` is the 7x7 input conv), so
its pretrained checkpoints load as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..config import NormKind
from ..errors import ConfigError
from ..nn import conv_bias, norm_layer
from .registry import NETWORKS

# the image; with taps, (image, features); with taps and encode_only, the features
Output = torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]] | list[torch.Tensor]


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
        self.in_channels, self.n_blocks = in_channels, n_blocks

    def forward(self, x: torch.Tensor, taps: Sequence[int] = (), encode_only: bool = False) -> Output:
        """The translated image. With ``taps`` (indices into ``model``, repeats allowed), also the outputs of those
        layers, in the order given: ``(image, features)``; with ``encode_only``, the features alone, computed only
        as far as the deepest tap (CUT's PatchNCE and distillation compare such features)."""
        if not taps:
            return self.model(x)
        wanted, last, found = set(taps), max(taps), {}
        for index, layer in enumerate(self.model):
            x = layer(x)
            if index in wanted:
                found[index] = x
            if encode_only and index == last:
                break
        features = [found[i] for i in taps]
        return features if encode_only else (x, features)

    # --- layers other methods read features from (indices into ``model``) ---------------------------------------
    # model: 0 pad, 1 conv7x7, 2 norm, 3 relu | 4 conv s2, 5 norm, 6 relu | 7 conv s2, 8 norm, 9 relu |
    #        10 ... 9 + n_blocks residual blocks | two upsamplings | pad, conv7x7, tanh
    FIRST_BLOCK = 10

    def nce_layers(self) -> tuple[int, ...]:
        """CUT's PatchNCE layers (Park et al. 2020): the input pixels (reflection-padded), the outputs of the two
        downsampling convolutions, and of the first and the fifth residual block (the last one when there are
        fewer than five)."""
        blocks = sorted({self.FIRST_BLOCK, self.FIRST_BLOCK + min(4, self.n_blocks - 1)})
        return (0, 4, 7, *blocks)

    def stage_layers(self) -> tuple[int, ...]:
        """Four stages a distilled student matches with its teacher (GAN Compression): the encoder's output, and the
        outputs after a third, two thirds and all of the residual blocks (repeated for fewer than three blocks),
        so that generators of different depths pair stage by stage; all have ``ngf * 4`` channels."""
        encoder = self.FIRST_BLOCK - 1
        return (encoder, *(encoder + max(1, round(k * self.n_blocks / 3)) for k in (1, 2, 3)))

    def layer_channels(self, index: int) -> int:
        """Channels of the output of ``model[index]`` (the last convolution up to it sets them)."""
        channels = self.in_channels
        for layer in self.model[: index + 1]:
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                channels = layer.out_channels
        return channels


@NETWORKS.register_family("resnet_<n>blocks", r"resnet_(?P<n_blocks>\d+)blocks",
                         examples=("resnet_6blocks", "resnet_9blocks"), role="generator")
def resnet(n_blocks: int, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, norm: NormKind = "instance",
           dropout: bool = False) -> ResnetGenerator:
    """ResNet generator with ``n_blocks`` residual blocks: resnet_6blocks, resnet_9blocks, ..."""
    return ResnetGenerator(in_channels, out_channels, ngf, norm, dropout, n_blocks)
