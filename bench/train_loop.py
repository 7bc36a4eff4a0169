#!/usr/bin/env python3
"""Is data loading ever the bottleneck? The loader alone, the step alone and the whole `i2i train` loop.

For each setting it builds one real run (the trainer `i2i train` uses: same loader, workers, pinned memory,
device transfer and step, CUDA graph included) and measures, in images/s:
  loader   iterating the DataLoader alone (JPEG decode, resize, crop, flip, collate, pin) with the workers
  step     the training step alone, repeated on one batch already in memory
  train    the training loop end to end (`trainer.run()`, logging included), windows after the first two
and prints train / step: the loop's efficiency (target: within 10%). The bundled sample (98 pairs of 256x512
JPEGs) is linked 20 times into a temporary folder so that epochs are long enough to measure.

    python bench/train_loop.py                                  # on a GPU machine
    python bench/train_loop.py --settings pix2pix:1 --workers 2 --steps 20    # a quick CPU run
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from hardware import cpu_description

from i2i.config import apply_overrides
from i2i.engine import distributed
from i2i.engine.devices import backend_settings, resolve_device
from i2i.engine.logger import read_records
from i2i.tasks import default_config
from i2i.training.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "datasets" / "gnome-day2night"


def linked_dataset(folder: Path, copies: int) -> tuple[Path, Path]:
    """(paired, unpaired) datasets made of links to the bundled sample, ``copies`` times over."""
    paired, unpaired = folder / "paired", folder / "unpaired"
    for split in ("train", "val"):
        (paired / split).mkdir(parents=True)
        for path in sorted((SAMPLE / split).glob("*.jpg")):
            for i in range(copies if split == "train" else 1):
                (paired / split / f"{path.stem}_{i}.jpg").symlink_to(path)
    import cv2  # unpaired: left halves as domain A, right halves as B

    for domain in ("A", "B"):
        (unpaired / f"train{domain}").mkdir(parents=True)
    for path in sorted((SAMPLE / "train").glob("*.jpg")):
        image = cv2.imread(str(path))
        half = image.shape[1] // 2
        for domain, crop in (("A", image[:, :half]), ("B", image[:, half:])):
            first = unpaired / f"train{domain}" / f"{path.stem}_0.jpg"
            cv2.imwrite(str(first), crop)
            for i in range(1, copies):
                (unpaired / f"train{domain}" / f"{path.stem}_{i}.jpg").symlink_to(first)
    return paired, unpaired


def measure(task: str, batch_size: int, data: Path, out: Path, args: argparse.Namespace) -> dict[str, float]:
    with contextlib.redirect_stdout(io.StringIO()):  # the trainer's own lines
        return _measure(task, batch_size, data, out, args)


def _measure(task: str, batch_size: int, data: Path, out: Path, args: argparse.Namespace) -> dict[str, float]:
    images = len(list((data / ("train" if task == "pix2pix" else "trainA")).iterdir()))
    steps = min(args.steps, images // batch_size - 1)  # within one epoch: no end-of-epoch work in the figures
    config = apply_overrides(default_config(task), {
        "data": {"root": str(data), "num_workers": args.workers, "val_images": 0},
        "optim": {"batch_size": batch_size},
        "run": {"out": str(out), "name": f"{task}_{batch_size}", "precision": args.precision, "max_steps": steps,
                "log_every": max(1, steps // 6),  # windows; the first two (capture, warm-up) are left out
                "sample_every": 10**9, "save_every_epochs": 0,
                "save_latest_every_steps": 0, "cuda_graphs": not args.no_graphs},
    })
    device = resolve_device(config.run.device)
    context = distributed.Distributed()
    with backend_settings(device, False):
        trainer = Trainer(config, out / config.run.name, None, False, device, context)
        # 1. the loader alone (after its first batch: the workers are started)
        loader = iter(trainer.loader)
        first = next(loader)
        count = min(steps, len(trainer.loader) - 1)
        start = time.perf_counter()
        for batch in itertools.islice(loader, count):
            del batch
        loader_rate = count * batch_size / (time.perf_counter() - start)
        del loader
        # 2. the step alone, on one batch (pinned, on the host, as the loader hands it over)
        for _ in range(5):  # warm-up, autotuning and the graph's capture
            trainer.step(first)
        rates = []
        for _ in range(3):
            _sync(device)
            start = time.perf_counter()
            for _ in range(args.step_repeats):
                trainer.step(first)
            _sync(device)
            rates.append(args.step_repeats * batch_size / (time.perf_counter() - start))
        step_rate = statistics.median(rates)
        # 3. the whole loop
        trainer.run()
    speeds = [r["steps_per_s"] * batch_size for r in _records(out / config.run.name / "metrics.jsonl")][2:]
    train_rate = statistics.median(speeds) if speeds else float("nan")
    return {"loader": loader_rate, "step": step_rate, "train": train_rate}


def _records(path: Path) -> list[dict[str, float]]:
    return [r for r in read_records(path) if r is not None and r.get("kind") == "train"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["pix2pix:1", "pix2pix:16", "cyclegan:1", "cyclegan:4"],
                        help="TASK:BATCH pairs")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--precision", default="bf16" if torch.cuda.is_available() else "fp32")
    parser.add_argument("--steps", type=int, default=300, help="training steps of the whole-loop measurement")
    parser.add_argument("--step-repeats", type=int, default=25, help="steps per timing of the step alone")
    parser.add_argument("--copies", type=int, default=20, help="links to each sample image")
    parser.add_argument("--no-graphs", action="store_true")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    gpu = f", {torch.cuda.get_device_name()}" if device == "cuda" else ""
    print(f"machine: {cpu_description()}{gpu}; torch {torch.__version__}; {args.workers} workers, {args.precision}, "
          f"CUDA graphs {'off' if args.no_graphs or device != 'cuda' else 'on'}; 256x256 crops of the bundled "
          f"sample (x{args.copies}); images/s\n")
    print(f"{'task':<9} {'batch':>5} {'loader':>9} {'step':>9} {'train':>9} {'train/step':>10} {'bench s':>7}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        paired, unpaired = linked_dataset(Path(tmp) / "data", args.copies)
        for setting in args.settings:
            task, batch = setting.split(":")
            data = paired if task == "pix2pix" else unpaired
            start = time.perf_counter()
            r = measure(task, int(batch), data, Path(tmp) / "runs", args)
            print(f"{task:<9} {int(batch):>5} {r['loader']:>9.1f} {r['step']:>9.1f} {r['train']:>9.1f} "
                  f"{r['train'] / r['step']:>9.0%} {time.perf_counter() - start:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
