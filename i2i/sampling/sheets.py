"""The pictures `i2i sample` and `i2i interpolate` draw (and the app's Sample page): samples and latent walks.

Both are deterministic in the seed, so the command line and the app give the same grid for the same request.
"""

from __future__ import annotations

import numpy as np

from .grids import grid, interpolate_latents, parse_label
from .models import Generator


def labels_for(count: int, label: str | None, classes: list[str]) -> np.ndarray | None:
    """The class of each of ``count`` samples: ``label``'s, else every class in turn (None: unconditional)."""
    if label is not None:
        return np.full(count, parse_label(label, classes), np.int64)
    return np.arange(count, dtype=np.int64) % len(classes) if classes else None


def sample_sheet(generator: Generator, count: int, seed: int, label: str | None = None,
                 columns: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(the samples (N, H, W, C) uint8, their grid): ``count`` samples from noise of ``seed``.

    A conditional model without ``label`` draws every class in turn, one row per class; otherwise the grid is
    about square (or ``columns`` wide).
    """
    labels = labels_for(count, label, generator.classes)
    z = np.random.default_rng(seed).standard_normal((count, generator.latent_dim)).astype(np.float32)
    if labels is not None and label is None:  # every class in turn: rows of one class each
        order = np.argsort(labels, kind="stable")
        z, labels = z[order], labels[order]
    images = generator.generate(z, labels)
    columns = columns or (-(-count // len(generator.classes)) if labels is not None and label is None
                          else int(np.ceil(np.sqrt(count))))
    return images, grid(images, columns)


def walk_sheet(generator: Generator, rows: int, steps: int, seed: int, label: str | None = None) -> np.ndarray:
    """A grid of ``rows`` latent walks of ``steps`` images each (slerp for a GAN, linear for a VAE)."""
    rng = np.random.default_rng(seed)
    ends = rng.standard_normal((2, rows, generator.latent_dim)).astype(np.float32)
    z = interpolate_latents(ends[0], ends[1], steps, generator.interpolation)
    labels = labels_for(rows, label, generator.classes)
    labels = None if labels is None else np.repeat(labels, steps)
    return grid(generator.generate(z, labels), steps)
