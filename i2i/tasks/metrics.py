"""Image-quality metrics for validation, on images in [-1, 1]."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..metrics.paired import psnr, ssim


def paired_metrics(output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """L1 (in [-1, 1] units, as the training loss), PSNR (dB) and SSIM (11x11 window) of output vs target.

    PSNR and SSIM are the means of per-image values (``i2i.metrics.paired``, through kornia), as ``i2i eval``
    reports them.
    """
    output, target = output.float(), target.float()
    out01, tgt01 = ((output + 1) / 2).clamp(0, 1), (target + 1) / 2
    return {"L1": F.l1_loss(output, target), "PSNR": psnr(out01, tgt01).mean(), "SSIM": ssim(out01, tgt01).mean()}
