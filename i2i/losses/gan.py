"""GAN objectives, each as a discriminator loss and a generator loss on raw logits.

Predictions may be one tensor or a list (multi-scale discriminators); a list's losses are averaged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError

Pred = torch.Tensor | Sequence[torch.Tensor]


def _vanilla_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                  + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def _vanilla_g(fake: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def _lsgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake)))


def _lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(fake, torch.ones_like(fake))


def _hinge_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean())


def _wasserstein_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (fake.mean() - real.mean())


def _mean_critic_g(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


@dataclass(frozen=True)
class GANObjective:
    """One GAN objective. ``gradient_penalty`` says whether the discriminator step must add one."""

    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]
    gradient_penalty: bool = False


# The discriminator losses average the real and fake terms (x0.5), as the reference does.
GAN_LOSSES: dict[str, GANObjective] = {
    "vanilla": GANObjective(_vanilla_d, _vanilla_g),
    "lsgan": GANObjective(_lsgan_d, _lsgan_g),
    "hinge": GANObjective(_hinge_d, _mean_critic_g),
    "wgan": GANObjective(_wasserstein_d, _mean_critic_g),  # Lipschitz by weight clipping (the task clips)
    "wgangp": GANObjective(_wasserstein_d, _mean_critic_g, gradient_penalty=True),
}


class GANLoss:
    """A GAN objective by name: ``d_loss(real_pred, fake_pred)`` and ``g_loss(fake_pred)``, in fp32."""

    def __init__(self, mode: str) -> None:
        if mode not in GAN_LOSSES:
            raise ConfigError(f"unknown GAN loss '{mode}'; choose from {', '.join(GAN_LOSSES)}")
        self.mode = mode
        self.objective = GAN_LOSSES[mode]

    @property
    def needs_gradient_penalty(self) -> bool:
        return self.objective.gradient_penalty

    def d_loss(self, real: Pred, fake: Pred) -> torch.Tensor:
        pairs = zip(_as_list(real), _as_list(fake), strict=True)
        return torch.stack([self.objective.discriminator(r.float(), f.float()) for r, f in pairs]).mean()

    def g_loss(self, fake: Pred) -> torch.Tensor:
        return torch.stack([self.objective.generator(f.float()) for f in _as_list(fake)]).mean()


def gradient_penalty(critic: Callable[[torch.Tensor], Pred], real: torch.Tensor, fake: torch.Tensor,
                     weight: float = 10.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP: ``weight * E[(||grad critic(x_hat)||_2 - 1)^2]`` at random interpolates of real and fake.

    Shape: real, fake (B, C, H, W); returns a scalar that carries gradients to the critic's parameters.
    """
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, generator=generator, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = _as_list(critic(mixed))
    grads = torch.autograd.grad([s.float().sum() for s in scores], mixed, create_graph=True)[0]
    norms = (grads.flatten(1).float() + 1e-16).norm(2, dim=1)
    return weight * ((norms - 1.0) ** 2).mean()


def _as_list(pred: Pred) -> list[torch.Tensor]:
    return [pred] if isinstance(pred, torch.Tensor) else list(pred)
