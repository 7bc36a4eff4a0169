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


def tiny_teacher(out: Path, data_root: Path, task: str = "cyclegan", steps: int = 2,
                 **sections: dict[str, Any]) -> Path:
    """A teacher for distillation: a few steps of a tiny translation run at 32x32 (its run folder)."""
    from i2i.training import train

    model = {"net_g": "unet_32"} if task == "pix2pix" else {}
    base: dict[str, dict[str, Any]] = {"data": {"load_size": 36, "crop_size": 32, "val_images": 2}, "model": model,
                                       "run": {"name": "teacher", "max_steps": steps, "seed": 1}}
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return train(tiny_config(task, data_root, out, **base), progress_bar=False).run_dir


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``i2i ARGS`` in a fresh process (extra environment variables in ``env``), capturing its output."""
    import os

    return subprocess.run([sys.executable, "-m", "i2i", *args], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={**os.environ, **(env or {})})


def export_tiny(out: Path, architecture: str, norm: str, in_channels: int = 3, out_channels: int = 3,
                seed: int = 0) -> Path:
    """A randomly initialised generator exported through i2i's real export path (fast: no training)."""
    import torch

    from i2i.deploy.export import ExportRequest, export_network, model_info
    from i2i.models import spec_for
    from i2i.nn import init_weights

    torch.manual_seed(seed)
    spec = spec_for(architecture, in_channels=in_channels, out_channels=out_channels, ngf=4, norm=norm)
    net = init_weights(spec.build(), "normal", 0.2)
    info = model_info("pix2pix" if architecture.startswith("unet") else "cyclegan", spec, net, 64, "AtoB", "batch")
    image = cv2.cvtColor(cv2.imread(str(SAMPLE / "val" / "wood_r2c1.jpg")), cv2.COLOR_BGR2RGB)
    request = ExportRequest(out.stem, out, register=False)
    export_network(net, info, request, [image[:, :256], image[:, 256:]], [], say=lambda _: None)
    return out


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """unet (batch norm, multiple 32), resnet (instance norm, multiple 4), and a grey-input unet, as .onnx files."""
    root = tmp_path_factory.mktemp("models")
    return {
        "unet": export_tiny(root / "unet.onnx", "unet_32", "batch"),
        "resnet": export_tiny(root / "resnet.onnx", "resnet_2blocks", "instance"),
        "grey": export_tiny(root / "grey.onnx", "unet_32", "batch", in_channels=1, out_channels=1),
    }


# --- i2i app (tests/test_app_*.py): a store, a runs folder and a running app, shared by the API and browser tests

@pytest.fixture(scope="session")
def app_home(tmp_path_factory: pytest.TempPathFactory, tiny_models: dict[str, Path]) -> Path:
    """An I2I_HOME with two exported translators, a generator from noise and a model that fails on most sizes."""
    from app_support import fixed_size_model, noise_model

    from i2i.hub.store import ModelStore

    root = tmp_path_factory.mktemp("app_home")
    store = ModelStore(root)
    made = tmp_path_factory.mktemp("app_models")
    for name, path in (("unet", tiny_models["unet"]), ("resnet", tiny_models["resnet"]),
                       ("noise", noise_model(made / "noise.onnx")), ("fixed64", fixed_size_model(made / "f.onnx"))):
        store.add(name, path, {"task": "test", "source": "tests"})
    return root


@pytest.fixture(scope="session")
def app_layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A runs folder (two runs, a symlink to a run outside it, a run whose sample grid links outside) and a
    folder of images for the Translate page."""
    from app_support import make_run, photo

    root = tmp_path_factory.mktemp("app_layout")
    runs = root / "runs"
    make_run(runs / "base", 2e-4)
    make_run(runs / "fast", 1e-3)
    outside = make_run(root / "elsewhere" / "secret", 5e-4)
    (runs / "linked").symlink_to(outside, target_is_directory=True)
    sneaky = make_run(runs / "sneaky", 1e-4, steps=(2,))
    (sneaky / "samples" / "step_000009.png").symlink_to(outside / "samples" / "step_000004.png")
    images = root / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), photo(40, 56)[:, :, ::-1])
    cv2.imwrite(str(images / "b.jpg"), photo(64, 64)[:, :, ::-1])
    return {"runs": runs, "images": images, "outside": outside}


@pytest.fixture(scope="module")
def app_server(app_home: Path, app_layout: dict[str, Path]) -> Any:
    """``i2i app`` on a free port (small limits, so the tests can reach them), for one test module."""
    from app_support import Running

    from i2i.app.server import AppSettings

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("I2I_HOME", str(app_home))
        running = Running(AppSettings(runs=app_layout["runs"], folder=app_layout["images"], max_upload_mb=1.0,
                                      max_pixels=2_000_000, workers=2, max_live=8, pending_uploads=4))
    yield running
    running.stop()
