"""How a generator runs at test time: dropout off, batch norm on batch or running statistics."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from torch import nn

BatchNormStats = Literal["batch", "running"]


def has_batch_norm(net: nn.Module) -> bool:
    """Whether ``net`` has batch norms (whose test-time statistics then matter)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


@contextmanager
def inference_mode(net: nn.Module, batch_norm_stats: BatchNormStats = "batch") -> Iterator[nn.Module]:
    """Run ``net`` for inference inside the block, then restore its train/eval state.

    ``batch``: batch norm normalises with the statistics of the batch it sees, as the reference pix2pix
    does at test time (with one image per batch, per-image statistics); running statistics are neither
    used nor updated. ``running``: the usual ``eval()``. Dropout is off in both.
    """
    modes = [(m, m.training) for m in net.modules()]
    hidden = []
    net.eval()
    if batch_norm_stats == "batch":
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
                # with no running stats, an eval-mode batch norm uses the batch's and updates nothing
                hidden.append((m, m.running_mean, m.running_var))
                m.running_mean, m.running_var = None, None
    try:
        yield net
    finally:
        for m, mean, var in hidden:
            m.running_mean, m.running_var = mean, var
        for m, training in modes:
            m.training = training
