"""Typed configs: defaults per task, YAML-style overrides with clear errors, round trips."""

from __future__ import annotations

import pytest

from i2i.config import apply_overrides, to_dict
from i2i.errors import ConfigError
from i2i.tasks import config_from_dict, default_config


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
