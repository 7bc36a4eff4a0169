"""SRResNet (Ledig et al. 2017, the SRGAN generator) in BasicSR's MSRResNet form and key layout.

Residual blocks of two 3x3 convs at LR resolution, then sub-pixel upsampling (conv to ``4 x`` or ``9 x`` the
features, pixel shuffle), and a bilinear upscale of the input added to the output, so the network learns the
residual over bilinear. As in BasicSR's MSRResNet (whose published x2/x3/x4 files load unchanged), batch norm
is left out and PReLU is a leaky ReLU (slope 0.1): batch norm hurts SR (Lim et al. 2017, EDSR), and the layout
is the one people's checkpoints have: ``conv_first``, ``body.N.conv1|conv2``, ``upconv1`` (``upconv2``,
``upconv3``), ``conv_hr``, ``conv_last``. x8 adds a third x2 stage (``upconv3``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .registry import NETWORKS

SRRESNET_SCALES = (2, 3, 4, 8)


def scaled_kaiming_(modules: list[nn.Module], scale: float = 0.1) -> None:
    """BasicSR's initialisation: Kaiming-normal conv weights multiplied by ``scale``, zero biases.

    Small residual branches keep a deep residual stack close to the identity at the start of training.
    """
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
                m.weight.data.mul_(scale)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)


class ResidualBlockNoBN(nn.Module):
    """x + conv2(relu(conv1(x))), 3x3 convs with bias (BasicSR's ResidualBlockNoBN)."""

    def __init__(self, num_feat: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x)))


def upsample_stages(scale: int) -> list[int]:
    """The pixel-shuffle factors of each upsampling stage: x2 -> [2], x3 -> [3], x4 -> [2, 2], x8 -> [2, 2, 2]."""
    return {2: [2], 3: [3], 4: [2, 2], 8: [2, 2, 2]}[scale]


class MSRResNet(nn.Module):
    """Shape: (B, C, H, W) in [0, 1] -> (B, C, scale H, scale W); any H and W."""

    size_multiple = 1

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 16,
                 scale: int = 4) -> None:
        super().__init__()
        if scale not in SRRESNET_SCALES:
            raise ConfigError(f"srresnet upscales by {', '.join(map(str, SRRESNET_SCALES))}, not {scale}")
        if n_blocks < 1:
            raise ConfigError(f"srresnet needs at least one residual block, got {n_blocks}")
        if in_channels != out_channels:
            raise ConfigError(f"srresnet adds its upscaled input to the output, so it needs as many output as input "
                              f"channels (got {in_channels} and {out_channels})")
        self.scale = scale
        self.conv_first = nn.Conv2d(in_channels, ngf, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlockNoBN(ngf) for _ in range(n_blocks)])
        self.stages = upsample_stages(scale)
        for i, factor in enumerate(self.stages, 1):
            self.add_module(f"upconv{i}", nn.Conv2d(ngf, ngf * factor * factor, 3, 1, 1))
        self.conv_hr = nn.Conv2d(ngf, ngf, 3, 1, 1)
        self.conv_last = nn.Conv2d(ngf, out_channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)
        scaled_kaiming_([self])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        for i, factor in enumerate(self.stages, 1):  # sub-pixel upsampling, one stage per factor
            out = self.lrelu(F.pixel_shuffle(getattr(self, f"upconv{i}")(out), factor))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        return out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)


@NETWORKS.register("srresnet", role="generator", upscales=True)
def srresnet(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, scale: int = 4) -> MSRResNet:
    """SRResNet with 16 residual blocks (the SRGAN paper's generator; BasicSR's MSRResNet)."""
    return MSRResNet(in_channels, out_channels, ngf, 16, scale)


@NETWORKS.register_family("srresnet_<n>blocks", r"srresnet_(?P<n_blocks>\d+)blocks", examples=("srresnet_4blocks",),
                          role="generator", upscales=True)
def srresnet_blocks(n_blocks: int, in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
                    scale: int = 4) -> MSRResNet:
    """SRResNet with ``n_blocks`` residual blocks: srresnet_4blocks (with --ngf 32, --scale 2: fast enough live)."""
    return MSRResNet(in_channels, out_channels, ngf, n_blocks, scale)
