"""Metrics of output-target pairs, one value per image: PSNR and SSIM (kornia) and LPIPS (torchmetrics).

Images are (B, C, H, W) floats; PSNR and SSIM take them in [0, 1], LPIPS in [-1, 1]. Every function returns a
(B,) tensor, so a set of images is summarised by the mean of per-image values, as papers report them.
"""

from __future__ import annotations

import kornia
import torch
import torch.nn.functional as F
from torch import nn

SSIM_WINDOW = 11  # Gaussian window, sigma 1.5: Wang et al.'s SSIM


def _check(output: torch.Tensor, target: torch.Tensor) -> None:
    if output.ndim != 4 or output.shape != target.shape:
        raise ValueError(f"expected two (B, C, H, W) batches of one shape, got {tuple(output.shape)} and "
                         f"{tuple(target.shape)}")


def psnr(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of each image (data range 1); identical images give inf."""
    _check(output, target)
    return torch.stack([kornia.metrics.psnr(o.float(), t.float(), 1.0) for o, t in zip(output, target, strict=True)])


def ssim(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Structural similarity of each image (11x11 Gaussian window, data range 1), averaged over its pixels."""
    _check(output, target)
    return kornia.metrics.ssim(output.float(), target.float(), SSIM_WINDOW).flatten(1).mean(1)


def validation_metrics(output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """L1 (in [-1, 1] units, as the training loss), PSNR (dB) and SSIM of outputs in [-1, 1] against targets: a
    paired method's validation scores, the means of per-image values as ``i2i eval`` reports them."""
    output, target = output.float(), target.float()
    out01, tgt01 = ((output + 1) / 2).clamp(0, 1), (target + 1) / 2
    return {"L1": F.l1_loss(output, target), "PSNR": psnr(out01, tgt01).mean(), "SSIM": ssim(out01, tgt01).mean()}


class LPIPS(nn.Module):
    """Learned perceptual distance (LPIPS v0.1) of each image pair; lower is closer. See ``backbones``."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    @torch.no_grad()
    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(B,) distances of images in [-1, 1]; grey images are compared as RGB."""
        _check(output, target)
        if output.shape[1] == 1:
            output, target = output.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)
        return self.network(output.float(), target.float()).flatten()
