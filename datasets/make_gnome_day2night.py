#!/usr/bin/env python3
"""Build datasets/gnome-day2night/: day -> night pairs cut from GNOME's light/dark wallpapers.

Each of the 7 wallpapers exists in a light and a dark version of the same picture (4096x4096 WebP).
Both are scaled to 1024x1024 (area filter) and cut into a 4x4 grid of 256x256 tiles; each tile pair is
saved side by side (light | dark, the reference pix2pix layout) as a JPEG of quality 90. Two tiles of
every wallpaper, (row 1, col 2) and (row 2, col 1), form val/; the other 14 go to train/.

    ../shared/data/get-debian-data.sh            # unpacks the wallpapers into ~/.cache/i2i-data
    python datasets/make_gnome_day2night.py [--source ~/.cache/i2i-data/gnome] [--out datasets/gnome-day2night]

Needs only NumPy and OpenCV. The output is deterministic for a given OpenCV version.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import cv2
import numpy as np

WALLPAPERS = ("adwaita", "grid", "licorice", "pixels", "symbolic", "truchet", "wood")
SCALED, TILE = 1024, 256
VAL_TILES = {(1, 2), (2, 1)}


def load(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"error: {path}: cannot read (run ../shared/data/get-debian-data.sh first)")
    return cv2.resize(image, (SCALED, SCALED), interpolation=cv2.INTER_AREA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("~/.cache/i2i-data/gnome").expanduser())
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "gnome-day2night")
    args = parser.parse_args()
    for split in ("train", "val"):
        shutil.rmtree(args.out / split, ignore_errors=True)
        (args.out / split).mkdir(parents=True)
    counts = {"train": 0, "val": 0}
    for name in WALLPAPERS:
        day, night = load(args.source / f"{name}-l.webp"), load(args.source / f"{name}-d.webp")
        for row in range(SCALED // TILE):
            for col in range(SCALED // TILE):
                window = np.s_[row * TILE : (row + 1) * TILE, col * TILE : (col + 1) * TILE]
                pair = np.hstack([day[window], night[window]])
                split = "val" if (row, col) in VAL_TILES else "train"
                cv2.imwrite(str(args.out / split / f"{name}_r{row}c{col}.jpg"), pair, [cv2.IMWRITE_JPEG_QUALITY, 90])
                counts[split] += 1
    shutil.copy(args.source / "COPYRIGHT", args.out / "COPYRIGHT.debian")
    print(f"{args.out}: {counts['train']} train and {counts['val']} val pairs of {TILE}x{TILE}")


if __name__ == "__main__":
    main()
