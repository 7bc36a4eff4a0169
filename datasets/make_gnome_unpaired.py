#!/usr/bin/env python3
"""Make an unpaired view of datasets/gnome-day2night: its day halves and night halves, shuffled independently.

The bundled pairs are truly paired, which lets an unpaired method (CycleGAN, CUT, FastCUT) trained on this view be
scored against the real night image of each day image. trainA/ gets the day (left) halves of train/, trainB/ the
night (right) halves, each in its own seeded random order and renamed (a_000.png, b_000.png, ...), so neither
the order nor the names tell which night image belongs to which day image; testA/ and testB/ are made the same way
from val/ (the runs' validation images). Scoring uses the pairs of val/ as they are.

    python datasets/make_gnome_unpaired.py [--out ~/.cache/i2i-data/gnome-day2night-unpaired] [--seed 0]

Deterministic for a given seed (PNG, lossless from the decoded JPEG halves). The folder is a cache, not part of
the repository; it is rebuilt whole (written beside its place, then renamed) when it is missing or --force is given.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

SOURCE = Path(__file__).resolve().parent / "gnome-day2night"
DEFAULT_OUT = Path("~/.cache/i2i-data/gnome-day2night-unpaired").expanduser()


def halves(path: Path) -> tuple[np.ndarray, np.ndarray]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.shape[1] % 2:
        raise SystemExit(f"error: {path}: not a readable A|B image of even width")
    half = image.shape[1] // 2
    return image[:, :half], image[:, half:]


def make_unpaired(out: Path = DEFAULT_OUT, seed: int = 0, source: Path = SOURCE, force: bool = False) -> Path:
    """Write the unpaired view of ``source`` (an A|B paired folder) into ``out``; returns ``out``."""
    out = Path(out).expanduser()
    if out.is_dir() and not force:
        return out
    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for split, prefix in (("train", "train"), ("val", "test")):
            pairs = [halves(p) for p in sorted((source / split).glob("*.jpg"))]
            if not pairs:
                raise SystemExit(f"error: {source / split}: no A|B images")
            for domain, side in (("A", 0), ("B", 1)):
                folder = staging / f"{prefix}{domain}"
                folder.mkdir()
                for index, pair in enumerate(rng.permutation(len(pairs))):
                    cv2.imwrite(str(folder / f"{domain.lower()}_{index:03d}.png"), pairs[pair][side])
        (staging / "README.md").write_text(f"Unpaired view of {source} (seed {seed}), made by datasets/"
                                           "make_gnome_unpaired.py; licence as the source's (CC-BY-SA 3.0).\n")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"(default: {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=0, help="order of the shuffles (default: 0)")
    parser.add_argument("--force", action="store_true", help="rebuild the folder even if it exists")
    args = parser.parse_args()
    out = make_unpaired(args.out, args.seed, force=args.force)
    counts = {f.name: len(list(f.glob("*.png"))) for f in sorted(out.iterdir()) if f.is_dir()}
    print(f"{out}: " + ", ".join(f"{name} {count}" for name, count in counts.items()))


if __name__ == "__main__":
    main()
