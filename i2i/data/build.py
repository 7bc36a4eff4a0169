"""Turning a data folder and its options into checked train / validation datasets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from torch.utils.data import Dataset

from ..config import DataConfig
from .datasets import PairedDataset, UnpairedDataset
from .layouts import VAL_SPLITS, PairSource, find_paired, find_unpaired
from .scan import ImageInfo, ScanCache, raise_problems, scan_images
from .transforms import build_transform, check_sizes

T = TypeVar("T")


@dataclass
class DataSplits:
    """The training set, the validation set (None without one) and the images shown in sample grids."""

    train: Dataset
    val: Dataset | None
    preview: Dataset


def _first_split(find: Callable[[str, str], T | None], root: str) -> T | None:
    """The first validation split that exists (val, then test), as ``find`` (paired or unpaired) reads it."""
    for split in VAL_SPLITS:
        found = find(root, split)
        if found is not None:
            return found
    return None


def _too_small(path: Path, info: ImageInfo, data: DataConfig, width: int) -> str | None:
    """A problem when preprocess 'crop' would need a larger image than this one."""
    if data.preprocess == "crop" and (info.height < data.crop_size or width < data.crop_size):
        return f"{path}: {width}x{info.height} is smaller than --crop-size {data.crop_size} (--preprocess crop)"
    return None


def _pair_problems(sources: list[PairSource], infos: dict[Path, ImageInfo], data: DataConfig) -> list[str]:
    problems = []
    for src in sources:
        a = infos[src.a]
        if a.problem:
            problems.append(a.problem)
            continue
        if src.b is None:
            if a.width % 2:
                problems.append(f"{src.a}: width {a.width} is odd, so its A and B halves differ in size")
                continue
            width = a.width // 2
        else:
            b = infos[src.b]
            if b.problem:
                problems.append(b.problem)
                continue
            if (a.width, a.height) != (b.width, b.height):
                problems.append(f"{src.a}: {a.width}x{a.height}, but its pair {src.b} is {b.width}x{b.height}")
                continue
            width = a.width
        small = _too_small(src.a, a, data, width)
        if small:
            problems.append(small)
    return problems


def _image_problems(paths: list[Path], infos: dict[Path, ImageInfo], data: DataConfig) -> list[str]:
    problems = []
    for path in paths:
        info = infos[path]
        problem = info.problem or _too_small(path, info, data, info.width)
        if problem:
            problems.append(problem)
    return problems


def paired_data(data: DataConfig, size_multiple: int, batch_size: int, seed: int,
                cache_file: Path | None = None, report: Path | None = None) -> DataSplits:
    """Find, scan and wrap a paired dataset; raises one DataError listing every bad file."""
    check_sizes(data, size_multiple, batch_size)
    train = find_paired(data.root, "train")
    assert train is not None
    train = train[: data.max_dataset_size] if data.max_dataset_size else train
    val = (_first_split(find_paired, data.root) or [])[: data.val_images]
    files = [p for src in [*train, *val] for p in (src.a, src.b) if p is not None]
    infos = scan_images(files, ScanCache(cache_file))
    raise_problems(_pair_problems([*train, *val], infos, data), report)

    def make(sources: list[PairSource], is_train: bool) -> PairedDataset:
        return PairedDataset(sources, build_transform(data, size_multiple, is_train), data.input_nc, data.output_nc,
                             data.direction, seed)

    val_set = make(val, False) if val else None
    return DataSplits(make(train, True), val_set, val_set or make(train[:8], False))


def unpaired_data(data: DataConfig, size_multiple: int, batch_size: int, seed: int,
                  cache_file: Path | None = None, report: Path | None = None) -> DataSplits:
    """Find, scan and wrap an unpaired dataset (domains A and B); ``direction`` BtoA swaps the domains."""
    check_sizes(data, size_multiple, batch_size)
    found = find_unpaired(data.root, "train")
    assert found is not None
    a_train, b_train = (found[1], found[0]) if data.direction == "BtoA" else found
    if data.max_dataset_size:
        a_train, b_train = a_train[: data.max_dataset_size], b_train[: data.max_dataset_size]
    val_found = _first_split(find_unpaired, data.root) if data.val_images else None
    a_val, b_val = ([], []) if val_found is None else val_found
    if data.direction == "BtoA":
        a_val, b_val = b_val, a_val
    a_val, b_val = a_val[: data.val_images], b_val[: data.val_images]
    files = [*a_train, *b_train, *a_val, *b_val]
    infos = scan_images(files, ScanCache(cache_file))
    raise_problems(_image_problems(files, infos, data), report)

    def make(a: list[Path], b: list[Path], is_train: bool) -> UnpairedDataset:
        return UnpairedDataset(a, b, build_transform(data, size_multiple, is_train), data.input_nc, data.output_nc,
                               seed)

    val_set = make(a_val, b_val, False) if a_val and b_val else None
    return DataSplits(make(a_train, b_train, True), val_set, val_set or make(a_train[:8], b_train[:8], False))
