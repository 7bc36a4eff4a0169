"""GAN objectives: known values, list (multi-scale) averaging, and a gradient penalty that acts."""

from __future__ import annotations

import math

import pytest
import torch

from i2i.errors import ConfigError
from i2i.losses import GANLoss, gradient_penalty


def test_values_at_known_logits() -> None:
    real, fake = torch.full((1, 1, 2, 2), 2.0), torch.full((1, 1, 2, 2), -1.0)
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731  BCE-with-logits of target 1 at logit -x
    assert GANLoss("vanilla").d_loss(real, fake).item() == pytest.approx(0.5 * (softplus(-2) + softplus(-1)))
    assert GANLoss("vanilla").g_loss(fake).item() == pytest.approx(softplus(1))
    assert GANLoss("lsgan").d_loss(real, fake).item() == pytest.approx(0.5 * (1 + 1))
    assert GANLoss("lsgan").g_loss(fake).item() == pytest.approx(4.0)
    assert GANLoss("hinge").d_loss(real, fake).item() == pytest.approx(0.5 * (0 + 0))
    assert GANLoss("hinge").d_loss(fake, real).item() == pytest.approx(0.5 * (2 + 3))
    assert GANLoss("wgangp").d_loss(real, fake).item() == pytest.approx(0.5 * (-1 - 2))
    assert GANLoss("wgangp").g_loss(fake).item() == pytest.approx(1.0)
    assert GANLoss("wgan").d_loss(real, fake).item() == pytest.approx(0.5 * (-1 - 2))  # the critic's estimate
    assert not GANLoss("wgan").needs_gradient_penalty and GANLoss("wgangp").needs_gradient_penalty


def test_multiscale_predictions_are_averaged() -> None:
    """Scale losses are averaged per scale, not per element: (1 + 0) / 2, whatever the maps' sizes."""
    loss = GANLoss("lsgan")
    a, b = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 2, 2)  # (0 - 1)^2 = 1 on 16 patches; (1 - 1)^2 = 0 on 4
    assert loss.g_loss([a, b]).item() == pytest.approx(0.5)
    assert loss.d_loss([b, b], [a, b]).item() == pytest.approx(0.5 * (0.5 * (0 + 0) + 0.5 * (0 + 1)))


def test_unknown_mode() -> None:
    with pytest.raises(ConfigError, match="unknown GAN loss"):
        GANLoss("wgann")


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic_and_trains_others() -> None:
    unit = torch.nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        unit.weight.fill_(1.0)
    real, fake = torch.rand(3, 1, 1, 1), torch.rand(3, 1, 1, 1)
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-6)  # |grad| = 1 exactly

    critic = torch.nn.Conv2d(3, 1, 3, padding=1)
    real, fake = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    penalty = gradient_penalty(critic, real, fake, weight=10.0)
    assert penalty.item() > 0
    penalty.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0
