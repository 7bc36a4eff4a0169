"""What the methods trained on labelled images share: generation from noise, the VAE, the domain classifier.

Their data is a folder of images (first-level subfolders are classes) or IDX files (see ``data/labelled.py``),
scaled and centre-cropped to ``--image-size`` with ``--channels``; a batch is {'image', 'label'}.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import MethodConfig, TrainConfig, option
from ..data import DataSplits, find_labelled, labelled_data
from ..engine.checkpoint import load_checkpoint, resolve_checkpoint
from ..engine.precision import Precision
from ..errors import ConfigError, DataError
from ..metrics.generation import image_batches
from .base import TRANSLATION_OPTIONS, ExportPlan, Task


@dataclass(frozen=True)
class LabelledConfig(MethodConfig):
    """The image options of the methods on labelled images."""

    image_size: int = option(64, "side the images are scaled and centre-cropped to (and generated at)",
                             choices=(32, 64, 128))
    channels: int = option(3, "channels of the images (1 grey, 3 RGB)", choices=(1, 3))


@dataclass(frozen=True)
class GenerativeConfig(LabelledConfig):
    """The options of the methods that generate images: how their samples are scored during training."""

    classifier: str = option("", "a classifier run (i2i train classifier) that scores samples at each validation: FID, "
                                 "KID, precision/recall and classes covered in its feature space", metavar="RUN")
    metric_samples: int = option(1000, "samples scored at each validation (with --classifier)", minimum=10)


class LabelledTask(Task):
    """A method trained on labelled images; ``uses_labels`` says whether every image must have a class."""

    unused_options = TRANSLATION_OPTIONS
    validation_batch_size = 100  # networks run in eval mode there: batch statistics play no part

    @classmethod
    def uses_labels(cls, config: TrainConfig) -> bool:
        return False

    @classmethod
    def load_data(cls, config: TrainConfig, size_multiple: int, cache_file: Path | None,
                  report: Path | None) -> DataSplits:
        method = labelled_method(config)
        return labelled_data(config.data, method.image_size, method.channels, cls.uses_labels(config),
                             config.run.seed, cache_file, report)

    @classmethod
    def example_batch(cls, config: TrainConfig) -> dict[str, torch.Tensor]:
        method, batch = labelled_method(config), cls.loader_batch_size(config)
        return {"image": torch.empty(batch, method.channels, method.image_size, method.image_size),
                "label": torch.zeros(batch, dtype=torch.int64)}


class GenerativeTask(LabelledTask):
    """A method that generates images: with --classifier, its validation scores samples in that classifier's
    feature space against the validation images (whose features are computed once per run)."""

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        super().__init__(config, device, precision)
        self.class_names: list[str] = []  # a conditional model's classes, which the classifier must share
        self._judge: DomainClassifier | None = None
        self._reference: tuple[Any, np.ndarray] | None = None  # (dataset, its features)

    def judge(self) -> DomainClassifier | None:
        """The --classifier run as a feature extractor (loaded once), or None without one."""
        method = self.config.method
        assert isinstance(method, GenerativeConfig)
        if not method.classifier:
            return None
        if self._judge is None:
            self._judge = DomainClassifier(method.classifier, self.device)
            if self.class_names and self._judge.class_names != self.class_names:
                raise ConfigError(f"--classifier {method.classifier}: its classes "
                                  f"({', '.join(self._judge.class_names)}) are not the data's "
                                  f"({', '.join(self.class_names)})")
        return self._judge

    def reference_features(self, judge: DomainClassifier, dataset: Any) -> np.ndarray:
        """The judge's features of the validation images: the set does not change during a run."""
        if self._reference is None or self._reference[0] is not dataset:
            self._reference = (dataset, judge.describe(image_batches(dataset))[0])
        return self._reference[1]


class DomainClassifier:
    """A trained classifier checkpoint as a feature extractor and a judge: images in [-1, 1] in, features out."""

    def __init__(self, source: str | Path, device: torch.device | str = "cpu") -> None:
        from . import config_from_dict  # the package's, once every task is registered

        path = Path(source)
        checkpoint = load_checkpoint(resolve_checkpoint(path, "--classifier"), with_state=False)
        config = config_from_dict(checkpoint.config, str(path))
        if "C" not in checkpoint.specs or not hasattr(config.method, "features"):
            raise ConfigError(f"{path}: not a classifier run (train one with `i2i train classifier --data ...`)")
        self.device = torch.device(device)
        self.net: nn.Module = checkpoint.build("C").to(self.device).eval()
        self.class_names: list[str] = list(self.net.class_names)  # type: ignore[attr-defined]
        self.image_size: int = config.method.image_size  # type: ignore[attr-defined]
        self.channels: int = config.method.channels  # type: ignore[attr-defined]
        self.source = path

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] of any size and 1 or 3 channels -> what the classifier was trained on."""
        images = images.to(self.device, torch.float32)
        if images.shape[1] != self.channels:
            images = images.mean(1, keepdim=True) if self.channels == 1 else images.expand(-1, 3, -1, -1)
        if images.shape[-2:] != (self.image_size, self.image_size):
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear",
                                   antialias=True, align_corners=False)
        return images

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(features, predicted class) of a batch of images in [-1, 1]."""
        x = self.prepare(images)
        features = self.net.embed(x)  # type: ignore[operator]
        return features.float().cpu(), self.net.head(features).argmax(1).cpu()  # type: ignore[operator]

    def describe(self, batches: Iterable[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        """Features and predictions of every image the batches hold."""
        features, predicted = [], []
        for batch in batches:
            f, p = self(batch)
            features.append(f)
            predicted.append(p)
        if not features:
            raise DataError("no images to describe")
        return torch.cat(features).numpy(), torch.cat(predicted).numpy()


def labelled_method(config: TrainConfig) -> LabelledConfig:
    method = config.method
    if not isinstance(method, LabelledConfig):
        raise ConfigError(f"{config.task}: expected the options of a method on labelled images, got "
                          f"{type(method).__name__}")
    return method


def class_names(config: TrainConfig) -> list[str]:
    """The training data's class names (subfolders or classes.txt): a conditional model's labels."""
    return list(_class_names(str(Path(config.data.root).resolve())))


@functools.lru_cache(maxsize=8)
def _class_names(root: str) -> tuple[str, ...]:
    data = find_labelled(root, "train", conditional=True)
    assert data is not None
    return tuple(data.classes)


class _Sampler(nn.Module):
    """A generator as exported: ``forward(z[, label])``, with the output mapped by ``link`` (tanh is inside)."""

    def __init__(self, net: nn.Module, link: nn.Module | None = None) -> None:
        super().__init__()
        self.net, self.link = net, link or nn.Identity()
        self.conditional = bool(getattr(net, "num_classes", 0))

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.link(self.net(z, label) if self.conditional else self.net(z))


def latent_plan(net: nn.Module, kind: str, value_range: tuple[float, float], link: nn.Module | None = None,
                interpolation: str = "slerp") -> ExportPlan:
    """The export plan of a generator from noise (DCGAN's, or a VAE's decoder with its sigmoid as ``link``).

    ``interpolation``: how to walk between two latent vectors: on the sphere a GAN's Gaussian z concentrates
    on (slerp), or in a straight line (a VAE's latent space is trained to be smooth along it).
    """
    module = _Sampler(copy.deepcopy(net).float().eval(), link).eval()
    latent, names = int(net.latent_dim), list(getattr(net, "class_names", []))  # type: ignore[arg-type]
    example: tuple[torch.Tensor, ...] = (torch.randn(2, latent),)
    inputs = ["z"]
    if names:
        example += (torch.tensor([0, len(names) - 1]),)
        inputs.append("label")
    metadata = {"kind": "latent", "task": kind, "latent_dim": str(latent), "classes": json.dumps(names),
                "interpolation": interpolation,
                "image_size": str(net.image_size), "channels": str(net.channels),  # type: ignore[attr-defined]
                "value_range": f"{value_range[0]:g},{value_range[1]:g}"}
    return ExportPlan(module, example, inputs, ["image"], metadata)
