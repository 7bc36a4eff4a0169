"""Benchmark of `i2i eval`: Inception feature extraction (images/s) and a full evaluation of two folders.

    .venv/bin/python bench/eval.py                       # 1,000 pairs of 256x256 images, CPU (and CUDA when present)
    .venv/bin/python bench/eval.py --images 200 --device cpu

Two folders of generated and real images with matching names are written to a temporary folder; the full
evaluation is FID, KID (100 subsets), LPIPS (alex), PSNR and SSIM, timed with an empty feature cache (cold) and
again with the reference features cached (warm). The Inception and AlexNet weights are the published ones when
they are in I2I_HOME (or given with --weights); otherwise networks of the same layout with default initial
weights are written and timed, which costs the same (the numbers are then not FIDs to compare with anything).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from i2i.evaluation.evaluate import EvalOptions, evaluate_folders
from i2i.hub.weights import WEIGHTS, weights_folder
from i2i.metrics.backbones import ARCHITECTURES, INCEPTION, WeightsSource, inception

TIMING_ONLY = "default-initialised networks of the published layout (timing only)"


def write_images(folder: Path, count: int, size: int, seed: int) -> None:
    """``count`` JPEGs of blurred noise with shapes (not trivially compressible), named 0000.jpg ..."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        image = cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (0, 0), 3)
        x, y = rng.integers(0, size // 2, 2)
        cv2.rectangle(image, (int(x), int(y)), (int(x) + size // 3, int(y) + size // 4),
                      tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])


def weights_files(given: list[str], home: Path) -> tuple[list[str], str]:
    """The files to use: given, else cached published ones, else default-initialised ones written to ``home``."""
    if given:
        return given, "given files"
    files, kind = [], "published weights"
    for name in (INCEPTION.name, "alexnet"):
        cached = weights_folder() / WEIGHTS[name].file
        if cached.is_file():
            files.append(str(cached))
            continue
        path = home / WEIGHTS[name].file
        torch.save(ARCHITECTURES[name]().state_dict(), path)
        files.append(str(path))
        kind = TIMING_ONLY
    return files, kind


def extraction_rate(files: list[str], device: torch.device, size: int, batch: int, batches: int) -> float:
    """Images per second through Inception (uint8 in, pool3 features out), after a warm-up batch."""
    net, _ = inception(WeightsSource.from_files(files))
    net = net.to(device)
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, device=device)
    with torch.inference_mode():
        net(images)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(batches):
            net(images)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return batch * batches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="image pairs (default: 1000)")
    parser.add_argument("--size", type=int, default=256, help="image side (default: 256)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CPU, and CUDA too when present")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--weights", action="append", default=[], metavar="FILE")
    args = parser.parse_args()
    devices = [torch.device("cpu")] if args.device != "cuda" else []
    if args.device in ("auto", "cuda") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    if not devices:
        sys.exit("no CUDA device here")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["I2I_HOME"] = str(root / "home")  # an empty feature cache: the first evaluation is cold
        files, kind = weights_files(args.weights, root)
        write_images(root / "real", args.images, args.size, 0)
        write_images(root / "fake", args.images, args.size, 1)
        print(f"i2i eval benchmark: {args.images} pairs of {args.size}x{args.size} JPEGs; {kind}")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
              f"{torch.__version__}, {torch.get_num_threads()} threads"
              + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
        print(f"| device | Inception images/s (batch {args.batch_size}) | full eval, cold cache | full eval, "
              "reference cached | FID | KID | LPIPS |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for device in devices:
            rate = extraction_rate(files, device, args.size, args.batch_size, 3 if device.type == "cpu" else 20)
            options = EvalOptions(device=str(device), batch_size=args.batch_size, weights=tuple(files))
            timings = []
            for _ in range(2):
                start = time.perf_counter()
                result = evaluate_folders(root / "fake", root / "real", options, say=lambda _: None)
                timings.append(time.perf_counter() - start)
            m = result.scores[0].metrics
            scores = (f"{m['FID']:.2f} | {m['KID']:.4f} | {m['LPIPS']:.4f}" if kind != TIMING_ONLY
                      else "- | - | - (not real weights)")
            print(f"| {device.type} | {rate:.1f} | {timings[0]:.1f} s | {timings[1]:.1f} s | {scores} |", flush=True)
            for cached in (root / "home" / "cache").rglob("*.npy"):  # the next device starts cold too
                cached.unlink()


if __name__ == "__main__":
    main()
