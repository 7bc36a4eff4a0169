"""The VAE's encoder: an image to the mean and log-variance of a diagonal Gaussian over the latent space.

The convolutional trunk mirrors the DCGAN discriminator (strided 4x4 convs down to 4x4, batch norm, LeakyReLU),
and a linear layer gives both statistics; the decoder is the DCGAN generator with logits out (``dcgan_g`` with
``output='logits'``), so the likelihood decides the link (sigmoid for Bernoulli data).
"""

from __future__ import annotations

import torch
from torch import nn

from .dcgan import _levels
from .registry import NETWORKS


class ConvEncoder(nn.Module):
    """(B, channels, image_size, image_size) -> (mean, log-variance), each (B, latent_dim)."""

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64, latent_dim: int = 128) -> None:
        super().__init__()
        levels = _levels(image_size)
        self.latent_dim = latent_dim
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for _ in range(levels - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
                       nn.LeakyReLU(0.2, True)]
            width *= 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.stats = nn.Linear(width * 16, 2 * latent_dim)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.stats(self.features(images)).chunk(2, dim=1)
        return mean, log_var


@NETWORKS.register("conv_encoder", role="encoder", inputs="image")
def conv_encoder(channels: int = 3, image_size: int = 64, ndf: int = 64, latent_dim: int = 128) -> ConvEncoder:
    """The VAE's Gaussian encoder."""
    return ConvEncoder(channels, image_size, ndf, latent_dim)
