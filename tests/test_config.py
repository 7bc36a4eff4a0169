"""Typed configs: defaults per task, YAML-style overrides with clear errors, round trips."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE

from i2i.cli.options import collect_options
from i2i.config import SECTIONS, apply_overrides, flag_of, range_text, to_dict
from i2i.errors import ConfigError
from i2i.tasks import TASKS, config_from_dict, default_config, task_class


def test_task_defaults_are_the_paper_recipes() -> None:
    p2p, cyc = default_config("pix2pix"), default_config("cyclegan")
    assert (p2p.model.net_g, p2p.model.norm, p2p.model.dropout, p2p.method.gan_mode, p2p.method.lambda_l1) == (
        "unet_256", "batch", True, "vanilla", 100.0)
    assert (cyc.model.net_g, cyc.model.norm, cyc.model.dropout, cyc.method.gan_mode) == (
        "resnet_9blocks", "instance", False, "lsgan")
    assert (cyc.method.lambda_a, cyc.method.lambda_identity, cyc.method.pool_size) == (10.0, 0.5, 50)
    assert (p2p.optim.lr, p2p.optim.beta1, p2p.total_epochs) == (2e-4, 0.5, 200)


def test_round_trip_and_partial_sections_keep_task_defaults() -> None:
    config = default_config("cyclegan")
    assert config_from_dict(to_dict(config)) == config
    changed = config_from_dict({"task": "cyclegan", "model": {"ngf": 32}, "optim": {"lr": "1e-4"}})
    assert changed.model.ngf == 32 and changed.model.net_g == "resnet_9blocks" and changed.optim.lr == 1e-4


@pytest.mark.parametrize(("changes", "message"), [
    ({"model": {"ngff": 3}}, "unknown option 'ngff' (did you mean 'ngf'?)"),
    ({"modle": {}}, "unknown section 'modle' (did you mean 'model'?)"),
    ({"model": {"norm": "batchnorm"}}, "'batchnorm' is not one of batch, instance, none"),
    ({"optim": {"batch_size": "four"}}, "expected an integer, got 'four'"),
    ({"data": {"flip": "maybe"}}, "expected true or false"),
    ({"method": {"lambda_a": 1}}, "unknown option 'lambda_a'"),
])
def test_bad_values_name_the_option(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        apply_overrides(default_config("pix2pix"), changes, "my.yaml")


def test_optional_and_missing_task() -> None:
    config = apply_overrides(default_config("pix2pix"), {"run": {"max_steps": "none"}})
    assert config.run.max_steps is None
    with pytest.raises(ConfigError, match="missing 'task'"):
        config_from_dict({"model": {}})
    with pytest.raises(ConfigError, match="unknown task 'pix2pixx'"):
        config_from_dict({"task": "pix2pixx"})


def _numeric_options() -> list[tuple[str, str, Any, Any]]:
    """(task, flag, field, an invalid value) for every int/float option of every task."""
    found = []
    for task in TASKS.names():
        config = default_config(task)
        unused = task_class(task).unused_options
        for section in SECTIONS:
            obj = getattr(config, section)
            hints = typing.get_type_hints(type(obj))
            for f in dataclasses.fields(obj):
                kind = [a for a in typing.get_args(hints[f.name]) if a is not type(None)] or [hints[f.name]]
                if kind[0] not in (int, float) or f.metadata.get("choices") or f"{section}.{f.name}" in unused:
                    continue
                meta = f.metadata
                assert range_text(f), f"{section}.{f.name}: every numeric option declares its valid range"
                if meta["minimum"] is not None:
                    bad = meta["minimum"] - (1 if kind[0] is int else 0.5)
                elif meta["above"] is not None:
                    bad = meta["above"]
                elif meta["maximum"] is not None:
                    bad = meta["maximum"] + 1
                else:
                    bad = meta["below"]
                found.append((task, flag_of(f), f"{section}.{f.name}", bad))
    return found


NUMERIC_OPTIONS = _numeric_options()


@pytest.mark.parametrize(("task", "flag", "name", "bad"), NUMERIC_OPTIONS, ids=[f"{t}{f}" for t, f, _, _ in
                                                                               NUMERIC_OPTIONS])
def test_every_numeric_option_rejects_out_of_range_values(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         task: str, flag: str, name: str, bad: Any) -> None:
    """The CLI, a --config file and the Python API give the same one-line error, and nothing is written."""
    from i2i.cli.main import main

    small = {"--ngf": "4", "--ndf": "4", "--max-steps": "0", "--crop-size": "64", "--load-size": "64",
             "--num-workers": "0", "--val-images": "0", "--netG": {"pix2pix": "unet_64", "cyclegan": "resnet_1blocks"}}
    own = {o.flag for o in collect_options({task: default_config(task)}, {task: task_class(task).unused_options})}
    tiny = ["--data", str(SAMPLE), "--out", str(tmp_path / "runs")]
    for option, value in small.items():  # a small run in case the value were accepted, with the task's own flags
        value = value.get(task) if isinstance(value, dict) else value
        if option in own and value is not None and option != flag:
            tiny += [option, value]
    assert main(["train", task, *tiny, flag, str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {flag} {bad}") and "must be" in err and "\n" not in err, err
    assert not (tmp_path / "runs").exists()
    section, field = name.split(".")
    with pytest.raises(ConfigError) as from_file:
        apply_overrides(default_config(task), {section: {field: bad}}, "my.yaml")
    assert str(from_file.value) == err.removeprefix("error: ")


def test_ranges_hold_for_dataclasses_built_directly() -> None:
    config = default_config("pix2pix")
    with pytest.raises(ConfigError, match="--log-every 0: must be at least 1"):
        dataclasses.replace(config.run, log_every=0)
    with pytest.raises(ConfigError, match="--n-epochs 0 and --n-epochs-decay 0: at least one epoch"):
        apply_overrides(config, {"optim": {"n_epochs": 0, "n_epochs_decay": 0}})
    assert apply_overrides(config, {"run": {"max_steps": None}}).run.max_steps is None  # optional: None is fine


def test_help_shows_the_ranges() -> None:
    from i2i.cli.train import build_parser

    text = build_parser()[0].format_help()
    assert "Adam beta1; at least 0 and below 1" in " ".join(text.split())


def test_the_torch_floor_is_stated_once_and_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyproject.toml declares the floor i2i checks; an older torch gets a one-line error, not an AttributeError."""
    import re

    import torch

    from i2i.compat import MIN_TORCH, require_torch, version_tuple

    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    declared = re.search(r'"torch>=([\d.]+)"', pyproject)
    assert declared and version_tuple(declared.group(1)) == MIN_TORCH
    assert version_tuple(torch.__version__)[:2] >= MIN_TORCH
    monkeypatch.setattr(torch, "__version__", "2.5.1+cu124")
    with pytest.raises(ConfigError, match=r"torch 2\.5\.1\+cu124 is older than 2\.6.*pip install 'torch>=2\.6'"):
        require_torch()
    from i2i.training.trainer import train

    with pytest.raises(ConfigError, match=r"older than 2\.6"):
        train(default_config("pix2pix"))


def test_what_a_resume_may_change_is_declared_on_the_options() -> None:
    """``option(..., resumable=True)``: where the data is, how long to train and how the run executes; a
    method's own (where SR's fixed VGG is read from) is declared in its task file, not in the loop."""
    import dataclasses

    from i2i.config import SECTIONS, is_resumable
    from i2i.tasks import TASKS, default_config

    resumable = {f"{section}.{f.name}" for task in TASKS.names() for section in SECTIONS
                 for f in dataclasses.fields(getattr(default_config(task), section)) if is_resumable(f)}
    assert {"data.root", "data.num_workers", "optim.n_epochs", "run.max_steps", "run.device",
            "method.vgg_weights", "method.init_from"} <= resumable
    assert not resumable & {"data.crop_size", "model.net_g", "model.ngf", "optim.lr", "optim.batch_size",
                            "run.seed", "method.lambda_l1", "method.gan_mode"}
