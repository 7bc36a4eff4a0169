"""Training methods, registered by name. Importing this package imports every module in it, which registers each
method (one file per method: adding a method is adding a file)."""

from __future__ import annotations

from typing import Any

from ..config import TrainConfig, apply_overrides
from ..errors import ConfigError
from ..registry import import_submodules
from .base import TASKS, Task

import_submodules(__name__, __path__)

__all__ = ["TASKS", "Task", "config_from_dict", "default_config", "importing_tasks", "task_class",
           "task_for_architecture"]


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


def importing_tasks() -> tuple[str, ...]:
    """The tasks whose published generators `i2i models import` converts."""
    return tuple(name for name in TASKS.names() if task_class(name).imports_architectures)


def task_for_architecture(architecture: str) -> str:
    """The task that trained published ``architecture`` weights (unet_256 -> pix2pix, rrdbnet -> esrgan, ...)."""
    for name in importing_tasks():
        if architecture.startswith(task_class(name).imports_architectures):
            return name
    raise ConfigError(f"--arch {architecture}: no task imports it (architectures: "
                      f"{', '.join(p for n in importing_tasks() for p in task_class(n).imports_architectures)}...)")
