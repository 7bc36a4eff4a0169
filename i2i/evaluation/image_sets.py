"""The images an evaluation scores: what each generator translates, and the real images its outputs meet.

A run's task says what to compare (``comparisons``: generator, the batch key of its inputs, the batch key of the
real images in its output domain, whether output i and target i show the same scene). This module finds those
images in a data folder's split, in the layouts i2i trains on (paired: A|B side by side or A/ and B/; unpaired:
trainA/ trainB/ ...), prepared as the run's validation prepares them, and decodes them on demand.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..config import TrainConfig
from ..data import VAL_SPLITS, find_paired, find_unpaired
from ..data.datasets import split_side_by_side
from ..data.transforms import apply_single, build_transform
from ..errors import ConfigError, DataError
from ..images import check_pixels, read_image, to_channels
from ..metrics.comparison import Comparison
from ..tasks import task_class
from ..tasks.base import EvalData

T = TypeVar("T")
SPLITS = ("train", *VAL_SPLITS)


def has_unpaired_layout(root: Path) -> bool:
    """Whether a data folder holds unpaired domains (trainA/, valA/, testA/ or their B folders)."""
    return any((root / f"{split}{domain}").is_dir() for split in SPLITS for domain in "AB")


@dataclass(frozen=True)
class ImageRef:
    """One image of a data folder: a whole file, or the left or right half of a side-by-side A|B file."""

    path: Path
    half: str = ""  # "", "left" or "right"
    channels: int = 3

    def load(self, max_pixels: int | None = None) -> np.ndarray:
        """(H, W, channels) uint8, as the training data loader reads it; a file over ``max_pixels`` is refused
        before it is decoded (a decompression bomb)."""
        image = read_image(self.path, max_pixels=max_pixels)
        if self.half:
            left, right = split_side_by_side(image)
            image = left if self.half == "left" else right
        return to_channels(image, self.channels)

    def describe(self) -> str:
        return f"{self.path} ({self.half} half)" if self.half else str(self.path)


class Prepare:
    """The deterministic test-time preprocessing of a run (resize, centre crop), applied to one image."""

    def __init__(self, config: TrainConfig, size_multiple: int) -> None:
        data = config.data
        self.transform = build_transform(data, size_multiple, train=False)
        self.recipe = {"preprocess": data.preprocess, "load_size": data.load_size, "crop_size": data.crop_size,
                       "size_multiple": size_multiple}

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return apply_single(self.transform, image, 0)


@dataclass
class ImageSet:
    """Images decoded on demand (``load(i)``), prepared as ``recipe`` says (the key of cached features).

    ``loader``, when set, makes image i instead of decoding ``refs[i]`` (a task's own evaluation data, where
    ``refs[i]`` is the file image i comes from, checked against ``max_pixels`` first).
    """

    refs: list[ImageRef]
    prepare: Callable[[np.ndarray], np.ndarray] | None = None
    recipe: dict[str, Any] = field(default_factory=lambda: {"preprocess": "as stored"})
    label: str = ""
    max_pixels: int | None = None  # files with more pixels are refused undecoded (--max-pixels)
    loader: Callable[[int], np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.refs)

    def load(self, index: int) -> np.ndarray:
        if self.loader is not None:
            check_pixels(self.refs[index].path, self.max_pixels)
            return self.loader(index)
        image = self.refs[index].load(self.max_pixels)
        return self.prepare(image) if self.prepare is not None else image


def choose_split(config: TrainConfig, comparison: Comparison, split: str | None) -> str:
    """``split`` if the data folder has it, else its validation split (val, then test); DataError otherwise."""
    root = Path(config.data.root)
    if not root.is_dir():
        raise DataError(f"{root}: no such data folder")
    check_layout(config, comparison)
    exists = _has_split_paired if comparison.paired else _has_split_unpaired
    if split is not None:
        if split not in SPLITS:
            raise ConfigError(f"--split {split}: choose {', '.join(SPLITS)}")
        if not exists(root, split):
            have = [s for s in SPLITS if exists(root, s)]
            raise DataError(f"{root}: has no {split} split (it has {', '.join(have) or 'none'})")
        return split
    for name in VAL_SPLITS:
        if exists(root, name):
            return name
    raise DataError(f"{root}: no validation split ({' or '.join(VAL_SPLITS)}); give --split train to score the "
                    "training images")


def check_layout(config: TrainConfig, comparison: Comparison) -> None:
    """A one-line DataError when the folder's layout does not fit the comparison (a model for another task)."""
    root, unpaired = Path(config.data.root), has_unpaired_layout(Path(config.data.root))
    if comparison.paired and unpaired:
        raise DataError(f"{root}: holds unpaired images (trainA/, testA/, ...), but a {config.task} model is scored "
                        "against the paired target of each input; give a paired data folder")
    if not comparison.paired and not unpaired:
        raise DataError(f"{root}: has no unpaired domains (testA/ and testB/, valA/ and valB/, ...), which "
                        f"scoring a {config.task} model needs")
    keys = {comparison.source, comparison.target}
    if not keys <= {"A", "B"}:
        raise ConfigError(f"i2i eval reads A/B data folders; {config.task} compares batch keys "
                          f"{', '.join(sorted(keys))}")


def _has_split_paired(root: Path, split: str) -> bool:
    return find_paired(root, split) is not None


def _has_split_unpaired(root: Path, split: str) -> bool:
    return find_unpaired(root, split) is not None


def eval_images(config: TrainConfig, comparison: Comparison, split: str | None, limit: int | None,
                size_multiple: int, max_pixels: int | None = None) -> tuple[ImageSet, ImageSet, str]:
    """(inputs, targets, split): the images ``comparison`` translates and those it compares with, at most
    ``limit`` of each (the first ones, as the run's validation takes them), prepared as the run prepares them;
    files over ``max_pixels`` are refused undecoded."""
    own = task_class(config.task).eval_data(config, split, size_multiple)
    if own is not None:
        return (*(_task_images(own, key, limit, max_pixels, f"{config.data.root} ({own.split})")
                  for key in (comparison.source, comparison.target)), own.split)
    data = config.data
    split = choose_split(config, comparison, split)
    root = Path(data.root)
    roles: dict[str, list[ImageRef]]
    if comparison.paired:
        sources = find_paired(root, split) or []
        swap = data.direction == "BtoA"
        inputs, targets = [], []
        for src in sources[:limit]:
            a, b = (ImageRef(src.a, "left"), ImageRef(src.a, "right")) if src.b is None else (
                ImageRef(src.a), ImageRef(src.b))
            if swap:
                a, b = b, a
            inputs.append(ImageRef(a.path, a.half, data.input_nc))
            targets.append(ImageRef(b.path, b.half, data.output_nc))
        roles = {"A": inputs, "B": targets}
    else:
        a_paths, b_paths = find_unpaired(root, split) or ([], [])
        if data.direction == "BtoA":
            a_paths, b_paths = b_paths, a_paths
        roles = {"A": [ImageRef(p, "", data.input_nc) for p in a_paths[:limit]],
                 "B": [ImageRef(p, "", data.output_nc) for p in b_paths[:limit]]}
    prepare = Prepare(config, size_multiple)
    where = f"{root} ({split})"
    return (ImageSet(roles[comparison.source], prepare, prepare.recipe, where, max_pixels),
            ImageSet(roles[comparison.target], prepare, prepare.recipe, where, max_pixels), split)


def _task_images(data: EvalData, key: str, limit: int | None, max_pixels: int | None, label: str) -> ImageSet:
    """The images under batch key ``key`` of a task's own evaluation data (see ``Task.eval_data``)."""
    def load(index: int) -> np.ndarray:
        return np.ascontiguousarray(data.dataset[index][key].numpy().transpose(1, 2, 0))

    refs = [ImageRef(path) for path in data.files[:limit]]
    return ImageSet(refs, recipe={**data.recipe, "key": key}, label=label, max_pixels=max_pixels, loader=load)


def prefetched(load: Callable[[int], T], count: int, workers: int = 4, ahead: int = 16) -> Iterator[T]:
    """``load(0), load(1), ...`` in order, decoded ``ahead`` items in advance by threads (OpenCV releases the GIL).

    At most ``ahead`` items wait in memory, so a folder of any size streams through in bounded memory.
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: deque = deque()
        next_index = 0
        while next_index < count or pending:
            while next_index < count and len(pending) < ahead:
                pending.append(pool.submit(load, next_index))
                next_index += 1
            yield pending.popleft().result()
