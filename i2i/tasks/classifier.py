"""A domain classifier (a small CNN) trained on the user's labelled images: the judge of generated samples.

Its penultimate features are the space in which FID, KID and precision/recall of samples are measured when
the Inception network does not fit the domain (28x28 grey clothes) or cannot be downloaded, and its
predictions give the class histogram of samples (mode collapse shows as missing classes) and how often a
conditional model's samples are of the class asked for. Cross-entropy, Adam 1e-3, light augmentation (flips).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import DataConfig, ModelConfig, OptimConfig, TrainConfig, option
from ..errors import ConfigError
from ..models import NetworkSpec, spec_for
from .base import TASKS, Batch, backward_step, eval_mode
from .labelled import LabelledConfig, LabelledTask, class_names


@dataclass(frozen=True)
class ClassifierConfig(LabelledConfig):
    """Options of the domain classifier."""

    image_size: int = option(32, "side the images are scaled and centre-cropped to", choices=(32, 64, 128))
    width: int = option(32, "channels of the first conv block (doubled twice)", minimum=1)
    features: int = option(128, "size of the feature vector the sample metrics use", minimum=2)


@TASKS.register("classifier")
class Classifier(LabelledTask):
    """Image classification on class subfolders or IDX labels."""

    name = "classifier"
    method_config = ClassifierConfig
    generators = ()  # nothing to export: it serves `i2i eval` and the sample metrics as a checkpoint
    unused_options = LabelledTask.unused_options | {"model.net_g", "model.ngf"}

    @classmethod
    def default_config(cls) -> TrainConfig:
        return TrainConfig(task=cls.name, data=DataConfig(val_images=1000), model=ModelConfig(net_d="small_cnn"),
                           optim=OptimConfig(n_epochs=5, n_epochs_decay=5, batch_size=128, lr=1e-3, beta1=0.9),
                           method=ClassifierConfig())

    @classmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        method = _method(config)
        return {"C": spec_for(config.model.net_d, channels=method.channels, class_names=class_names(config),
                              width=method.width, features=method.features)}

    @classmethod
    def uses_labels(cls, config: TrainConfig) -> bool:
        return True

    @staticmethod
    def probe(networks: Mapping[str, nn.Module], batch: Batch) -> None:
        networks["C"](batch["image"])

    @classmethod
    def export_inputs(cls, config: TrainConfig, generator: str, limit: int) -> list[np.ndarray]:
        raise ConfigError("a classifier run has no generator to export")

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"C": self.adam("C")}

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        with self.precision.autocast():
            logits = self.call["C"](batch["image"])
        loss = F.cross_entropy(logits.float(), batch["label"])
        backward_step(self.precision, self.optimizers["C"], loss)
        accuracy = (logits.argmax(1) == batch["label"]).float().mean()
        return {"CE": loss.detach(), "accuracy": accuracy.detach()}

    @torch.no_grad()
    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        with eval_mode(self.networks["C"]), self.precision.autocast():
            logits = self.call["C"](batch["image"]).float()
        return {"accuracy": (logits.argmax(1) == batch["label"]).float().mean(),
                "CE": F.cross_entropy(logits, batch["label"])}

    def visuals(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"image": batch["image"]}


def _method(config: TrainConfig) -> ClassifierConfig:
    method = config.method
    if not isinstance(method, ClassifierConfig):
        raise ConfigError(f"expected classifier options, got {type(method).__name__}")
    return method
