"""A small CNN image classifier: trained on the user's labelled data, it is the feature space for sample metrics.

Three conv-BN-ReLU blocks with max pooling, global average pooling to a ``features``-wide vector, and a linear
layer to the classes. ``embed(x)`` returns that vector: FID, KID and precision/recall of generated samples are
computed on it when no Inception network fits the domain (Fashion-MNIST, a few thousand sneakers) or none can be
downloaded.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .registry import NETWORKS


class SmallCNN(nn.Module):
    """(B, channels, H, W) -> (B, num_classes) logits; ``embed`` gives the (B, features) vectors before them."""

    def __init__(self, channels: int = 3, class_names: list[str] | None = None, width: int = 32,
                 features: int = 128) -> None:
        """``class_names`` are kept with the network: a checkpoint knows what its outputs mean."""
        super().__init__()
        self.class_names = list(class_names or [])
        num_classes = len(self.class_names)
        if num_classes < 2:
            raise ConfigError(f"a classifier needs at least two classes, got {num_classes}")
        layers: list[nn.Module] = []
        in_ch = channels
        for out_ch in (width, width * 2, width * 4):
            layers += [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True),
                       nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True),
                       nn.MaxPool2d(2)]
            in_ch = out_ch
        self.trunk = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_ch, features),
                                   nn.ReLU(True))
        self.head = nn.Linear(features, num_classes)
        self.num_classes, self.feature_dim = num_classes, features

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.trunk(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(images))


@NETWORKS.register("small_cnn", role="classifier", inputs="image")
def small_cnn(channels: int = 3, class_names: list[str] | None = None, width: int = 32,
              features: int = 128) -> SmallCNN:
    """The domain classifier of the sample metrics."""
    return SmallCNN(channels, class_names, width, features)
