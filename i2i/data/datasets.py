"""Datasets of paired and unpaired images, returning uint8 (C, H, W) tensors.

Items are looked up by (epoch, index) keys from ``EpochSampler`` (a plain index means epoch 0), and the
key seeds the sample's augmentation. Normalising to [-1, 1] happens on the training device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import Direction
from ..images import read_image, to_channels
from .layouts import PairSource
from .sampler import SampleKey, sample_seed
from .transforms import apply_pair, apply_single


def _key(key: SampleKey | int) -> SampleKey:
    return key if isinstance(key, tuple) else (0, int(key))


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8 array -> (C, H, W) uint8 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def split_side_by_side(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split an A|B image into its left and right halves."""
    half = image.shape[1] // 2
    return image[:, :half], image[:, half:]


def load_pair(src: PairSource, input_nc: int = 3, output_nc: int = 3,
              direction: Direction = "AtoB") -> tuple[np.ndarray, np.ndarray]:
    """The untransformed (input, target) images of one pair, in ``direction``, with the channels asked for."""
    if src.b is None:
        a, b = split_side_by_side(read_image(src.a))
    else:
        a, b = read_image(src.a), read_image(src.b)
    if direction == "BtoA":
        a, b = b, a
    return to_channels(a, input_nc), to_channels(b, output_nc)


class PairedDataset(Dataset):
    """Aligned pairs: {'A': input, 'B': target, 'path': the source file}; ``direction`` BtoA swaps them."""

    def __init__(self, sources: list[PairSource], transform: A.Compose, input_nc: int = 3, output_nc: int = 3,
                 direction: Direction = "AtoB", seed: int = 0) -> None:
        self.sources, self.transform = sources, transform
        self.input_nc, self.output_nc = input_nc, output_nc
        self.direction, self.seed = direction, seed

    def __len__(self) -> int:
        return len(self.sources)

    def load_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The untransformed (input, target) images of pair ``index``, in the configured direction."""
        return load_pair(self.sources[index], self.input_nc, self.output_nc, self.direction)

    def __getitem__(self, key: SampleKey | int) -> dict[str, Any]:
        epoch, index = _key(key)
        a, b = self.load_pair(index)
        a, b = apply_pair(self.transform, a, b, sample_seed(self.seed, epoch, index))
        return {"A": to_tensor(a), "B": to_tensor(b), "path": str(self.sources[index].a)}


class UnpairedDataset(Dataset):
    """Unaligned domains: {'A', 'B', 'A_path', 'B_path'}; A cycles in order, B is drawn at random per item."""

    def __init__(self, a_paths: list[Path], b_paths: list[Path], transform: A.Compose, a_nc: int = 3,
                 b_nc: int = 3, seed: int = 0) -> None:
        self.a_paths, self.b_paths, self.transform = a_paths, b_paths, transform
        self.a_nc, self.b_nc, self.seed = a_nc, b_nc, seed

    def __len__(self) -> int:
        return max(len(self.a_paths), len(self.b_paths))

    def __getitem__(self, key: SampleKey | int) -> dict[str, Any]:
        epoch, index = _key(key)
        seed = sample_seed(self.seed, epoch, index)
        a_path = self.a_paths[index % len(self.a_paths)]
        b_path = self.b_paths[int(np.random.default_rng(seed).integers(len(self.b_paths)))]
        a = apply_single(self.transform, read_image(a_path, self.a_nc), seed)
        b = apply_single(self.transform, read_image(b_path, self.b_nc), seed + 1)
        return {"A": to_tensor(a), "B": to_tensor(b), "A_path": str(a_path), "B_path": str(b_path)}
