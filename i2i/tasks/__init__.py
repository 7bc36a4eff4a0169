"""Training methods, registered by name. Importing this package registers pix2pix and CycleGAN."""

from __future__ import annotations

from typing import Any

from ..config import TrainConfig, apply_overrides
from ..errors import ConfigError
from . import cyclegan, pix2pix  # noqa: F401  (registers the tasks)
from .base import TASKS, Task

__all__ = ["TASKS", "Task", "config_from_dict", "default_config", "task_class"]


def task_class(name: str) -> type[Task]:
    """The Task subclass registered as ``name``."""
    return TASKS.entry(name).builder  # type: ignore[return-value]


def default_config(name: str) -> TrainConfig:
    """The paper recipe of task ``name``."""
    return task_class(name).default_config()


def config_from_dict(data: dict[str, Any], where: str = "config") -> TrainConfig:
    """A TrainConfig from a nested dict (a YAML file, a checkpoint): the task's defaults, then ``data``."""
    if not isinstance(data, dict) or "task" not in data:
        raise ConfigError(f"{where}: missing 'task' (pix2pix, cyclegan, ...)")
    return apply_overrides(default_config(str(data["task"])), data, where)
