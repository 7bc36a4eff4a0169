"""Finding the images of a dataset folder in the layouts users already have.

Paired:   (a) ROOT/train/*.jpg with A and B side by side (the reference pix2pix layout), val/, test/;
          (b) ROOT/A/ and ROOT/B/ matched by file name (flat, or with train/ val/ test/ inside each).
Unpaired: ROOT/trainA/ and ROOT/trainB/ (and valA/valB or testA/testB), the reference CycleGAN layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..images import IMAGE_EXTENSIONS, list_images

VAL_SPLITS = ("val", "test")


@dataclass(frozen=True)
class PairSource:
    """One pair: a side-by-side A|B file (``b`` is None), or an A file and a B file matched by name."""

    a: Path
    b: Path | None = None


def check_data_root(root: Path, expected: str = "the dataset folder (the one holding train/, A/ and B/, or trainA/ "
                                                  "and trainB/)") -> None:
    """A one-line DataError unless ``root`` is a folder; ``expected`` says what --data should name."""
    if root.is_file():
        raise DataError(f"{root}: is a file; --data takes {expected}")
    if not root.is_dir():
        raise DataError(f"{root}: no such data folder")


def images_in(folder: Path) -> list[Path]:
    """The images of ``folder``; a one-line DataError when it holds none."""
    images = list_images(folder)
    if not images:
        raise DataError(f"{folder}: no images (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return images


def find_paired(root: str | Path, split: str) -> list[PairSource] | None:
    """The pairs of ``split`` ('train', 'val', 'test'); None when that split does not exist.

    Raises DataError when the folder has no paired layout, a split is empty, or files do not match.
    """
    root = Path(root)
    check_data_root(root)
    a_dir, b_dir = root / "A", root / "B"
    if a_dir.is_dir() or b_dir.is_dir():
        if not (a_dir.is_dir() and b_dir.is_dir()):
            raise DataError(f"{root}: has {'A/' if a_dir.is_dir() else 'B/'} but not "
                            f"{'B/' if a_dir.is_dir() else 'A/'}; paired folders need both")
        if (a_dir / "train").is_dir():
            a_dir, b_dir = a_dir / split, b_dir / split
        elif split != "train":
            return None
        if not a_dir.is_dir():
            return None
        return _match_by_name(a_dir, b_dir)
    if (root / "trainA").is_dir():
        raise DataError(f"{root}: holds unpaired data (trainA/, trainB/); train it with cyclegan")
    split_dir = root / split
    if not split_dir.is_dir():
        if split == "train":
            raise DataError(f"{root}: no paired layout found: expected train/ with A|B side-by-side images, "
                            "or A/ and B/ folders")
        return None
    return [PairSource(path) for path in images_in(split_dir)]


def find_unpaired(root: str | Path, split: str) -> tuple[list[Path], list[Path]] | None:
    """The A and B images of ``split`` ('train', 'val', 'test'); None when that split does not exist."""
    root = Path(root)
    check_data_root(root)
    a_dir, b_dir = root / f"{split}A", root / f"{split}B"
    if not a_dir.is_dir() and not b_dir.is_dir():
        if split == "train":
            raise DataError(f"{root}: no unpaired layout found: expected trainA/ and trainB/")
        return None
    for folder in (a_dir, b_dir):
        if not folder.is_dir():
            raise DataError(f"{folder}: missing (unpaired data needs both {a_dir.name}/ and {b_dir.name}/)")
    return images_in(a_dir), images_in(b_dir)


def _match_by_name(a_dir: Path, b_dir: Path) -> list[PairSource]:
    """Pair A and B files with the same relative path, ignoring the extension (a.jpg <-> a.png)."""
    a_files = {p.relative_to(a_dir).with_suffix(""): p for p in images_in(a_dir)}
    b_files = {p.relative_to(b_dir).with_suffix(""): p for p in images_in(b_dir)}
    only_a = sorted(set(a_files) - set(b_files))
    only_b = sorted(set(b_files) - set(a_files))
    if only_a or only_b:
        first = a_files[only_a[0]] if only_a else b_files[only_b[0]]
        other = b_dir if only_a else a_dir
        total = len(only_a) + len(only_b)
        more = f" ({total} unmatched files in all)" if total > 1 else ""
        raise DataError(f"{first}: no file of the same name in {other}{more}")
    return [PairSource(a_files[key], b_files[key]) for key in sorted(a_files)]
