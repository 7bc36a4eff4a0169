"""Super-resolution data: folders of HR photos (LR made on the fly) or LR/HR pairs as DIV2K distributes them.

Layouts (``--layout``):
  folder  ROOT/train/ and ROOT/val/ (or test/) of HR images; or ROOT/ alone, from which every tenth image (at
          most --val-images) is held out for validation. LR inputs are made from the HR images by the
          degradation: MATLAB's bicubic (the literature's), or Real-ESRGAN's second-order one.
  div2k   HR/ and LR_bicubic/X{scale}/ (matched by name: 0001.png <-> 0001x4.png or 0001.png), in ROOT, in
          ROOT/train/ (ROOT/val/, ROOT/valid/, ROOT/test/), or named as DIV2K ships them
          (DIV2K_train_HR/ + DIV2K_train_LR_bicubic/X4/, DIV2K_valid_HR/ + ...). Sizes must be exactly
          ``scale`` apart.

Training samples are aligned random crops (an HR patch of --crop-size and the LR patch under it), flipped and
rotated by multiples of 90 degrees; each image gives --patches-per-image samples per epoch. Validation
scores whole images (cropped to a multiple of the scale), or their centres with --val-crop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError
from ..images import read_image
from .datasets import to_tensor
from .degradations import Degradation, RealDegradation, bicubic_downscale
from .layouts import check_data_root, images_in
from .sampler import SampleKey, sample_seed
from .scan import ImageInfo, ScanCache, raise_problems, scan_images

SRLayout = Literal["folder", "div2k"]
VAL_FOLDERS = ("val", "valid", "test")
HOLD_OUT_EVERY = 10  # a flat folder of N >= 10 images gives every tenth to validation


@dataclass(frozen=True)
class SRSource:
    """One HR image, and its given LR image (``div2k`` layout) or None (made by the degradation)."""

    hr: Path
    lr: Path | None = None


@dataclass(frozen=True)
class SRFound:
    """The sources of a dataset folder: training, validation, and where the validation images came from."""

    train: list[SRSource]
    val: list[SRSource]
    val_note: str


def find_folder(root: str | Path, val_images: int) -> SRFound:
    """HR images of the ``folder`` layout (see the module docstring)."""
    root = Path(root)
    check_data_root(root, "the folder of high-resolution images")
    if (root / "HR").is_dir() and any(root.glob("LR*")):
        raise ConfigError(f"{root}: holds HR/ and LR folders; train on them as given with --layout div2k")
    if (root / "train").is_dir():
        train = images_in(root / "train")
        val_dir = next((root / v for v in VAL_FOLDERS if (root / v).is_dir()), None)
        val = images_in(val_dir)[:val_images] if val_dir is not None and val_images else []
        note = f"{val_dir.name}/" if val else "none"
        return SRFound([SRSource(p) for p in train], [SRSource(p) for p in val], note)
    images = images_in(root)
    if val_images and len(images) >= HOLD_OUT_EVERY:
        held = set(range(0, len(images), HOLD_OUT_EVERY)[:val_images])
        val = [images[i] for i in sorted(held)]
        train = [p for i, p in enumerate(images) if i not in held]
        note = f"every {HOLD_OUT_EVERY}th image held out"
    else:
        train, val, note = images, [], "none (fewer than 10 images)" if val_images else "none"
    return SRFound([SRSource(p) for p in train], [SRSource(p) for p in val], note)


def _div2k_dirs(root: Path, split: str, scale: int) -> tuple[Path, Path] | None:
    """(HR folder, LR folder) of one split of the ``div2k`` layout, or None when the split does not exist."""
    if split == "train":
        candidates = [(root / "train", "HR", "LR_bicubic"), (root, "HR", "LR_bicubic"),
                      (root, "DIV2K_train_HR", "DIV2K_train_LR_bicubic")]
    else:
        candidates = [(root / v, "HR", "LR_bicubic") for v in VAL_FOLDERS]
        candidates.append((root, "DIV2K_valid_HR", "DIV2K_valid_LR_bicubic"))
    for base, hr_name, lr_name in candidates:
        hr = base / hr_name
        if hr.is_dir():
            lr = base / lr_name / f"X{scale}"
            if not lr.is_dir():
                raise DataError(f"{hr}: has no LR images for --scale {scale} (expected {lr}/)")
            return hr, lr
    return None


def _match(hr_dir: Path, lr_dir: Path, scale: int) -> list[SRSource]:
    """Pair each HR image with the LR image of the same name (``NAME`` or ``NAMEx{scale}``, any extension)."""
    suffix = re.compile(rf"x{scale}$", re.IGNORECASE)
    lr_files: dict[Path, Path] = {}
    for path in images_in(lr_dir):
        key = path.relative_to(lr_dir).with_suffix("")
        lr_files[key.with_name(suffix.sub("", key.name))] = path
    sources, unmatched = [], []
    for path in images_in(hr_dir):
        key = path.relative_to(hr_dir).with_suffix("")
        if key in lr_files:
            sources.append(SRSource(path, lr_files[key]))
        else:
            unmatched.append(path)
    if unmatched:
        more = f" ({len(unmatched)} HR images unmatched)" if len(unmatched) > 1 else ""
        raise DataError(f"{unmatched[0]}: no LR image of the same name in {lr_dir}{more}")
    return sources


def find_div2k(root: str | Path, scale: int, val_images: int) -> SRFound:
    """LR/HR pairs of the ``div2k`` layout (see the module docstring)."""
    root = Path(root)
    check_data_root(root, "the folder of high-resolution images")
    train_dirs = _div2k_dirs(root, "train", scale)
    if train_dirs is None:
        raise DataError(f"{root}: no div2k layout found: expected HR/ and LR_bicubic/X{scale}/ (in {root} or "
                        f"{root / 'train'}), or DIV2K_train_HR/ and DIV2K_train_LR_bicubic/X{scale}/")
    val_dirs = _div2k_dirs(root, "val", scale)
    val = _match(*val_dirs, scale)[:val_images] if val_dirs is not None and val_images else []
    note = f"{val_dirs[0].relative_to(root)}/" if val else "none"
    return SRFound(_match(*train_dirs, scale), val, note)


def find_sr(root: str | Path, layout: SRLayout, scale: int, val_images: int) -> SRFound:
    """The training and validation sources of ``root`` in ``layout``."""
    return find_div2k(root, scale, val_images) if layout == "div2k" else find_folder(root, val_images)


def source_problems(sources: list[SRSource], infos: dict[Path, ImageInfo], scale: int, min_hr: int,
                    what: str) -> list[str]:
    """One line per unusable source: unreadable, an LR image not exactly 1/scale of its HR image, or too small."""
    problems = []
    for src in sources:
        hr = infos[src.hr]
        if hr.problem:
            problems.append(hr.problem)
            continue
        if src.lr is not None:
            lr = infos[src.lr]
            if lr.problem:
                problems.append(lr.problem)
                continue
            if (lr.width * scale, lr.height * scale) != (hr.width, hr.height):
                problems.append(f"{src.lr}: {lr.width}x{lr.height}, but its HR image {src.hr} is {hr.width}x"
                                f"{hr.height}, not exactly {scale} times larger (--scale {scale})")
                continue
        if hr.width < min_hr or hr.height < min_hr:
            problems.append(f"{src.hr}: {hr.width}x{hr.height} is smaller than {what} ({min_hr}x{min_hr})")
    return problems


def scan_sources(found: SRFound, scale: int, crop_size: int, min_val: int, cache_file: Path | None,
                 report: Path | None) -> dict[Path, ImageInfo]:
    """Decode every image once (cached) and raise one DataError listing every unusable file; returns the sizes."""
    files = [p for src in [*found.train, *found.val] for p in (src.hr, src.lr) if p is not None]
    infos = scan_images(files, ScanCache(cache_file))
    problems = source_problems(found.train, infos, scale, crop_size, f"--crop-size {crop_size} (the HR patch)")
    problems += source_problems(found.val, infos, scale, min_val, "the smallest image validation can score")
    raise_problems(problems, report)
    return infos


def _augment(images: list[np.ndarray], rng: np.random.Generator, flip: bool, rotate: bool) -> list[np.ndarray]:
    """The same random horizontal flip (``flip``), vertical flip and transpose (``rotate``) for every image."""
    hflip = flip and rng.random() < 0.5
    vflip, transpose = (rng.random() < 0.5, rng.random() < 0.5) if rotate else (False, False)
    out = []
    for image in images:
        if hflip:
            image = image[:, ::-1]
        if vflip:
            image = image[::-1]
        if transpose:  # with the flips: all eight rotations and mirrorings
            image = image.transpose(1, 0, 2)
        out.append(np.ascontiguousarray(image))
    return out


class SRDataset(Dataset):
    """{'LR': (C, h, w) uint8, 'HR': (C, scale h, scale w) uint8, 'path': the HR file} per sample.

    Args:
        sources: HR images (with their LR images in the ``div2k`` layout).
        scale: the upscaling factor.
        crop: HR side of the sample; random crops when ``train``, the centre otherwise; None keeps the whole
            image, cropped at its bottom and right to a multiple of ``multiple`` (a multiple of the scale).
        train: random crops, flips and rotations; otherwise deterministic.
        channels: 1 (grey) or 3 (RGB).
        degradation: how LR images are made from HR ones when they are not given.
        seed: the run seed (a sample's crop, augmentation and degradation depend only on it, the epoch, the index).
        repeat: samples per image per epoch (``len`` is ``repeat`` times the number of images).
        flip, rotate: random horizontal flips; vertical flips and transposes (90-degree rotations).
        multiple: whole images are cropped to a multiple of this (scale x the generator's size multiple).
    """

    def __init__(self, sources: list[SRSource], scale: int, crop: int | None, train: bool, channels: int = 3,
                 degradation: Degradation = "bicubic", seed: int = 0, repeat: int = 1, flip: bool = True,
                 rotate: bool = True, multiple: int | None = None) -> None:
        self.sources, self.scale, self.crop, self.train = sources, scale, crop, train
        self.channels, self.seed, self.repeat, self.flip, self.rotate = channels, seed, repeat, flip, rotate
        self.multiple = multiple or scale
        if crop is not None and crop % scale:
            raise ConfigError(f"--crop-size {crop} is not a multiple of --scale {scale}")
        self.degrade = RealDegradation(scale) if degradation == "real" else None

    def __len__(self) -> int:
        return len(self.sources) * self.repeat

    def _window(self, height: int, width: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
        """(top, left, height, width) of the HR region to use, in LR pixel units times the scale."""
        s = self.scale
        if self.crop is None:
            m = self.multiple
            return 0, 0, height // m * m, width // m * m
        side = self.crop // s  # choose the window on the LR grid so that it is aligned in both images
        lr_h, lr_w = height // s, width // s
        if self.train:
            top, left = int(rng.integers(lr_h - side + 1)), int(rng.integers(lr_w - side + 1))
        else:
            top, left = (lr_h - side) // 2, (lr_w - side) // 2
        return top * s, left * s, side * s, side * s

    def load(self, index: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The (LR, HR) arrays of image ``index`` as this dataset prepares them, with randomness from ``seed``."""
        src = self.sources[index % len(self.sources)]
        rng = np.random.default_rng(seed)
        hr = read_image(src.hr, self.channels)
        top, left, h, w = self._window(hr.shape[0], hr.shape[1], rng)
        hr = hr[top : top + h, left : left + w]
        s = self.scale
        if src.lr is not None:
            lr = read_image(src.lr, self.channels)[top // s : (top + h) // s, left // s : (left + w) // s]
            if self.train:
                lr, hr = _augment([lr, hr], rng, self.flip, self.rotate)
            return lr, hr
        if self.train:
            (hr,) = _augment([hr], rng, self.flip, self.rotate)
        lr = self.degrade(hr, seed) if self.degrade is not None else bicubic_downscale(hr, s)
        return lr, hr

    def __getitem__(self, key: SampleKey | int) -> dict[str, Any]:
        epoch, index = key if isinstance(key, tuple) else (0, int(key))
        lr, hr = self.load(index, sample_seed(self.seed, epoch, index))
        return {"LR": to_tensor(lr), "HR": to_tensor(hr), "path": str(self.sources[index % len(self.sources)].hr)}
