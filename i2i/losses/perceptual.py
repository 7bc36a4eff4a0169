"""Perceptual (VGG feature) loss of SRGAN and ESRGAN, on torchvision's ImageNet VGG19 weights.

Features are taken *before* the activation of the named conv layers (``conv5_4``: ESRGAN's choice, which keeps
the information the ReLU would discard), from images in [0, 1] normalised with ImageNet's mean and std. The
weights are torchvision's ``vgg19-dcbb9e9d.pth``: given as a file, or fetched once into ``I2I_HOME`` through
the weights catalogue (``i2i.hub.weights``). There is no fallback to random weights: a perceptual loss on an
untrained VGG measures nothing useful, so a missing or malformed file is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError, ConfigError, did_you_mean
from ..hub.weights import WeightsFile, register, weights_path
from ..pth import torch_load

VGG19 = register(WeightsFile(
    name="vgg19", file="vgg19-dcbb9e9d.pth", url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    sha256="dcbb9e9d", licence="torchvision's VGG19 ImageNet weights (BSD-3-Clause code; ImageNet's terms apply)"))

# torchvision's vgg19().features: (name, channels out) per conv; a ReLU after each, a max-pool after each stage
_STAGES = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
Criterion = Literal["l1", "mse"]


def vgg19_layer_names() -> list[str]:
    """Names of the modules of torchvision's ``vgg19().features``, in order: conv1_1, relu1_1, ..., pool5."""
    names = []
    for stage, (_, convs) in enumerate(_STAGES, 1):
        for k in range(1, convs + 1):
            names += [f"conv{stage}_{k}", f"relu{stage}_{k}"]
        names.append(f"pool{stage}")
    return names


def parse_layers(text: str, flag: str = "--perceptual-layers") -> dict[str, float]:
    """``'conv5_4'`` or ``'conv3_4:0.5,conv5_4:1'`` -> {layer: weight}; an unknown layer is a ConfigError."""
    names = vgg19_layer_names()
    layers: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition(":")
        name = name.strip()
        if name not in names:
            raise ConfigError(f"{flag} {text}: no VGG19 layer '{name}'{did_you_mean(name, names)} "
                              "(conv1_1 ... conv5_4, relu1_1 ... relu5_4, pool1 ... pool5)")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(f"{flag} {text}: '{weight}' is not a number (write LAYER:WEIGHT)") from None
        if value < 0:
            raise ConfigError(f"{flag} {text}: the weight of {name} must be at least 0")
        layers[name] = value
    if not layers:
        raise ConfigError(f"{flag}: name at least one VGG19 layer (for example conv5_4)")
    return layers


def vgg19_features(last: str) -> nn.Sequential:
    """torchvision's ``vgg19().features`` up to and including layer ``last`` (same indices, so its keys load)."""
    layers: list[nn.Module] = []
    channels = 3
    for width, convs in _STAGES:
        for _ in range(convs):
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=False)]
            channels = width
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers[: vgg19_layer_names().index(last) + 1])


def load_vgg19(path: Path, last: str) -> nn.Sequential:
    """VGG19 features up to ``last`` with the weights of torchvision's file ``path`` (tensors only are read)."""
    if not Path(path).exists():
        raise ConfigError(f"{path}: no such weights file")
    state = torch_load(path, "PyTorch weights file")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a state dict of VGG19 tensors (torchvision's vgg19-dcbb9e9d.pth)")
    features = vgg19_features(last)
    wanted = {f"features.{k}": v for k, v in features.state_dict().items()}
    missing = [k for k in wanted if k not in state]
    if missing:
        raise CheckpointError(f"{path}: not torchvision's VGG19 layout (no '{missing[0]}'; expected "
                              "vgg19-dcbb9e9d.pth)")
    wrong = next((k for k, v in wanted.items() if tuple(state[k].shape) != tuple(v.shape)), None)
    if wrong is not None:
        raise CheckpointError(f"{path}: '{wrong}' has shape {tuple(state[wrong].shape)}, VGG19 needs "
                              f"{tuple(wanted[wrong].shape)}")
    features.load_state_dict({k.removeprefix("features."): state[k] for k in wanted})
    return features.eval().requires_grad_(False)


class PerceptualLoss(nn.Module):
    """``sum_l w_l * criterion(VGG_l(output), VGG_l(target))`` over the chosen layers; images (B, 3, H, W) in [0, 1].

    Args:
        layers: {layer name: weight}, for example ``{"conv5_4": 1.0}`` (see ``parse_layers``).
        weights: torchvision's VGG19 file; None fetches it into ``I2I_HOME`` (``mirror`` applies).
        criterion: ``l1`` (ESRGAN) or ``mse`` (SRGAN).

    The VGG is frozen and in eval mode; it is not a network of the task (never trained, saved or exported).
    """

    def __init__(self, layers: dict[str, float], weights: str | Path | None = None, criterion: Criterion = "l1",
                 mirror: str | None = None, say: Callable[[str], None] = print) -> None:
        super().__init__()
        names = vgg19_layer_names()
        self.layers = dict(sorted(layers.items(), key=lambda item: names.index(item[0])))
        self.taps = {names.index(name): name for name in self.layers}
        path = weights_path("vgg19", weights or None, mirror=mirror, say=say)
        self.vgg = load_vgg19(path, next(reversed(self.layers)))
        self.distance = F.l1_loss if criterion == "l1" else F.mse_loss
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> PerceptualLoss:
        """The VGG stays in eval mode whatever the caller's mode."""
        super().train(mode)
        self.vgg.eval()
        return self

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The chosen layers' outputs for images in [0, 1] (grey images are repeated to three channels)."""
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        x = (images - self.mean) / self.std
        found = {}
        for index, layer in enumerate(self.vgg):
            x = layer(x)
            if index in self.taps:
                found[self.taps[index]] = x
        return found

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        got = self.features(output)
        with torch.no_grad():
            want = self.features(target)
        return sum(w * self.distance(got[n].float(), want[n].float()) for n, w in self.layers.items())  # type: ignore[return-value]
