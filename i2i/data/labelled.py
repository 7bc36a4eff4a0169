"""Labelled images for generation from noise and for the domain classifier: image folders and IDX files.

Two layouts are read:
- **IDX** (MNIST, Fashion-MNIST as distributed): ``train-images-idx3-ubyte[.gz]`` with
  ``train-labels-idx1-ubyte[.gz]``, and ``t10k-...`` as the validation split. Class names come from a
  ``classes.txt`` beside them (one per line), else the label numbers.
- **Image folders**: every image under the folder (any depth). A first-level subfolder is a class (its name is
  the class name); ``train/`` plus ``val/`` or ``test/`` give the splits, otherwise all images are for training.
  A conditional model needs every image inside a class folder.

Items are {'image': uint8 (C, H, W), 'label': int64}, the image scaled so its shorter side is ``image_size``
(area filter to shrink, bicubic to enlarge), centre-cropped, and flipped at random when training; the flip is
drawn from the sample's (seed, epoch, index), as for the other datasets.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import DataConfig
from ..errors import DataError
from ..images import is_image_file, list_images, read_image, to_channels
from .build import DataSplits
from .layouts import check_data_root
from .sampler import SampleKey, sample_seed
from .scan import ScanCache, raise_problems, scan_images

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
              0x0E: np.dtype(">f8")}
IDX_PREFIXES = {"train": "train", "val": "t10k"}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as a NumPy array of its shape and type."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    if len(data) < 4 or data[0] or data[1] or data[2] not in IDX_DTYPES or not data[3]:
        raise DataError(f"{path}: not an IDX file (its first bytes are not an IDX header)")
    dtype, ndim = np.dtype(IDX_DTYPES[data[2]]), data[3]
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    size = int(np.prod(shape)) * dtype.itemsize
    body = data[4 + 4 * ndim :]
    if len(body) < size:
        raise DataError(f"{path}: truncated: {len(body)} bytes of data for a {'x'.join(map(str, shape))} array "
                        f"({size} bytes)")
    return np.frombuffer(body[:size], dtype).reshape(shape).astype(dtype.newbyteorder("="))


@dataclass
class Labelled:
    """One split: images (file paths, or a (N, H, W[, C]) uint8 array from IDX), their labels, the class names."""

    images: list[Path] | np.ndarray
    labels: np.ndarray
    classes: list[str]
    source: Path

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: np.ndarray) -> Labelled:
        images = self.images[indices] if isinstance(self.images, np.ndarray) else [self.images[i] for i in indices]
        return Labelled(images, self.labels[indices], self.classes, self.source)


def _idx_file(root: Path, prefix: str, kind: str) -> Path | None:
    for name in (f"{prefix}-{kind}", f"{prefix}-{kind}.gz"):
        if (root / name).is_file():
            return root / name
    return None


def _class_names(root: Path, count: int) -> list[str]:
    names_file = root / "classes.txt"
    if names_file.is_file():
        names = [line.strip() for line in names_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(names) < count:
            raise DataError(f"{names_file}: names {len(names)} classes, but the labels go up to {count - 1}")
        return names
    return [str(i) for i in range(count)]


def _read_idx_split(root: Path, split: str) -> Labelled | None:
    prefix = IDX_PREFIXES[split]
    images_file, labels_file = _idx_file(root, prefix, "images-idx3-ubyte"), _idx_file(root, prefix,
                                                                                       "labels-idx1-ubyte")
    if images_file is None:
        return None
    if labels_file is None:
        raise DataError(f"{images_file}: no labels file beside it ({prefix}-labels-idx1-ubyte[.gz])")
    images, labels = read_idx(images_file), read_idx(labels_file).astype(np.int64)
    if images.ndim not in (3, 4) or images.dtype != np.uint8:
        raise DataError(f"{images_file}: expected uint8 images (N, H, W[, C]), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{labels_file}: {len(labels)} labels for {len(images)} images in {images_file.name}")
    if len(labels) and labels.min() < 0:
        raise DataError(f"{labels_file}: negative labels")
    return Labelled(images, labels, _class_names(root, int(labels.max()) + 1 if len(labels) else 0), images_file)


def _read_folder_split(folder: Path, conditional: bool) -> Labelled:
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    images: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        found = list_images(folder / name)
        if not found:
            raise DataError(f"{folder / name}: no images in this class folder")
        images += found
        labels += [index] * len(found)
    loose = [p for p in sorted(folder.iterdir()) if p.is_file() and is_image_file(p)]
    if loose and conditional:
        raise DataError(f"{loose[0]}: with --conditional every image must be in a class subfolder of {folder} "
                        f"({len(loose)} are not)")
    if loose and classes:  # unconditional with a partly labelled folder: labels mean nothing, drop them
        classes = []
    images = images + loose if not classes else images
    labels = labels + [0] * len(loose) if not classes else labels
    if not images:
        raise DataError(f"{folder}: no images")
    if conditional and len(classes) < 2:
        raise DataError(f"{folder}: --conditional needs at least two class subfolders, found {len(classes)}")
    return Labelled(images, np.asarray(labels, np.int64), classes, folder)


def find_labelled(root: str | Path, split: str, conditional: bool = False) -> Labelled | None:
    """The ``split`` ('train' or 'val') of a labelled dataset, None when it has no such split."""
    root = Path(root)
    check_data_root(root, "the dataset folder (images in class subfolders, or Fashion-MNIST's IDX files)")
    if _idx_file(root, "train", "images-idx3-ubyte") is not None:
        return _read_idx_split(root, split)
    if (root / "train").is_dir():
        if split == "train":
            return _read_folder_split(root / "train", conditional)
        for name in ("val", "test"):
            if (root / name).is_dir():
                return _read_folder_split(root / name, conditional)
        return None
    return _read_folder_split(root, conditional) if split == "train" else None


def holdout(data: Labelled, count: int, seed: int) -> tuple[Labelled, Labelled]:
    """(the rest, ``count`` items) split at random with ``seed``: a validation set when the data has none."""
    order = np.random.default_rng([seed % 2**32, 7]).permutation(len(data))
    return data.subset(np.sort(order[count:])), data.subset(np.sort(order[:count]))


def build_labelled_transform(image_size: int, train: bool, flip: bool) -> A.Compose:
    """Shorter side to ``image_size`` (area to shrink, bicubic to enlarge), centre crop, random flips in training."""
    steps: list[A.BasicTransform] = [
        A.SmallestMaxSize(max_size=image_size, interpolation=cv2.INTER_CUBIC, area_for_downscale="image"),
        A.CenterCrop(image_size, image_size),
    ]
    if train and flip:
        steps.append(A.HorizontalFlip(p=0.5))
    return A.Compose(steps)


class LabelledDataset(Dataset):
    """{'image': uint8 (channels, size, size), 'label': int64} items of a ``Labelled`` split."""

    def __init__(self, data: Labelled, transform: A.Compose, channels: int = 3, seed: int = 0) -> None:
        self.data, self.transform, self.channels, self.seed = data, transform, channels, seed

    def __len__(self) -> int:
        return len(self.data)

    def load(self, index: int) -> np.ndarray:
        """Image ``index`` as (H, W, channels) uint8, before the transform."""
        images = self.data.images
        if isinstance(images, np.ndarray):
            image = images[index]
            return to_channels(image[:, :, None] if image.ndim == 2 else image, self.channels)
        return read_image(images[index], self.channels)

    def __getitem__(self, key: SampleKey | int) -> dict[str, Any]:
        epoch, index = key if isinstance(key, tuple) else (0, int(key))
        self.transform.set_random_seed(sample_seed(self.seed, epoch, index))
        image = self.transform(image=self.load(index))["image"]
        image = image[:, :, None] if image.ndim == 2 else image
        return {"image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
                "label": torch.tensor(int(self.data.labels[index]), dtype=torch.int64)}


def labelled_data(data: DataConfig, image_size: int, channels: int, conditional: bool, seed: int,
                  cache_file: Path | None = None, report: Path | None = None) -> DataSplits:
    """Find, check and wrap a labelled dataset; ``val_images`` are held out when it has no validation split.

    Every image file is decoded once before training (cached), so a bad file stops the run with its name.
    """
    train = find_labelled(data.root, "train", conditional)
    assert train is not None
    if data.max_dataset_size:
        train = train.subset(np.arange(min(len(train), data.max_dataset_size)))
    val = find_labelled(data.root, "val", conditional)
    if val is None and data.val_images:
        if len(train) <= data.val_images:
            raise DataError(f"{train.source}: {len(train)} images cannot spare {data.val_images} for validation "
                            "(--val-images 0 to skip it)")
        train, val = holdout(train, data.val_images, seed)
    elif val is not None:
        val = val.subset(np.arange(min(len(val), data.val_images))) if data.val_images else None
    if val is not None and train.classes and val.classes != train.classes:
        raise DataError(f"{val.source}: its classes ({', '.join(val.classes)}) differ from the training split's "
                        f"({', '.join(train.classes)})")
    files = [p for split in (train, val) if split is not None and isinstance(split.images, list)
             for p in split.images]
    if files:
        infos = scan_images(files, ScanCache(cache_file))
        raise_problems([info.problem for info in infos.values() if info.problem], report)

    def make(split: Labelled, is_train: bool) -> LabelledDataset:
        return LabelledDataset(split, build_labelled_transform(image_size, is_train, data.flip), channels, seed)

    val_set = make(val, False) if val is not None else None
    preview = val_set or make(train.subset(np.arange(min(8, len(train)))), False)
    return DataSplits(make(train, True), val_set, preview)
