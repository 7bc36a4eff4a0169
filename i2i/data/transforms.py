"""Preprocessing and augmentation with albumentations: the reference preprocess modes and flips.

A paired sample goes through one pipeline call (``image`` = A, ``target`` = B), so both halves get the
same resize, crop and flip. Randomness comes from a per-sample seed, so a sample's augmentation depends
only on (run seed, epoch, index): the same with any number of workers, and after a resume.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np

from ..config import DataConfig
from ..errors import ConfigError
from ..images import resize_image


class ScaleWidth(A.DualTransform):
    """Scale to ``width`` keeping the aspect ratio, but at least ``min_height`` tall (reference scale_width)."""

    def __init__(self, width: int, min_height: int, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.width, self.min_height = width, min_height

    def apply(self, img: np.ndarray, **params: object) -> np.ndarray:
        h, w = img.shape[:2]
        return resize_image(img, self.width, max(int(self.width * h / w), self.min_height))

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("width", "min_height")


class ResizeToMultiple(A.DualTransform):
    """Resize so both sides are multiples of ``multiple`` (the nearest, at least one multiple)."""

    def __init__(self, multiple: int, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.multiple = multiple

    def apply(self, img: np.ndarray, **params: object) -> np.ndarray:
        h, w = img.shape[:2]
        m = self.multiple
        return resize_image(img, max(m, round(w / m) * m), max(m, round(h / m) * m))

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("multiple",)


def build_transform(data: DataConfig, size_multiple: int, train: bool) -> A.Compose:
    """The pipeline for ``data.preprocess``: random crop and flip when training, centre crop otherwise."""
    load, crop = data.load_size, data.crop_size
    cropper = A.RandomCrop if train else A.CenterCrop
    steps: list[A.BasicTransform] = {
        "resize_and_crop": lambda: [A.Resize(load, load, interpolation=cv2.INTER_CUBIC, area_for_downscale="image"),
                                    cropper(crop, crop)],
        "crop": lambda: [cropper(crop, crop)],
        "scale_width": lambda: [ScaleWidth(load, crop), ResizeToMultiple(size_multiple)],
        "scale_width_and_crop": lambda: [ScaleWidth(load, crop), cropper(crop, crop)],
        "none": lambda: [ResizeToMultiple(size_multiple)],
    }[data.preprocess]()
    if train and data.flip:
        steps.append(A.HorizontalFlip(p=0.5))
    return A.Compose(steps, additional_targets={"target": "image"})


def check_sizes(data: DataConfig, size_multiple: int, batch_size: int) -> None:
    """Raise ConfigError when the preprocess settings cannot produce batches the generator accepts."""
    crops = data.preprocess in ("resize_and_crop", "crop", "scale_width_and_crop")
    if crops and data.crop_size % size_multiple:
        raise ConfigError(f"--crop-size {data.crop_size} is not a multiple of {size_multiple}, which the "
                          "generator needs (choose a multiple, or a generator for smaller sizes)")
    if data.preprocess in ("resize_and_crop", "scale_width_and_crop") and data.load_size < data.crop_size:
        raise ConfigError(f"--load-size {data.load_size} is smaller than --crop-size {data.crop_size}")
    if not crops and batch_size > 1:
        raise ConfigError(f"--preprocess {data.preprocess} keeps each image's own size, so images cannot be "
                          f"batched: use --batch-size 1 or a cropping preprocess")


def apply_pair(transform: A.Compose, a: np.ndarray, b: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Transform a pair with one random draw (seeded), keeping (H, W, C) shapes."""
    transform.set_random_seed(seed)
    out = transform(image=a, target=b)
    return _hwc(out["image"]), _hwc(out["target"])


def apply_single(transform: A.Compose, image: np.ndarray, seed: int) -> np.ndarray:
    """Transform one image with a seeded random draw, keeping its (H, W, C) shape."""
    transform.set_random_seed(seed)
    return _hwc(transform(image=image)["image"])


def _hwc(image: np.ndarray) -> np.ndarray:
    return image[:, :, None] if image.ndim == 2 else image
