"""Training behaviour on the bundled sample: it learns, it resumes exactly, it protects existing runs."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from conftest import SAMPLE, tiny_config

from i2i.config import apply_overrides
from i2i.engine.checkpoint import load_checkpoint
from i2i.errors import CheckpointError, ConfigError
from i2i.tasks import task_class
from i2i.training.trainer import resume, train


def train_losses(run_dir: Path) -> dict[int, dict[str, float]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    skip = {"kind", "step", "epoch", "time", "lr", "steps_per_s"}
    return {r["step"]: {k: v for k, v in r.items() if k not in skip} for r in records if r["kind"] == "train"}


def test_short_training_lowers_validation_l1(tmp_path: Path) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, run={"max_steps": 40})
    result = train(config, progress_bar=False)
    first, last = result.validation[0]["L1"], result.validation[-1]["L1"]
    assert last < 0.92 * first, (first, last)
    assert result.checkpoint.is_file() and (result.run_dir / "samples" / "step_000040.png").is_file()
    G = load_checkpoint(result.checkpoint).build("G")  # the checkpoint rebuilds the generator alone
    assert G.size_multiple == 64


@pytest.mark.parametrize("task", ["pix2pix", "cyclegan"])
def test_resume_reproduces_the_uninterrupted_losses(tmp_path: Path, unpaired_sample: Path, task: str) -> None:
    data = SAMPLE if task == "pix2pix" else unpaired_sample
    extra = {"method": {"pool_size": 6}} if task == "cyclegan" else {}
    # 25 (pix2pix) or 13 (cyclegan) steps per epoch: the runs cross an epoch and a learning-rate change
    full = tiny_config(task, data, tmp_path, run={"name": "full", "max_steps": 30}, **extra)
    part = dataclasses.replace(full, run=dataclasses.replace(full.run, name="part", max_steps=11))
    train(full, progress_bar=False)
    train(part, progress_bar=False)
    result = resume(tmp_path / "part", {"run": {"max_steps": 30}, "data": {"num_workers": 1}}, progress_bar=False)
    assert result.progress.step == 30
    expected, got = train_losses(tmp_path / "full"), train_losses(tmp_path / "part")
    assert sorted(got) == list(range(1, 31))
    assert all(got[step] == expected[step] for step in range(12, 31))  # bit-identical, not merely close


def test_runs_are_protected(tmp_path: Path) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, run={"max_steps": 2, "save_every_epochs": 1})
    train(config, progress_bar=False)
    with pytest.raises(ConfigError, match="already holds a run: continue it with --resume"):
        train(config, progress_bar=False)
    with pytest.raises(ConfigError, match=r"cannot change model\.net_g when resuming"):
        resume(tmp_path / "tiny", {"model": {"net_g": "unet_128"}})
    with pytest.raises(CheckpointError, match="no checkpoint to resume"):
        resume(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="unknown section 'modle'"):
        resume(tmp_path / "tiny", {"modle": {"ngf": 4}})
    steps_before = train_losses(tmp_path / "tiny")
    assert resume(tmp_path / "tiny", {"run": {"max_steps": 1}}, progress_bar=False).progress.step == 2
    assert train_losses(tmp_path / "tiny") == steps_before  # the limit was already reached: no step taken


def test_epoch_snapshots_hold_weights_only(tmp_path: Path) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, data={"max_dataset_size": 8}, run={"save_every_epochs": 1,
                                                                                          "max_steps": 4})
    train(config, progress_bar=False)
    snapshot = tmp_path / "tiny" / "checkpoints" / "epoch_0001.safetensors"
    assert snapshot.is_file() and load_checkpoint(snapshot).state is None
    assert snapshot.stat().st_size < (tmp_path / "tiny" / "checkpoints" / "latest.safetensors").stat().st_size
    with pytest.raises(CheckpointError, match="holds weights only"):
        resume(snapshot)


@pytest.mark.parametrize(("task", "gan_mode", "net_d"), [
    ("pix2pix", "lsgan", "pixel"), ("pix2pix", "hinge", "n_layers"), ("pix2pix", "wgangp", "basic"),
    ("cyclegan", "vanilla", "multiscale"), ("cyclegan", "wgangp", "basic"),
])
def test_every_objective_and_discriminator_trains(tmp_path: Path, unpaired_sample: Path, task: str, gan_mode: str,
                                                  net_d: str) -> None:
    data = SAMPLE if task == "pix2pix" else unpaired_sample
    config = tiny_config(task, data, tmp_path, model={"net_d": net_d, "n_layers_d": 2}, method={"gan_mode": gan_mode},
                         data={"val_images": 0}, run={"max_steps": 3})
    if net_d == "multiscale":
        config = apply_overrides(config, {"data": {"crop_size": 128, "load_size": 128}, "model": {"n_layers_d": 3}})
    result = train(config, progress_bar=False)
    losses = train_losses(result.run_dir)
    assert len(losses) == 3 and all(math.isfinite(v) for step in losses.values() for v in step.values())


def test_sizes_the_networks_cannot_take_fail_before_training(tmp_path: Path) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, model={"net_d": "multiscale"})
    with pytest.raises(ConfigError, match=r"images of 64x64 are too small for --netG unet_64 / --netD multiscale"):
        task_class("pix2pix").check_config(config)
    config = tiny_config("cyclegan", SAMPLE, tmp_path, data={"input_nc": 1})
    with pytest.raises(ConfigError, match="identity loss needs --input-nc = --output-nc"):
        task_class("cyclegan").check_config(config)


def test_a_torn_last_metrics_line_does_not_block_a_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A crash mid-write leaves half a JSON line; the resume drops it, says so, and continues."""
    config = tiny_config("pix2pix", SAMPLE, tmp_path, run={"max_steps": 3})
    train(config, progress_bar=False)
    metrics = tmp_path / "tiny" / "metrics.jsonl"
    with metrics.open("a") as f:
        f.write('{"kind": "train", "step": 4, "epoch": 0, "G_L')
    result = resume(tmp_path / "tiny", {"run": {"max_steps": 5}}, progress_bar=False)
    assert result.progress.step == 5
    assert "dropped 1 cut-off or unreadable line(s)" in capsys.readouterr().out
    assert sorted(train_losses(tmp_path / "tiny")) == [1, 2, 3, 4, 5]


def test_the_summary_after_a_resume_compares_with_the_first_validation(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, run={"max_steps": 2})
    first = train(config, progress_bar=False).validation[0]["L1"]
    capsys.readouterr()
    resume(tmp_path / "tiny", {"run": {"max_steps": 4}}, progress_bar=False)
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("validation  "))
    assert f"L1 {first:.4g} at step 0 ->" in line and line.endswith("at step 4"), line


def test_training_leaves_the_callers_backend_flags_as_they_were(tmp_path: Path) -> None:
    import torch

    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
              torch.backends.cudnn.deterministic)
    config = tiny_config("pix2pix", SAMPLE, tmp_path, data={"val_images": 0},
                         run={"max_steps": 1, "deterministic": True})
    train(config, progress_bar=False)
    assert (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
            torch.backends.cudnn.deterministic) == before


def test_a_resume_removes_the_temporary_file_of_a_killed_save(tmp_path: Path) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, data={"val_images": 0}, run={"max_steps": 1})
    train(config, progress_bar=False)
    stale = tmp_path / "tiny" / "checkpoints" / ".latest.safetensors.a1b2c3d4.tmp"
    stale.write_bytes(b"\0" * 4096)  # what a SIGKILL during a save leaves
    resume(tmp_path / "tiny", {"run": {"max_steps": 2}}, progress_bar=False)
    assert not stale.exists()


def test_moments_restored_from_a_checkpoint_take_their_parameters_layout() -> None:
    """CUDA runs keep parameters channels-last; the fused Adam kernel there refuses moments of another layout."""
    import torch

    from i2i.engine.optimizers import match_parameter_layout

    conv = torch.nn.Conv2d(3, 8, 3)
    optimizer = torch.optim.Adam(conv.parameters())
    conv(torch.randn(1, 3, 8, 8)).sum().backward()
    optimizer.step()
    saved = optimizer.state_dict()
    conv.to(memory_format=torch.channels_last)
    restored = torch.optim.Adam(conv.parameters())
    restored.load_state_dict(saved)
    match_parameter_layout(restored)
    for key in ("exp_avg", "exp_avg_sq"):
        moment = restored.state[conv.weight][key]
        assert moment.stride() == conv.weight.stride() and torch.equal(moment, saved["state"][0][key])


def test_a_time_limit_stops_the_run_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, data={"val_images": 0}, run={"max_minutes": 1e-4})
    result = train(config, progress_bar=False)
    assert result.progress.step == 1 and not result.finished and not result.interrupted  # the first step's check
    assert "stopped at step 1" in capsys.readouterr().out
    assert load_checkpoint(result.checkpoint).progress.step == 1
