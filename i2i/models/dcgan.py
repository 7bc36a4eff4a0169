"""DCGAN (Radford et al. 2016): a generator from noise and a discriminator, all strided convolutions.

Generator: z (B, latent_dim) -> a 4x4 map by one transposed conv, then transposed convs that double the size
(batch norm + ReLU), and a last one to ``channels`` with tanh: 32, 64 or 128 pixels by the number of layers.
Discriminator: strided 4x4 convs with LeakyReLU 0.2 (no norm on the first), down to 4x4, then a 4x4 conv to one
logit (no sigmoid: the loss takes logits; a WGAN critic is the same network). Weights are drawn from N(0, 0.02)
(``init normal``, the default). With ``num_classes`` both are conditional: the generator gets a label
embedding concatenated to z (Mirza and Osindero's conditioning), the discriminator a label map as an extra
input channel or, with ``projection``, the inner product of a label embedding with its pooled features
(Miyato and Koyama's projection discriminator).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from ..errors import ConfigError
from .registry import NETWORKS

CriticNorm = Literal["batch", "layer", "none"]
SIZES = (32, 64, 128)


def _levels(image_size: int) -> int:
    """Doublings from 4x4 to ``image_size`` (3 for 32 px, 4 for 64, 5 for 128)."""
    if image_size not in SIZES:
        raise ConfigError(f"--image-size {image_size}: DCGAN builds 32, 64 or 128 pixel images")
    return int(math.log2(image_size)) - 2


class DCGANGenerator(nn.Module):
    """(B, latent_dim) noise [and (B,) labels] -> (B, channels, image_size, image_size) in [-1, 1] (or logits)."""

    def __init__(self, latent_dim: int = 100, channels: int = 3, image_size: int = 64, ngf: int = 64,
                 class_names: list[str] | None = None, embed_dim: int = 50,
                 output: Literal["tanh", "logits"] = "tanh") -> None:
        """``class_names``: a conditional generator's labels, kept with it (sampling and export name them).
        ``output='logits'`` leaves out the tanh (a VAE decoder applies its own likelihood's link)."""
        super().__init__()
        levels = _levels(image_size)
        self.class_names = list(class_names or [])
        num_classes = len(self.class_names)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.image_size, self.channels = image_size, channels
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        width = ngf * 2 ** (levels - 1)
        in_dim = latent_dim + (embed_dim if num_classes else 0)
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_dim, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width),
                                   nn.ReLU(True)]  # 1x1 -> 4x4
        for _ in range(levels - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU(True)]
            width //= 2
        layers.append(nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False))
        if output == "tanh":
            layers.append(nn.Tanh())
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("a conditional generator needs labels")
            z = torch.cat([z, self.embed(labels)], 1)
        return self.main(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """(B, channels, image_size, image_size) [and (B,) labels] -> (B,) logits (critic scores for WGAN)."""

    def __init__(self, channels: int = 3, image_size: int = 64, ndf: int = 64, num_classes: int = 0,
                 projection: bool = False, norm: CriticNorm = "batch") -> None:
        super().__init__()
        levels = _levels(image_size)
        self.num_classes, self.projection, self.image_size = num_classes, projection, image_size
        label_channels = 1 if num_classes and not projection else 0
        self.label_map = nn.Embedding(num_classes, image_size * image_size) if label_channels else None
        layers: list[nn.Module] = [nn.Conv2d(channels + label_channels, ndf, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, True)]
        width, side = ndf, image_size // 2
        for _ in range(levels - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm != "batch"), _norm(norm, width * 2, side // 2),
                       nn.LeakyReLU(0.2, True)]
            width, side = width * 2, side // 2
        self.features = nn.Sequential(*layers)  # (B, width, 4, 4)
        self.head = nn.Conv2d(width, 1, 4, 1, 0, bias=False)
        self.embed = nn.Embedding(num_classes, width) if num_classes and projection else None

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes and labels is None:
            raise ValueError("a conditional discriminator needs labels")
        if self.label_map is not None:
            side = self.image_size
            images = torch.cat([images, self.label_map(labels).view(-1, 1, side, side)], 1)
        h = self.features(images)
        logits = self.head(h).flatten()
        if self.embed is not None:  # projection: <embed(y), sum-pooled features>
            logits = logits + (self.embed(labels) * h.sum((2, 3))).sum(1)
        return logits


def _norm(kind: CriticNorm, channels: int, side: int) -> nn.Module:
    """Batch norm (DCGAN), layer norm over (C, H, W) (a WGAN-GP critic), or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.LayerNorm([channels, side, side])
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"unknown critic norm '{kind}'; choose from batch, layer, none")


@NETWORKS.register("dcgan_g", role="generator", inputs="latent")
def dcgan_g(latent_dim: int = 100, channels: int = 3, image_size: int = 64, ngf: int = 64,
            class_names: list[str] | None = None, embed_dim: int = 50,
            output: Literal["tanh", "logits"] = "tanh") -> DCGANGenerator:
    """DCGAN generator from noise (conditional on ``class_names``)."""
    return DCGANGenerator(latent_dim, channels, image_size, ngf, class_names, embed_dim, output)


@NETWORKS.register("dcgan_d", role="discriminator", inputs="image")
def dcgan_d(channels: int = 3, image_size: int = 64, ndf: int = 64, num_classes: int = 0, projection: bool = False,
            norm: CriticNorm = "batch") -> DCGANDiscriminator:
    """DCGAN discriminator / WGAN critic (conditional with ``num_classes``)."""
    return DCGANDiscriminator(channels, image_size, ndf, num_classes, projection, norm)
