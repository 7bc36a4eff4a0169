"""Discriminators of the SR GANs: SRGAN's VGG-style network and Real-ESRGAN's U-Net with spectral norm.

Both are fully convolutional, so they judge HR patches of any size (multiples of 16 for ``srgan``, 8 for
``unet_sn``) and return a map of logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from ..config import NormKind
from ..nn import conv_bias, norm_layer
from .registry import NETWORKS


class VGGStyleDiscriminator(nn.Module):
    """SRGAN's discriminator (Ledig et al. 2017): eight 3x3 convs, 64 -> 512 features, every second one with
    stride 2, batch norm and leaky ReLU (0.2); its two dense layers (1024, then 1) are 1x1 convs here, so each
    position of the 1/16-resolution map scores the patch its receptive field covers, at any input size.

    Shape: (B, C, H, W) -> (B, 1, ceil(H / 16), ceil(W / 16)) logits.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, norm: NormKind = "batch") -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        channels = ndf
        for level, mult in enumerate((1, 2, 4, 8)):
            out = ndf * mult
            if level:  # a stride-1 conv widens the features at each new level ...
                layers += [nn.Conv2d(channels, out, 3, 1, 1, bias=bias), norm_layer(norm, out), nn.LeakyReLU(0.2, True)]
            layers += [nn.Conv2d(out, out, 3, 2, 1, bias=bias), norm_layer(norm, out), nn.LeakyReLU(0.2, True)]
            channels = out  # ... and a stride-2 conv halves the resolution
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Conv2d(channels, ndf * 16, 1), nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * 16, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class UNetDiscriminatorSN(nn.Module):
    """Real-ESRGAN's discriminator: a U-Net (three stride-2 convs down, bilinear x2 + conv up, skip additions)
    with spectral-normalised convs, giving one logit per pixel. Key layout of Real-ESRGAN's ``net_d`` files
    (``conv0`` ... ``conv9``, ``weight_orig`` / ``weight_u`` / ``weight_v``).

    Shape: (B, C, H, W) -> (B, 1, H, W); H and W multiples of 8.
    """

    size_multiple = 8  # three stride-2 levels whose upsampled outputs are added to the skips

    def __init__(self, in_channels: int = 3, ndf: int = 64, skip_connection: bool = True) -> None:
        super().__init__()
        self.skip_connection = skip_connection
        self.conv0 = nn.Conv2d(in_channels, ndf, 3, 1, 1)
        widths = (ndf, ndf * 2, ndf * 4, ndf * 8)
        for i in range(1, 4):  # downsample
            self.add_module(f"conv{i}", spectral_norm(nn.Conv2d(widths[i - 1], widths[i], 4, 2, 1, bias=False)))
        for i in range(4, 7):  # upsample
            self.add_module(f"conv{i}", spectral_norm(nn.Conv2d(widths[7 - i], widths[6 - i], 3, 1, 1, bias=False)))
        self.conv7 = spectral_norm(nn.Conv2d(ndf, ndf, 3, 1, 1, bias=False))
        self.conv8 = spectral_norm(nn.Conv2d(ndf, ndf, 3, 1, 1, bias=False))
        self.conv9 = nn.Conv2d(ndf, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        x0 = act(self.conv0(x))
        x1 = act(self.conv1(x0))
        x2 = act(self.conv2(x1))
        x3 = act(self.conv3(x2))
        up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
        x4 = act(self.conv4(up(x3)))
        x4 = x4 + x2 if self.skip_connection else x4
        x5 = act(self.conv5(up(x4)))
        x5 = x5 + x1 if self.skip_connection else x5
        x6 = act(self.conv6(up(x5)))
        x6 = x6 + x0 if self.skip_connection else x6
        return self.conv9(act(self.conv8(act(self.conv7(x6)))))


@NETWORKS.register("srgan", role="discriminator")
def srgan(in_channels: int = 3, ndf: int = 64, norm: NormKind = "batch") -> VGGStyleDiscriminator:
    """SRGAN's VGG-style discriminator, fully convolutional (any HR patch size, multiples of 16)."""
    return VGGStyleDiscriminator(in_channels, ndf, norm)


@NETWORKS.register("unet_sn", role="discriminator")
def unet_sn(in_channels: int = 3, ndf: int = 64) -> UNetDiscriminatorSN:
    """Real-ESRGAN's U-Net discriminator with spectral norm: a logit per pixel (multiples of 8)."""
    return UNetDiscriminatorSN(in_channels, ndf)
