"""Normalisation layers by name, with the parameter layout of the reference pix2pix/CycleGAN code."""

from __future__ import annotations

from torch import nn

from ..config import NormKind
from ..errors import ConfigError


def norm_layer(kind: NormKind, num_features: int) -> nn.Module:
    """Batch norm (affine, running stats), instance norm (no affine, no running stats) or identity."""
    if kind == "batch":
        return nn.BatchNorm2d(num_features, affine=True, track_running_stats=True)
    if kind == "instance":
        return nn.InstanceNorm2d(num_features, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"unknown norm '{kind}'; choose from batch, instance, none")


def conv_bias(kind: NormKind) -> bool:
    """Convs followed by batch norm need no bias (its shift replaces it); the others keep one.

    The reference also drops the bias for norm 'none', leaving those convs with neither; only the batch
    and instance layouts matter for importing its checkpoints, so i2i keeps the bias there.
    """
    return kind != "batch"


# Layers whose CUDA kernels return a contiguous (NCHW) tensor for a channels-last input: a network that has
# them pays a transpose there and another at the next convolution (measured in bench/layers.py).
_LAYOUT_BREAKING = (nn.modules.instancenorm._InstanceNorm, nn.ReflectionPad2d, nn.ReplicationPad2d)


def keeps_channels_last(net: nn.Module) -> bool:
    """Whether every layer of ``net`` keeps a channels-last input channels-last on CUDA (batch norm, zero padding).

    Instance norm and reflection padding do not, so the ResNet generators and instance-norm discriminators
    train fastest in the default layout.
    """
    return not any(isinstance(m, _LAYOUT_BREAKING) for m in net.modules())
