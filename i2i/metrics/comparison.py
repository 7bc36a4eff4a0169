"""What a method's generators are scored on: the declaration a task makes and ``i2i eval`` carries out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Comparison:
    """What ``i2i eval`` scores for one generator: its outputs on the batch's ``source`` images against the
    batch's ``target`` images (the real images of the domain it translates into).

    ``paired``: output i and target i show the same scene, so PSNR, SSIM and LPIPS are measured besides FID and
    KID. ``extra_metrics``: further per-image paired metrics by name, each mapping (output, target) in [0, 1],
    (B, C, H, W), to (B,) values (a family's own, such as PSNR on the Y channel; the name's first word, 'PSNR'
    in 'PSNR_Y', is the ``--metrics`` entry that selects it). ``baselines``: other ways of making an output from
    the same input, (H, W, C) uint8 to uint8, scored the same way in rows of their own (bicubic upscaling, which
    super-resolution is reported against).
    """

    generator: str
    source: str
    target: str
    paired: bool
    extra_metrics: Mapping[str, Callable[[Any, Any], Any]] = field(default_factory=dict)
    baselines: Mapping[str, Callable[[np.ndarray], np.ndarray]] = field(default_factory=dict)
