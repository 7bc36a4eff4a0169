#!/usr/bin/env python3
"""Make datasets/fashion-mnist-sample: a class-balanced part of Fashion-MNIST, in its own IDX format.

    bash ../shared/data/get-debian-data.sh          # unpacks Debian's dataset-fashion-mnist into ~/.cache/i2i-data
    python datasets/make_fashion_mnist_sample.py [SOURCE] [--train-per-class 400] [--test-per-class 100]

Takes the first N images of each class from the training and test files (in file order, so the sample is the
same every time), and writes them gzipped with their labels and the class names.
"""

from __future__ import annotations

import argparse
import gzip
import struct
from pathlib import Path

import numpy as np

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path: Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data[4 + 4 * ndim :], np.uint8).reshape(shape)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=str(Path.home() / ".cache/i2i-data/fashion-mnist"))
    parser.add_argument("--train-per-class", type=int, default=400)
    parser.add_argument("--test-per-class", type=int, default=100)
    args = parser.parse_args()
    source, out = Path(args.source), Path(__file__).resolve().parent / "fashion-mnist-sample"
    out.mkdir(exist_ok=True)
    for prefix, per_class in (("train", args.train_per_class), ("t10k", args.test_per_class)):
        images = read_idx(source / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz")
        keep = np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(len(CLASSES))]))
        write_idx(out / f"{prefix}-images-idx3-ubyte.gz", images[keep])
        write_idx(out / f"{prefix}-labels-idx1-ubyte.gz", labels[keep])
        print(f"{prefix}: {len(keep)} images")
    (out / "classes.txt").write_text("\n".join(CLASSES) + "\n")


if __name__ == "__main__":
    main()
