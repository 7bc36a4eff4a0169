"""PSNR-Y and SSIM-Y against an independent NumPy / OpenCV computation (BasicSR's recipe written out)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from i2i.metrics import psnr_y, ssim_y

SR_SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "kde-photos-sr"


def y_channel(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of 0..255 RGB, on the 0..255 scale (16..235), as MATLAB's rgb2ycbcr."""
    r, g, b = (rgb[..., i].astype(np.float64) / 255 for i in range(3))
    return 16 + 65.481 * r + 128.553 * g + 24.966 * b


def reference_psnr(a: np.ndarray, b: np.ndarray, crop: int) -> float:
    ya, yb = y_channel(a)[crop:-crop, crop:-crop], y_channel(b)[crop:-crop, crop:-crop]
    return 10 * np.log10(255.0**2 / np.mean((ya - yb) ** 2))


def reference_ssim(a: np.ndarray, b: np.ndarray, crop: int) -> float:
    ya, yb = y_channel(a)[crop:-crop, crop:-crop], y_channel(b)[crop:-crop, crop:-crop]
    kernel = cv2.getGaussianKernel(11, 1.5)
    window = kernel @ kernel.T
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.filter2D(x, -1, window)[5:-5, 5:-5]  # valid region only

    mu_a, mu_b = blur(ya), blur(yb)
    var_a, var_b, cov = blur(ya * ya) - mu_a**2, blur(yb * yb) - mu_b**2, blur(ya * yb) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def as_batch(*images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255


def test_psnr_and_ssim_on_y_match_an_independent_computation() -> None:
    photo = cv2.cvtColor(cv2.imread(str(SR_SAMPLE / "val" / "Path_r0c0.jpg")), cv2.COLOR_BGR2RGB)
    blurred = cv2.GaussianBlur(photo, (5, 5), 1.2)
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 6, photo.shape), 0, 255).astype(np.uint8)
    got_psnr = psnr_y(as_batch(blurred, noisy), as_batch(photo, photo), crop_border=4)
    got_ssim = ssim_y(as_batch(blurred, noisy), as_batch(photo, photo), crop_border=4)
    for i, image in enumerate((blurred, noisy)):
        assert float(got_psnr[i]) == pytest.approx(reference_psnr(image, photo, 4), abs=1e-4)
        assert float(got_ssim[i]) == pytest.approx(reference_ssim(image, photo, 4), abs=1e-5)
    assert got_psnr[0] < got_psnr[1] and 0 < float(got_ssim.min()) < 1


def test_border_crop_grey_images_and_bad_shapes() -> None:
    a, b = torch.full((1, 1, 32, 32), 0.5), torch.full((1, 1, 32, 32), 0.5)
    b[..., :4, :] = 0.0  # differences only inside a 4-pixel border
    assert torch.isinf(psnr_y(a, b, crop_border=4)).all() and float(psnr_y(a, b, crop_border=0)) < 20
    assert float(ssim_y(a, a)) == pytest.approx(1.0)
    grey = torch.rand(1, 1, 24, 24)  # grey images are compared as they are (no luma offset)
    assert float(psnr_y(grey, (grey + 1 / 255).clamp(0, 1), quantize=False)) == pytest.approx(48.1, abs=0.2)
    with pytest.raises(ValueError, match=r"two \(B, C, H, W\) tensors of one shape"):
        psnr_y(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(ValueError, match="crop_border 4 leaves nothing of a 8x8 image"):
        psnr_y(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), crop_border=4)
    with pytest.raises(ValueError, match="SSIM needs at least 11x11 pixels"):
        ssim_y(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), crop_border=4)
