"""RRDBNet, ESRGAN's generator (Wang et al. 2018), in the key layout of BasicSR's and Real-ESRGAN's files.

Residual-in-residual dense blocks at LR resolution (``body.N.rdbK.convJ``, K = 1..3, J = 1..5), a trunk conv
(``conv_body``) added to the first features, then nearest-neighbour x2 upsampling + conv twice (``conv_up1``,
``conv_up2``), ``conv_hr`` and ``conv_last``. So RealESRGAN_x4plus.pth and BasicSR's ESRGAN files load as they
are (their tensors sit under ``params_ema`` or ``params``). As in Real-ESRGAN, x2 (and x1) fold the input's
2x2 (4x4) pixel blocks into channels first (pixel unshuffle) and reuse the x4 body; x8 adds ``conv_up3``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .registry import NETWORKS
from .srresnet import scaled_kaiming_

RRDBNET_SCALES = (1, 2, 4, 8)


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs (each sees the input and all earlier outputs); x + 0.2 * conv5(...)."""

    def __init__(self, num_feat: int = 64, growth: int = 32) -> None:
        super().__init__()
        for j in range(1, 5):
            self.add_module(f"conv{j}", nn.Conv2d(num_feat + (j - 1) * growth, growth, 3, 1, 1))
        self.conv5 = nn.Conv2d(num_feat + 4 * growth, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for j in range(1, 5):
            features.append(self.lrelu(getattr(self, f"conv{j}")(torch.cat(features, 1))))
        return x + 0.2 * self.conv5(torch.cat(features, 1))


class RRDB(nn.Module):
    """Three residual dense blocks inside one more residual connection, scaled by 0.2."""

    def __init__(self, num_feat: int, growth: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, growth)
        self.rdb2 = ResidualDenseBlock(num_feat, growth)
        self.rdb3 = ResidualDenseBlock(num_feat, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    """Shape: (B, C, H, W) in [0, 1] -> (B, C_out, scale H, scale W); H, W multiples of ``size_multiple``."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 23,
                 growth: int = 32, scale: int = 4) -> None:
        super().__init__()
        if scale not in RRDBNET_SCALES:
            raise ConfigError(f"rrdbnet upscales by {', '.join(map(str, RRDBNET_SCALES))}, not {scale}")
        if n_blocks < 1:
            raise ConfigError(f"rrdbnet needs at least one RRDB block, got {n_blocks}")
        self.scale = scale
        self.unshuffle = {1: 4, 2: 2}.get(scale, 1)  # x1 and x2 fold pixels into channels, then upscale x4
        self.size_multiple = self.unshuffle
        self.conv_first = nn.Conv2d(in_channels * self.unshuffle**2, ngf, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(ngf, growth) for _ in range(n_blocks)])
        self.conv_body = nn.Conv2d(ngf, ngf, 3, 1, 1)
        self.ups = 3 if scale == 8 else 2
        for i in range(1, self.ups + 1):
            self.add_module(f"conv_up{i}", nn.Conv2d(ngf, ngf, 3, 1, 1))
        self.conv_hr = nn.Conv2d(ngf, ngf, 3, 1, 1)
        self.conv_last = nn.Conv2d(ngf, out_channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        scaled_kaiming_([self.body])  # BasicSR scales the dense blocks' init by 0.1; the rest keeps PyTorch's

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        for i in range(1, self.ups + 1):
            feat = self.lrelu(getattr(self, f"conv_up{i}")(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


@NETWORKS.register("rrdbnet", role="generator", upscales=True)
def rrdbnet(in_channels: int = 3, out_channels: int = 3, ngf: int = 64, growth: int = 32, scale: int = 4) -> RRDBNet:
    """ESRGAN's RRDBNet: 23 RRDB blocks, 64 features, growth 32 (RealESRGAN_x4plus, ESRGAN_x4)."""
    return RRDBNet(in_channels, out_channels, ngf, 23, growth, scale)


@NETWORKS.register_family("rrdbnet_<n>blocks", r"rrdbnet_(?P<n_blocks>\d+)blocks", examples=("rrdbnet_6blocks",),
                          role="generator", upscales=True)
def rrdbnet_blocks(n_blocks: int, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, growth: int = 32,
                   scale: int = 4) -> RRDBNet:
    """RRDBNet with ``n_blocks`` RRDB blocks: rrdbnet_6blocks (RealESRGAN_x4plus_anime_6B), ..."""
    return RRDBNet(in_channels, out_channels, ngf, n_blocks, growth, scale)
