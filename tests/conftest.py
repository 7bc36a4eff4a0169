"""Shared fixtures: the bundled sample, tiny configs, an unpaired set derived from the sample."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import pytest

from i2i.config import TrainConfig, apply_overrides
from i2i.tasks import default_config

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "datasets" / "gnome-day2night"


def tiny_config(task: str, data_root: Path, out: Path, **sections: dict[str, Any]) -> TrainConfig:
    """A task's config shrunk to run in seconds on a CPU: 32-64 px, 8 filters, main-process loading."""
    model = {"ngf": 8, "ndf": 8, "net_g": "unet_64" if task == "pix2pix" else "resnet_2blocks"}
    base = {
        "data": {"root": str(data_root), "load_size": 72, "crop_size": 64, "num_workers": 0, "val_images": 6},
        "model": model,
        "optim": {"batch_size": 4, "n_epochs": 1, "n_epochs_decay": 2},
        "run": {"out": str(out), "name": "tiny", "log_every": 1, "sample_every": 0, "seed": 3},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return apply_overrides(default_config(task), base)


@pytest.fixture(scope="session")
def unpaired_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """trainA/trainB (and testA/testB) cut from the bundled pairs: day halves of some, night of others."""
    root = tmp_path_factory.mktemp("unpaired")
    for split, out in (("train", "train"), ("val", "test")):
        for i, path in enumerate(sorted((SAMPLE / split).glob("*.jpg"))):
            image = cv2.imread(str(path))
            half = image.shape[1] // 2
            domain, crop = ("A", image[:, :half]) if i % 2 == 0 else ("B", image[:, half:])
            (root / f"{out}{domain}").mkdir(exist_ok=True)
            cv2.imwrite(str(root / f"{out}{domain}" / f"{path.stem}.png"), crop)
    return root


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``i2i ARGS`` in a fresh process, capturing its output."""
    return subprocess.run([sys.executable, "-m", "i2i", *args], capture_output=True, text=True, cwd=cwd, timeout=600)
