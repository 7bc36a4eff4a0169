"""Adversarial objectives of the SR GANs: the standard ones, and ESRGAN's relativistic average GAN.

The relativistic average discriminator (Jolicoeur-Martineau 2018, used by ESRGAN) estimates whether a real image
is *more realistic than the average fake* (and a fake less realistic than the average real), so the generator's
loss also gets gradients through the real images' scores. Every objective here is
``d_loss(real_pred, fake_pred)`` and ``g_loss(real_pred, fake_pred)`` on raw logits, in fp32.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .gan import GANLoss

SRGANMode = Literal["vanilla", "lsgan", "hinge", "ragan"]


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def ragan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """D: real - mean(fake) -> real, fake - mean(real) -> fake (averaged)."""
    real, fake = real.float(), fake.float()
    return 0.5 * (_bce(real - fake.mean(), True) + _bce(fake - real.mean(), False))


def ragan_g_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """G: the same terms with the labels swapped; ``real`` carries no gradient to D here (the caller detaches it)."""
    real, fake = real.float(), fake.float()
    return 0.5 * (_bce(real - fake.mean(), False) + _bce(fake - real.mean(), True))


class AdversarialLoss:
    """An SR GAN objective by name: ``vanilla``, ``lsgan``, ``hinge`` (i2i.losses.GANLoss) or ``ragan``."""

    def __init__(self, mode: str) -> None:
        if mode not in ("vanilla", "lsgan", "hinge", "ragan"):
            raise ConfigError(f"unknown GAN loss '{mode}'; choose from vanilla, lsgan, hinge, ragan")
        self.mode = mode
        self.relativistic = mode == "ragan"
        self.standard = None if self.relativistic else GANLoss(mode)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        if self.standard is not None:
            return self.standard.d_loss(real, fake)
        return ragan_d_loss(real, fake)

    def g_loss(self, real: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
        """``real`` is needed (detached) only by the relativistic objective; the others ignore it."""
        if self.standard is not None:
            return self.standard.g_loss(fake)
        assert real is not None, "the relativistic objective needs the real images' scores"
        return ragan_g_loss(real, fake)
