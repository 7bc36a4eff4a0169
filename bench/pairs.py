"""Scoring an exported translator against true pairs, for the unpaired-method and distillation benchmarks.

The held-out pairs are datasets/gnome-day2night/val (day | night side by side). Each day half and its night half
are shrunk to the side the models were trained at (area filter, as training's resize does), the day half is
translated by ONNX Runtime exactly as `i2i translate` does (Translator, no tiling), and the output is compared with
the night half: PSNR and SSIM from i2i.metrics.paired, the functions `i2i eval` reports (kornia, RGB, data range 1,
11x11 Gaussian SSIM window), averaged over images. With Inception / LPIPS weight files (`--weights`, as `i2i eval`
takes them), the outputs and targets are also written as PNG folders and scored by `i2i eval`'s two-folder mode
(FID, KID, LPIPS, PSNR, SSIM), whose command is printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from i2i.images import list_images, read_image, write_image
from i2i.infer import OnnxModel, Translator
from i2i.metrics.paired import psnr, ssim

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "datasets" / "gnome-day2night" / "val"


@dataclass
class Pairs:
    """Held-out (input, target) images at one side, with their names."""

    names: list[str]
    inputs: list[np.ndarray]
    targets: list[np.ndarray]


@dataclass
class Scores:
    psnr: float
    ssim: float
    outputs: list[np.ndarray] = field(repr=False, default_factory=list)


def held_out_pairs(size: int, folder: Path = PAIRS) -> Pairs:
    names, inputs, targets = [], [], []
    for path in list_images(folder):
        image = read_image(path)
        half = image.shape[1] // 2
        names.append(path.stem)
        inputs.append(cv2.resize(image[:, :half], (size, size), interpolation=cv2.INTER_AREA))
        targets.append(cv2.resize(image[:, half:], (size, size), interpolation=cv2.INTER_AREA))
    return Pairs(names, inputs, targets)


def _tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255


def compare(outputs: list[np.ndarray], targets: list[np.ndarray]) -> Scores:
    """Mean PSNR (dB) and SSIM of uint8 images against their targets."""
    out, tgt = _tensor(outputs), _tensor(targets)
    return Scores(float(psnr(out, tgt).mean()), float(ssim(out, tgt).mean()), outputs)


def score_model(model: Path, pairs: Pairs, threads: int | None = None) -> Scores:
    """Translate the pairs' inputs with an exported model and compare the outputs with the targets."""
    translate = Translator(OnnxModel(model, device="cpu", threads=threads), tile=0)
    return compare([translate(image) for image in pairs.inputs], pairs.targets)


def write_pngs(folder: Path, names: list[str], images: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in zip(names, images, strict=True):
        write_image(folder / f"{name}.png", image)
    return folder


def eval_folders(outputs: Path, targets: Path, weights: list[str]) -> str:
    """`i2i eval OUTPUTS TARGETS --weights ...` in-process: its table (FID, KID, LPIPS, PSNR, SSIM)."""
    from i2i.evaluation.evaluate import EvalOptions, evaluate_folders

    options = EvalOptions(device="cpu", weights=tuple(weights), kid_subset_size=None)
    return evaluate_folders(outputs, targets, options, paired=True, say=lambda _: None).table()
