"""Sample grids: one row per image, one titled column per visual (input, output, target, ...)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from ..images import write_image

HEADER = 18
MIN_COLUMN_WIDTH = 96


def to_uint8_images(images: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) in [-1, 1] -> (B, H, W, 3) uint8 (grey shown as RGB)."""
    images = images.detach().float().cpu().clamp(-1, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return ((images + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def make_grid(columns: dict[str, torch.Tensor]) -> np.ndarray:
    """Tile the visuals side by side under a title row, every row the task gave (its preview decides how many);
    images are scaled to the first column's size."""
    arrays = {title: to_uint8_images(images) for title, images in columns.items()}
    first = next(iter(arrays.values()))
    rows, h, w = first.shape[:3]
    zoom = -(-MIN_COLUMN_WIDTH // w)  # small images (28-64 px) are enlarged, pixels kept sharp, so titles fit
    if zoom > 1:
        arrays = {t: a.repeat(zoom, axis=1).repeat(zoom, axis=2) for t, a in arrays.items()}
        h, w = h * zoom, w * zoom
    grid = np.full((HEADER + rows * h, len(arrays) * w, 3), 255, np.uint8)
    for col, (title, images) in enumerate(arrays.items()):
        cv2.putText(grid, title, (col * w + 4, HEADER - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for row, image in enumerate(images):
            if image.shape[:2] != (h, w):
                image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
            grid[HEADER + row * h : HEADER + (row + 1) * h, col * w : (col + 1) * w] = image
    return grid


def save_grid(path: Path, columns: dict[str, torch.Tensor]) -> Path:
    """Write the grid of ``columns`` to ``path`` (PNG, atomically)."""
    write_image(path, make_grid(columns))
    return path
