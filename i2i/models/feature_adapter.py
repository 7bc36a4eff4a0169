"""Distillation adapters (GAN Compression, Li et al. 2020): a learned 1x1 convolution per matched stage that maps
the student's feature map onto the teacher's channels, so a narrow student can be asked to reproduce what a wide
teacher computes in between, not only its output. Trained with the student; never exported."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .registry import NETWORKS


class FeatureAdapters(nn.Module):
    """Shape: a list of (B, student[l], H_l, W_l) maps -> a list of (B, teacher[l], H_l, W_l) maps."""

    def __init__(self, student: list[int], teacher: list[int]) -> None:
        super().__init__()
        if not student or len(student) != len(teacher) or min(*student, *teacher) < 1:
            raise ConfigError(f"feature_adapter pairs stages one to one: got student channels {student} and teacher "
                              f"channels {teacher}")
        self.convs = nn.ModuleList(nn.Conv2d(s, t, 1) for s, t in zip(student, teacher, strict=True))

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        if len(features) != len(self.convs):
            raise ValueError(f"feature_adapter has {len(self.convs)} stages, got {len(features)} feature maps")
        return [conv(x) for conv, x in zip(self.convs, features, strict=True)]


@NETWORKS.register("feature_adapter", role="head", inputs="feature_maps")
def feature_adapter(student: list[int], teacher: list[int]) -> FeatureAdapters:
    """1x1 convolutions from the student's stage channels to the teacher's, one per stage."""
    return FeatureAdapters(list(student), list(teacher))
