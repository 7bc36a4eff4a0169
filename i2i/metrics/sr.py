"""PSNR and SSIM on the Y channel, with a border crop: how the super-resolution literature reports quality.

Conventions of BasicSR (and of the MATLAB code behind the published tables): images in [0, 1] are compared
on 8-bit levels, colour images on their luma Y = 16 + 65.481 R + 128.553 G + 24.966 B (ITU-R BT.601, Y in
[16, 235]), with ``crop_border`` pixels (usually the scale) removed from every side; SSIM uses an 11x11
Gaussian window (sigma 1.5) without padding. Grey images are compared as they are.

Each metric is a pure function on (B, C, H, W) tensors returning one value per image, plus a thin module.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Y_WEIGHTS = (65.481, 128.553, 24.966)


def _check(a: torch.Tensor, b: torch.Tensor, crop_border: int) -> None:
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[1] not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels, got {a.shape[1]}")
    if crop_border < 0 or 2 * crop_border >= min(a.shape[-2:]):
        raise ValueError(f"crop_border {crop_border} leaves nothing of a {a.shape[-2]}x{a.shape[-1]} image")


def to_y(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) BT.601 luma on the 0..255 scale; grey images scaled to 0..255."""
    if images.shape[1] == 1:
        return images * 255.0
    weights = torch.tensor(Y_WEIGHTS, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * weights).sum(dim=1, keepdim=True) + 16.0


def _prepare(a: torch.Tensor, b: torch.Tensor, crop_border: int, quantize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    _check(a, b, crop_border)
    a, b = a.double(), b.double()
    if quantize:  # as if both were saved as 8-bit images
        a, b = (a.clamp(0, 1) * 255).round() / 255, (b.clamp(0, 1) * 255).round() / 255
    a, b = to_y(a), to_y(b)
    if crop_border:
        a = a[..., crop_border:-crop_border, crop_border:-crop_border]
        b = b[..., crop_border:-crop_border, crop_border:-crop_border]
    return a, b


def psnr_y(output: torch.Tensor, target: torch.Tensor, crop_border: int = 0, quantize: bool = True) -> torch.Tensor:
    """PSNR (dB) of the Y channels of two (B, C, H, W) batches in [0, 1], ``crop_border`` pixels cropped: shape (B,).

    Identical images give ``inf``. With ``quantize`` both are rounded to 8-bit levels first (as saved images are).

    >>> x = torch.full((1, 3, 8, 8), 0.25)
    >>> round(float(psnr_y(x, x + 1 / 255, crop_border=1)), 2)  # one level up in R, G, B moves Y by 219/255
    49.45
    """
    a, b = _prepare(output, target, crop_border, quantize)
    mse = (a - b).square().flatten(1).mean(dim=1)
    return (10 * torch.log10(255.0**2 / mse)).float()


def _gaussian_window(device: torch.device) -> torch.Tensor:
    coords = torch.arange(11, dtype=torch.float64, device=device) - 5
    g = torch.exp(-coords.square() / (2 * 1.5**2))
    g /= g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, 11, 11)


def ssim_y(output: torch.Tensor, target: torch.Tensor, crop_border: int = 0, quantize: bool = True) -> torch.Tensor:
    """SSIM of the Y channels (Wang et al. 2004; 11x11 Gaussian window, sigma 1.5, no padding): shape (B,).

    The image left after the border crop must be at least 11x11.
    """
    a, b = _prepare(output, target, crop_border, quantize)
    if min(a.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs at least 11x11 pixels after the border crop, got {a.shape[-2]}x{a.shape[-1]}")
    window = _gaussian_window(a.device)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = F.conv2d(a, window), F.conv2d(b, window)
    var_a = F.conv2d(a * a, window) - mu_a.square()
    var_b = F.conv2d(b * b, window) - mu_b.square()
    cov = F.conv2d(a * b, window) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a.square() + mu_b.square() + c1) * (var_a + var_b + c2))
    return ssim_map.flatten(1).mean(dim=1).float()


class PSNRY(nn.Module):
    """``psnr_y`` as a module: ``PSNRY(crop_border=4)(output, target)`` -> (B,) dB."""

    def __init__(self, crop_border: int = 0, quantize: bool = True) -> None:
        super().__init__()
        self.crop_border, self.quantize = crop_border, quantize

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return psnr_y(output, target, self.crop_border, self.quantize)


class SSIMY(nn.Module):
    """``ssim_y`` as a module: ``SSIMY(crop_border=4)(output, target)`` -> (B,)."""

    def __init__(self, crop_border: int = 0, quantize: bool = True) -> None:
        super().__init__()
        self.crop_border, self.quantize = crop_border, quantize

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ssim_y(output, target, self.crop_border, self.quantize)
