"""Learning-rate policies as pure functions of the epoch, so the epoch alone restores them on resume."""

from __future__ import annotations

import math

import torch

from ..config import OptimConfig


def lr_factor(optim: OptimConfig, epoch: int) -> float:
    """Multiplier of the initial learning rate during ``epoch`` (0-based).

    linear: 1 for ``n_epochs`` epochs, then down by 1/(n_epochs_decay + 1) per epoch (the reference's
    schedule; its last epoch trains at 1/(n_epochs_decay + 1) of the rate, never at 0).
    step: x0.1 every ``lr_decay_epochs``. cosine: half a cosine from 1 to 0 over all epochs.
    """
    if optim.lr_policy == "linear":
        return 1.0 - max(0, epoch + 1 - optim.n_epochs) / float(optim.n_epochs_decay + 1)
    if optim.lr_policy == "step":
        return 0.1 ** (epoch // max(1, optim.lr_decay_epochs))
    total = max(1, optim.n_epochs + optim.n_epochs_decay)
    return 0.5 * (1.0 + math.cos(math.pi * epoch / total))


def set_learning_rate(optimizers: dict[str, torch.optim.Optimizer], optim: OptimConfig, epoch: int) -> float:
    """Set every optimizer's learning rate for ``epoch``; returns it.

    A learning rate held as a device tensor (read by a captured CUDA graph) is updated in place.
    """
    lr = optim.lr * lr_factor(optim, epoch)
    for optimizer in optimizers.values():
        for group in optimizer.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
    return lr
