"""Image-quality metrics: FID and KID (Inception features), LPIPS, PSNR and SSIM, and ``i2i eval``.

The evaluation entry points are imported on first use: tasks import the metric functions from here, and
``evaluate`` imports the tasks.
"""

from __future__ import annotations

import importlib
from typing import Any

from .distances import KID, frechet_distance, kernel_distance
from .paired import LPIPS, psnr, ssim
from .sr import PSNRY, SSIMY, psnr_y, ssim_y, to_y

_LAZY = {name: "i2i.metrics.evaluate" for name in
         ("EvalOptions", "Evaluation", "Score", "evaluate_folders", "evaluate_model", "evaluate_run")}

__all__ = ["KID", "LPIPS", "frechet_distance", "kernel_distance", "psnr", "ssim", *_LAZY,
           "PSNRY", "SSIMY", "psnr_y", "ssim_y", "to_y"]  # super-resolution: on the Y channel (metrics/sr.py)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'i2i.metrics' has no attribute '{name}'")
