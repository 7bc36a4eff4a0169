#!/usr/bin/env python3
"""Build datasets/kde-photos-sr/: 256x256 high-resolution tiles of photographs, for super-resolution training.

The photographs are KDE Plasma wallpapers (Debian package plasma-workspace-wallpapers, GPL-2+). Each is scaled
to 1280 pixels wide with an area filter (removing the originals' JPEG noise) and cut into a grid of 256x256
cells; the cells with an even row + column are kept (a checkerboard) and saved as JPEG, quality 95.
Seven photographs go to train/, two others (never seen in training) to val/.

    ../shared/data/get-debian-data.sh            # unpacks the wallpapers into ~/.cache/i2i-data
    python datasets/make_kde_photos_sr.py [--source ~/.cache/i2i-data/photos] [--out datasets/kde-photos-sr]

Needs only NumPy and OpenCV. The output is deterministic for a given OpenCV version.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import cv2

TRAIN = ("BytheWater.jpg", "ColdRipple.jpg", "ColorfulCups.jpg", "FallenLeaf.jpg", "Grey.jpg", "Kite.jpg",
         "OneStandsOut.jpg")
VAL = ("EveningGlow.jpg", "Path.jpg")
WIDTH, TILE = 1280, 256


def tiles(path: Path) -> list[tuple[str, object]]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"error: {path}: cannot read (run ../shared/data/get-debian-data.sh first)")
    height = round(image.shape[0] * WIDTH / image.shape[1])
    image = cv2.resize(image, (WIDTH, height), interpolation=cv2.INTER_AREA)
    found = []
    for row in range(height // TILE):
        for col in range(WIDTH // TILE):
            if (row + col) % 2 == 0:
                cell = image[row * TILE : (row + 1) * TILE, col * TILE : (col + 1) * TILE]
                found.append((f"{path.stem}_r{row}c{col}", cell))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("~/.cache/i2i-data/photos").expanduser())
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "kde-photos-sr")
    args = parser.parse_args()
    counts = {}
    for split, names in (("train", TRAIN), ("val", VAL)):
        shutil.rmtree(args.out / split, ignore_errors=True)
        (args.out / split).mkdir(parents=True)
        counts[split] = 0
        for name in names:
            for stem, tile in tiles(args.source / name):
                cv2.imwrite(str(args.out / split / f"{stem}.jpg"), tile, [cv2.IMWRITE_JPEG_QUALITY, 95])
                counts[split] += 1
    shutil.copy(args.source / "COPYRIGHT", args.out / "COPYRIGHT.debian")
    print(f"{args.out}: {counts['train']} train and {counts['val']} val tiles of {TILE}x{TILE}")


if __name__ == "__main__":
    main()
