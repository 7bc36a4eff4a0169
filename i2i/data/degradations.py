"""How low-resolution inputs are made from high-resolution photos, for super-resolution training and validation.

``imresize`` is MATLAB's ``imresize(..., 'bicubic')``, the resize the SR literature (and BasicSR) uses to make
its LR images: the cubic kernel with a = -0.5, stretched by the scale factor when shrinking (antialiasing),
and mirror-symmetric padding at the borders. It differs from OpenCV's resizes: ``INTER_CUBIC`` uses a = -0.75
and no antialiasing (four taps whatever the factor, so it aliases when shrinking), ``INTER_AREA`` averages
boxes (at an integer factor, the mean of each ``scale x scale`` block: softer, no negative lobes). PyTorch's
and Pillow's antialiased bicubic agree with MATLAB inside the image but renormalise the kernel at the
borders instead of mirroring the image.

``RealDegradation`` is a Real-ESRGAN-style second-order degradation (blur, resize, noise, JPEG, twice) built
from albumentations transforms, for models meant for real photos rather than clean bicubic downscales.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import albumentations as A
import cv2
import numpy as np
import torch

Degradation = Literal["bicubic", "real"]


def cubic(x: np.ndarray) -> np.ndarray:
    """MATLAB's cubic convolution kernel (Keys, a = -0.5): 1 at 0, 0 at the integers, support [-2, 2]."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=64)
def resize_matrix(in_length: int, out_length: int) -> np.ndarray:
    """The (out_length, in_length) float64 matrix that resizes one axis as MATLAB's bicubic ``imresize`` does.

    Row ``i`` holds the weights of output pixel ``i``: the kernel centred on its position in input coordinates
    (pixel centres aligned), widened by 1/scale when shrinking, weights normalised to sum 1, and taps that fall
    outside the image folded back onto it symmetrically (``x[-1] = x[0]``, ``x[-2] = x[1]``, ...).
    """
    scale = out_length / in_length
    width = 4.0 / scale if scale < 1 else 4.0  # antialiasing: the kernel stretched over 1/scale input pixels
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # output pixel centres, in 1-based input coordinates
    left = np.floor(u - width / 2)
    taps = math.ceil(width) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based input pixels each output reads
    distance = u[:, None] - indices
    weights = scale * cubic(distance * scale) if scale < 1 else cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)
    zero_based = indices.astype(np.int64) - 1
    mirrored = np.where(zero_based < 0, -zero_based - 1, zero_based)  # symmetric padding, edge repeated
    mirrored = np.where(mirrored >= in_length, 2 * in_length - mirrored - 1, mirrored)
    matrix = np.zeros((out_length, in_length), np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out_length), taps), mirrored.ravel()), weights.ravel())
    return matrix


def imresize(image: np.ndarray, scale: float | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) image like MATLAB's bicubic ``imresize``: by ``scale`` or to ``size`` (w, h).

    uint8 in gives uint8 out (rounded and clipped, as MATLAB does); float in gives float32 out, unclipped.
    """
    height, width = image.shape[:2]
    if size is None:
        if scale is None:
            raise ValueError("imresize: give scale or size")
        size = (math.ceil(width * scale), math.ceil(height * scale))
    out_w, out_h = size
    rows, cols = resize_matrix(height, out_h), resize_matrix(width, out_w)
    x = image.astype(np.float64)
    if x.ndim == 2:
        y = rows @ x @ cols.T
    else:
        y = np.einsum("oh,hwc->owc", rows, x)
        y = np.einsum("pw,owc->opc", cols, y)
    if image.dtype == np.uint8:
        return np.clip(np.round(y), 0, 255).astype(np.uint8)
    return y.astype(np.float32)


def imresize_torch(images: torch.Tensor, scale: int) -> torch.Tensor:
    """``imresize`` of a (B, C, H, W) float batch by an integer factor (up, or down with 1/scale), on its device.

    The bicubic baseline of validation: the literature's upscaling of the LR input, next to which a model's
    PSNR is reported.
    """
    height, width = images.shape[-2:]
    rows = torch.from_numpy(resize_matrix(height, height * scale)).to(images.device, torch.float32)
    cols = torch.from_numpy(resize_matrix(width, width * scale)).to(images.device, torch.float32)
    return torch.einsum("oh,bchw,pw->bcop", rows, images.float(), cols)


def bicubic_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """``lr`` (H, W, C) uint8 enlarged ``scale`` times with MATLAB's bicubic: the baseline SR is reported against."""
    height, width = lr.shape[:2]
    return imresize(lr, size=(width * scale, height * scale)).reshape(height * scale, width * scale, -1)


def bicubic_downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """The literature's LR image: ``hr`` (H, W, C) uint8 shrunk by ``scale`` with MATLAB's bicubic, antialiased."""
    height, width = hr.shape[:2]
    return imresize(hr, size=(width // scale, height // scale)).reshape(height // scale, width // scale, -1)


class RealDegradation:
    """Real-ESRGAN's second-order degradation (Wang et al. 2021) of an HR patch into an LR one, seeded per sample.

    Each order: a blur (Gaussian, or generalized Gaussian with an anisotropic kernel: ``AdvancedBlur``), a random
    resize (up, down or kept; area, bilinear or bicubic), noise (Gaussian, sometimes the same in every channel)
    and JPEG compression. The second order is applied with probability 0.8, then the image is resized to the LR
    size and compressed once more. Ranges are Real-ESRGAN's defaults (its sinc filters are left out: ringing is
    represented by the JPEG stages).
    """

    def __init__(self, scale: int) -> None:
        self.scale = scale

        def order(blur_p: float, sigma: tuple[float, float], noise: tuple[float, float],
                  quality: tuple[int, int]) -> list[A.BasicTransform]:
            return [
                A.OneOf([A.GaussianBlur(blur_limit=(7, 21), sigma_limit=sigma, p=1.0),
                         A.AdvancedBlur(blur_limit=(7, 21), sigma_x_limit=sigma, sigma_y_limit=sigma,
                                        rotate_limit=(-90, 90), beta_limit=(0.5, 4.0), noise_limit=(1.0, 1.0),
                                        p=1.0)], p=blur_p),
                A.GaussNoise(std_range=(noise[0] / 255, noise[1] / 255), per_channel=True, p=0.5),
                A.GaussNoise(std_range=(noise[0] / 255, noise[1] / 255), per_channel=False, p=0.2),
                A.ImageCompression(quality_range=quality, p=1.0),
            ]

        self.first = A.Compose(order(1.0, (0.2, 3.0), (1.0, 30.0), (30, 95)))
        self.second = A.Compose(order(0.8, (0.2, 1.5), (1.0, 25.0), (30, 95)))
        self.final_jpeg = A.Compose([A.ImageCompression(quality_range=(30, 95), p=1.0)])
        self.interpolations = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)

    def _random_resize(self, image: np.ndarray, rng: np.random.Generator, up: tuple[float, float],
                       down: tuple[float, float]) -> np.ndarray:
        kind = rng.choice(3, p=(0.2, 0.7, 0.1))  # up, down, keep (Real-ESRGAN's resize_prob)
        factor = rng.uniform(1, up[1]) if kind == 0 else rng.uniform(down[0], 1) if kind == 1 else 1.0
        height, width = image.shape[:2]
        new = (max(1, round(width * factor)), max(1, round(height * factor)))
        return cv2.resize(image, new, interpolation=int(rng.choice(self.interpolations))).reshape(
            new[1], new[0], -1)

    def __call__(self, hr: np.ndarray, seed: int) -> np.ndarray:
        """(H, W, C) uint8 HR -> (H / scale, W / scale, C) uint8 LR, the same for the same ``seed``."""
        rng = np.random.default_rng(seed)
        height, width, channels = hr.shape
        self.first.set_random_seed(int(rng.integers(2**31)))
        x = _hwc(self.first(image=hr)["image"], channels)
        x = self._random_resize(x, rng, (1.0, 1.5), (0.15, 1.0))
        if rng.random() < 0.8:
            self.second.set_random_seed(int(rng.integers(2**31)))
            x = _hwc(self.second(image=x)["image"], channels)
            x = self._random_resize(x, rng, (1.0, 1.2), (0.3, 1.0))
        lr_size = (width // self.scale, height // self.scale)
        x = cv2.resize(x, lr_size, interpolation=int(rng.choice(self.interpolations))).reshape(
            lr_size[1], lr_size[0], -1)
        self.final_jpeg.set_random_seed(int(rng.integers(2**31)))
        return _hwc(self.final_jpeg(image=x)["image"], channels)


def _hwc(image: np.ndarray, channels: int) -> np.ndarray:
    return image.reshape(image.shape[0], image.shape[1], channels)
