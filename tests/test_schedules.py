"""Learning-rate policies: the reference's linear decay, step and cosine, as functions of the epoch."""

from __future__ import annotations

import itertools

import pytest
import torch

from i2i.config import OptimConfig
from i2i.engine.schedules import lr_factor, set_learning_rate


def test_linear_is_constant_then_decays_without_reaching_zero() -> None:
    optim = OptimConfig(n_epochs=100, n_epochs_decay=100)
    factors = [lr_factor(optim, e) for e in range(200)]
    assert factors[:100] == [1.0] * 100
    assert factors[100] == pytest.approx(1 - 1 / 101) and factors[199] == pytest.approx(1 / 101)
    assert all(a > b for a, b in itertools.pairwise(factors[99:]))


def test_step_and_cosine() -> None:
    step = OptimConfig(lr_policy="step", lr_decay_epochs=50)
    assert [lr_factor(step, e) for e in (0, 49, 50, 100)] == pytest.approx([1, 1, 0.1, 0.01])
    cosine = OptimConfig(lr_policy="cosine", n_epochs=5, n_epochs_decay=5)
    assert [lr_factor(cosine, e) for e in (0, 5)] == pytest.approx([1.0, 0.5])


def test_set_learning_rate_updates_every_group() -> None:
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    lr = set_learning_rate({"G": optimizer}, OptimConfig(lr=2e-4, n_epochs=1, n_epochs_decay=1), 1)
    assert lr == pytest.approx(1e-4) and optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
