"""How good and how varied generated samples are, in the feature space of a domain classifier.

A classifier trained on the user's labelled images (``i2i train classifier``) gives, for a set of samples and
a set of real images: FID and KID between their features (``distances``, computed by torchmetrics), precision
and recall in feature space (Kynkaanniemi et al. 2019: the share of samples inside the real images' k-nearest-
neighbour balls, and of real images inside the samples'), the histogram of predicted classes (mode collapse
shows as classes that get no samples) and, for a conditional model, how often a sample is classified as the
class it was generated for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import torch

from ..errors import DataError
from .distances import frechet_distance, kernel_distance

COVERED_SHARE = 0.02  # a class counts as covered when at least this share of the samples is predicted as it
PR_NEIGHBOURS = 3  # k of the k-NN balls (Kynkaanniemi et al.'s default)


@dataclass(frozen=True)
class SampleMetrics:
    """What the domain classifier says about samples against real images."""

    fid: float
    kid: float
    kid_std: float
    precision: float
    recall: float
    classes_covered: int
    num_classes: int
    histogram: list[float]
    conditional_accuracy: float | None = None

    def as_log(self, prefix: str = "") -> dict[str, float]:
        """Scalars for the metrics log (the histogram as one value per class)."""
        values = {k: v for k, v in asdict(self).items() if isinstance(v, (int, float)) and v is not None}
        values.update({f"classes/{i}": share for i, share in enumerate(self.histogram)})  # log only (see trainer)
        return {f"{prefix}{k}": float(v) for k, v in values.items()}


class FeatureJudge(Protocol):
    """What scores samples: a classifier's features and predicted classes of images in [-1, 1]
    (``i2i.tasks.labelled.DomainClassifier``, a trained classifier run)."""

    class_names: list[str]

    def describe(self, batches: Iterable[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        """(features, predicted class) of every image the batches hold."""
        ...


def image_batches(dataset: Any, batch_size: int = 250) -> Iterator[torch.Tensor]:
    """The 'image' items of a dataset (uint8, as the loaders give them) in batches scaled to [-1, 1]."""
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i]["image"] for i in range(start, min(len(dataset), start + batch_size))]
        yield torch.stack(items).float() / 127.5 - 1.0


def knn_radii(features: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point of the same set."""
    radii = []
    for start in range(0, len(features), chunk):
        distances = torch.cdist(features[start : start + chunk], features)
        radii.append(distances.kthvalue(k + 1, dim=1).values)  # the first is the point itself (0)
    return torch.cat(radii)


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Whether each point lies in at least one ball (centre, radius)."""
    inside = []
    for start in range(0, len(points), chunk):
        distances = torch.cdist(points[start : start + chunk], centres)
        inside.append((distances <= radii[None, :]).any(1))
    return torch.cat(inside)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = PR_NEIGHBOURS) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of ``fake`` against ``real`` features."""
    if min(len(real), len(fake)) <= k:
        raise DataError(f"precision/recall with k={k} needs more than {k} real and generated images")
    r, f = torch.as_tensor(real, dtype=torch.float64), torch.as_tensor(fake, dtype=torch.float64)
    precision = float(_inside(f, r, knn_radii(r, k)).double().mean())
    recall = float(_inside(r, f, knn_radii(f, k)).double().mean())
    return precision, recall


def class_histogram(predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """The share of samples predicted as each class."""
    counts = np.bincount(np.asarray(predicted, np.int64), minlength=num_classes)[:num_classes]
    return counts / max(1, counts.sum())


def score(classifier: FeatureJudge, real_features: np.ndarray, fake_batches: Iterable[torch.Tensor],
          asked: np.ndarray | None = None, kid_subset_size: int | None = None) -> SampleMetrics:
    """Score generated images (batches in [-1, 1]) against real images' features; ``asked``: the class each
    sample was generated for (a conditional model), to measure how often the classifier agrees."""
    fake_features, predicted = classifier.describe(fake_batches)
    num_classes = len(classifier.class_names)
    kid = kernel_distance(real_features, fake_features, subset_size=kid_subset_size)
    precision, recall = precision_recall(real_features, fake_features)
    histogram = class_histogram(predicted, num_classes)
    accuracy = float((predicted == asked).mean()) if asked is not None else None
    return SampleMetrics(fid=frechet_distance(real_features, fake_features), kid=kid.mean, kid_std=kid.std,
                         precision=precision, recall=recall,
                         classes_covered=int((histogram >= COVERED_SHARE).sum()), num_classes=num_classes,
                         histogram=[float(v) for v in histogram], conditional_accuracy=accuracy)


def sample_metrics(classifier: FeatureJudge, real_features: np.ndarray,
                   generate: Callable[[int, torch.Tensor | None], torch.Tensor], count: int, batch_size: int = 250,
                   conditional: bool = False, kid_subset_size: int | None = None) -> SampleMetrics:
    """Score ``count`` samples of ``generate(n, labels)`` (images in [-1, 1]) against real images' features
    (``classifier.describe`` of them, computed once by the caller when it scores several sets).

    ``conditional``: the samples are asked for in equal numbers per class, and the classifier's agreement with
    the asked class is reported.
    """
    num_classes = len(classifier.class_names)
    labels = torch.arange(count) % num_classes if conditional else None
    batches = (generate(min(batch_size, count - start), None if labels is None else labels[start : start + batch_size])
               for start in range(0, count, batch_size))
    return score(classifier, real_features, batches, None if labels is None else labels.numpy(), kid_subset_size)
