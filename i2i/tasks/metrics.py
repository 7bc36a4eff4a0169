"""Image-quality metrics for validation, on images in [-1, 1]."""

from __future__ import annotations

import kornia
import torch
import torch.nn.functional as F


def paired_metrics(output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """L1 (in [-1, 1] units, as the training loss), PSNR (dB) and SSIM (11x11 window) of output vs target."""
    output, target = output.float(), target.float()
    out01, tgt01 = (output + 1) / 2, (target + 1) / 2
    return {
        "L1": F.l1_loss(output, target),
        "PSNR": kornia.metrics.psnr(out01.clamp(0, 1), tgt01, 1.0),
        "SSIM": kornia.metrics.ssim(out01.clamp(0, 1), tgt01, 11).mean(),
    }
