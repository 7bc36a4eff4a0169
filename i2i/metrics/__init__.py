"""Image-quality metrics as functions and modules: FID and KID distances, LPIPS, PSNR and SSIM (also on the Y
channel), the sample metrics of generators from noise, and ``Comparison``, what a method's generators are scored
on. Scoring a run, a model or folders (``i2i eval``) is ``i2i.evaluation``, above the tasks."""

from __future__ import annotations

from .comparison import Comparison
from .distances import KID, frechet_distance, kernel_distance
from .paired import LPIPS, psnr, ssim, validation_metrics
from .sr import PSNRY, SSIMY, psnr_y, ssim_y, to_y

__all__ = ["KID", "LPIPS", "PSNRY", "SSIMY", "Comparison", "frechet_distance", "kernel_distance", "psnr", "psnr_y",
           "ssim", "ssim_y", "to_y", "validation_metrics"]
