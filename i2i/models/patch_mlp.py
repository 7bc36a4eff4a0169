"""CUT's projection heads: one two-layer MLP per feature layer, mapping sampled feature vectors to unit embeddings.

PatchNCE (``i2i.losses.patchnce``) compares a generator's features at sampled positions of its input and its
output; each layer's vectors first pass through their own MLP (Linear, ReLU, Linear), as SimCLR's projection head
does, and are then L2-normalised. The heads are built from the channels of the generator's layers (known from its
spec), not from the first batch as the reference code does, so a checkpoint rebuilds them as they were.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .registry import NETWORKS


class PatchMLP(nn.Module):
    """Shape: a list of (B, S, channels[l]) samples -> a list of (B, S, width), each vector of unit length."""

    def __init__(self, channels: list[int], width: int = 256) -> None:
        super().__init__()
        if not channels or min(channels) < 1 or width < 1:
            raise ConfigError(f"patch_mlp needs at least one layer of at least one channel and a width of at least 1 "
                              f"(got channels {channels}, width {width})")
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(c, width), nn.ReLU(), nn.Linear(width, width))
                                   for c in channels)

    def forward(self, samples: list[torch.Tensor]) -> list[torch.Tensor]:
        if len(samples) != len(self.heads):
            raise ValueError(f"patch_mlp has {len(self.heads)} heads, got {len(samples)} feature layers")
        return [F.normalize(head(x), dim=-1, eps=1e-7) for head, x in zip(self.heads, samples, strict=True)]


@NETWORKS.register("patch_mlp", role="head", inputs="patches")
def patch_mlp(channels: list[int], width: int = 256) -> PatchMLP:
    """PatchNCE projection heads for feature layers of ``channels`` channels each (CUT: 256 wide)."""
    return PatchMLP(list(channels), width)
