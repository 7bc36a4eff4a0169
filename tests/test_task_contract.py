"""The contract every registered method keeps with the loop, export and inference, checked on every task the
registry holds (a new method is covered by adding its file): it trains, resumes exactly, rebuilds from its
checkpoint alone, and exports each of its generators with the ONNX parity check."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import ROOT, SAMPLE, tiny_teacher

from i2i.config import TrainConfig, apply_overrides
from i2i.deploy.export import export_run
from i2i.engine.checkpoint import latest_checkpoint, load_checkpoint
from i2i.engine.logger import read_metrics
from i2i.errors import ConfigError
from i2i.tasks import TASKS, config_from_dict, default_config, task_class
from i2i.tasks.distill import Distill
from i2i.tasks.labelled import LabelledTask
from i2i.tasks.pix2pix import Pix2Pix
from i2i.tasks.sr import SRResNet
from i2i.tasks.unpaired import UnpairedTranslation
from i2i.training import resume, train

SR_SAMPLE = ROOT / "datasets" / "kde-photos-sr"
FASHION = ROOT / "datasets" / "fashion-mnist-sample"
SHARED: dict[str, dict[str, Any]] = {
    "optim": {"batch_size": 4},
    "run": {"log_every": 1, "sample_every": 0, "seed": 5, "save_every_epochs": 0},
}


def tiny(task: str, out: Path, unpaired: Path) -> TrainConfig:
    """The task's recipe on the bundled sample of its family's layout, with networks small enough for seconds."""
    cls = task_class(task)
    method_fields = {f.name for f in dataclasses.fields(default_config(task).method)}
    if issubclass(cls, Pix2Pix):
        family = {"data": {"root": str(SAMPLE), "load_size": 36, "crop_size": 32, "val_images": 1},
                  "model": {"net_g": "unet_32", "ngf": 8, "ndf": 8}}
    elif issubclass(cls, UnpairedTranslation):
        family = {"data": {"root": str(unpaired), "load_size": 36, "crop_size": 32, "val_images": 1},
                  "model": {"net_g": "resnet_2blocks", "ngf": 8, "ndf": 8},
                  "method": {k: v for k, v in (("num_patches", 16), ("netf_nc", 16)) if k in method_fields}}  # CUT's
    elif issubclass(cls, SRResNet):
        family = {"data": {"root": str(SR_SAMPLE), "crop_size": 32, "val_images": 1},
                  "model": {"net_g": "srresnet_2blocks", "ngf": 8, "ndf": 4},
                  "method": {"patches_per_image": 1, "val_crop": 32}}
        if "lambda_perceptual" in method_fields:
            family["method"]["lambda_perceptual"] = 0.0  # no VGG weights here
    elif issubclass(cls, LabelledTask):
        family = {"data": {"root": str(FASHION), "val_images": 20}, "method": {"image_size": 32, "channels": 1},
                  "model": {"ngf": 8, "ndf": 8} if "model.ngf" not in cls.unused_options else {}}
        family["method"].update({k: v for k, v in (("metric_samples", 20), ("width", 8)) if k in method_fields})
    elif issubclass(cls, Distill):  # a compact student of a tiny CycleGAN, on the teacher's data
        family = {"data": {"root": str(unpaired), "load_size": 36, "crop_size": 32, "val_images": 1},
                  "model": {"net_g": "mobile_resnet_2blocks", "ngf": 8, "ndf": 8},
                  "method": {"teacher": str(tiny_teacher(out, unpaired))}}
    else:
        pytest.fail(f"{task}: no bundled sample for its data layout; add its family to tests/test_task_contract.py")
    sections = {k: dict(v) for k, v in SHARED.items()}
    for name, values in family.items():
        sections.setdefault(name, {}).update(values)
    sections["data"]["num_workers"] = 0
    sections["run"]["out"] = str(out)
    return apply_overrides(default_config(task), sections)


def with_run(config: TrainConfig, **run: Any) -> TrainConfig:
    return dataclasses.replace(config, run=dataclasses.replace(config.run, **run))


@pytest.mark.parametrize("task", TASKS.names())
def test_every_task_trains_resumes_exactly_rebuilds_and_exports(task: str, tmp_path: Path,
                                                                 unpaired_sample: Path) -> None:
    config = tiny(task, tmp_path, unpaired_sample)
    whole = train(with_run(config, name="whole", max_steps=3), progress_bar=False)
    train(with_run(config, name="part", max_steps=2), progress_bar=False)
    resumed = resume(tmp_path / "part", {"run": {"max_steps": 3}}, progress_bar=False)

    # 1. exact resume: the steps after the resume are the uninterrupted run's, bit for bit
    expected = dict(read_metrics(whole.run_dir / "metrics.jsonl", "train"))
    got = dict(read_metrics(resumed.run_dir / "metrics.jsonl", "train"))
    assert sorted(got) == [1, 2, 3] and got[3] == expected[3], (got, expected)
    assert all(all(torch.isfinite(torch.tensor(v)) for v in values.values()) for values in got.values())

    # 2. the checkpoint alone rebuilds every network, as the task would build it from the saved config
    checkpoint = load_checkpoint(latest_checkpoint(resumed.run_dir))
    saved = config_from_dict(checkpoint.config)
    assert task_class(task).network_specs(saved) == checkpoint.specs
    final = load_checkpoint(latest_checkpoint(whole.run_dir))
    for name in checkpoint.specs:
        rebuilt = checkpoint.build(name).state_dict()
        assert all(torch.equal(rebuilt[k], final.weights[name][k]) for k in rebuilt), name

    # 3. its (first) generator exports, checked against PyTorch; a task without one says so
    generators = task_class(task).generators
    if generators:
        (exported,) = export_run(resumed.run_dir, out=tmp_path / "export.onnx", register=False, say=lambda _: None)
        assert exported.path.is_file() and exported.check, exported
    else:
        with pytest.raises(ConfigError, match="no generator to export"):
            export_run(resumed.run_dir, register=False, say=lambda _: None)


def test_cuda_graphs_are_opt_in() -> None:
    """A method replays its step in a CUDA graph only once it says its step was checked under one (on a GPU, by
    tests/test_gpu.py, which runs every task that opts in); a new method runs eagerly until then."""
    from i2i.tasks.base import Task

    assert Task.graph_capturable is False
    assert {t for t in TASKS.names() if task_class(t).graph_capturable} >= {"pix2pix", "cyclegan"}
