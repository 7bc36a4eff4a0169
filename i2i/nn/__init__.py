"""Layers and helpers shared by all networks."""

from .init import init_weights
from .modes import inference_mode
from .norm import conv_bias, keeps_channels_last, norm_layer

__all__ = ["conv_bias", "inference_mode", "init_weights", "keeps_channels_last", "norm_layer"]
