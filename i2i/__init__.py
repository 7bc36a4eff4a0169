"""i2i: image-to-image translation with GANs.

The public API, imported lazily so ``import i2i`` stays light (torch loads on first use)::

    import i2i
    config = i2i.default_config("pix2pix")                      # the paper recipe, a frozen dataclass
    config = i2i.apply_overrides(config, {"data": {"root": "datasets/gnome-day2night"}})
    result = i2i.train(config)                                 # -> TrainResult (run folder, checkpoint)
    i2i.resume(result.run_dir, {"run": {"max_steps": 1000}})   # continue it
    G = i2i.load_checkpoint(result.checkpoint).build("G")      # the generator, weights loaded
    net = i2i.create_model("unet_256", norm="batch")           # any registered network
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "train": "i2i.training",
    "resume": "i2i.training",
    "TrainResult": "i2i.training",
    "load_checkpoint": "i2i.engine.checkpoint",
    "save_checkpoint": "i2i.engine.checkpoint",
    "create_model": "i2i.models",
    "list_models": "i2i.models",
    "NetworkSpec": "i2i.models",
    "default_config": "i2i.tasks",
    "config_from_dict": "i2i.tasks",
    "TrainConfig": "i2i.config",
    "apply_overrides": "i2i.config",
    "to_dict": "i2i.config",
    "I2IError": "i2i.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'i2i' has no attribute '{name}'")
