"""Translating images larger than memory allows, one overlapping tile at a time.

Tiles overlap by ``overlap`` pixels and are blended with linear ramps across each overlap, so seams do not
show. Results are accumulated one band of tile rows at a time: besides the input and output images, memory
holds about two bands (tile height x image width) of floats, whatever the image's height.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TileFn = Callable[[np.ndarray], np.ndarray]  # (h, w, C_in) float32 -> (h, w, C_out) float32


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering [0, length) with tiles of ``tile`` overlapping by at least ``overlap``."""
    if length <= tile:
        return [0]
    step = max(1, tile - overlap)
    starts = list(range(0, length - tile, step))
    return [*starts, length - tile]


def ramp(length: int, overlap: int, rise: bool, fall: bool) -> np.ndarray:
    """1-D blending weights: 1 inside; across an overlap with a neighbour, ~0 over its outer quarter (where the
    tile's edge, missing context, makes the output least reliable), rising linearly over the middle half."""
    weights = np.ones(length, np.float32)
    n = min(overlap, length // 2)
    if n:
        edge = np.clip((np.arange(n, dtype=np.float32) + 0.5 - n / 4) / (n / 2), 1e-3, 1.0)
        if rise:
            weights[:n] = edge
        if fall:
            weights[-n:] = edge[::-1]
    return weights


def translate_tiled(image: np.ndarray, run: TileFn, tile: int, overlap: int, out_channels: int) -> np.ndarray:
    """Apply ``run`` to overlapping tiles of ``image`` (H, W, C) and blend them into an (H, W, out) float32 image.

    ``tile`` should be a size ``run`` accepts (a multiple of the model's size multiple); edge tiles are
    shifted inwards so every tile has that size (or the image's, when it is smaller).
    """
    height, width = image.shape[:2]
    th, tw = min(tile, height), min(tile, width)
    ys, xs = tile_starts(height, th, overlap), tile_starts(width, tw, overlap)
    out = np.empty((height, width, out_channels), np.float32)
    carry = carry_weight = None  # accumulated rows shared with the next band
    for i, y in enumerate(ys):
        acc = np.zeros((th, width, out_channels), np.float32)
        weight = np.zeros((th, width, 1), np.float32)
        wy = ramp(th, overlap, rise=y > 0, fall=y + th < height)
        for x in xs:
            window = wy[:, None, None] * ramp(tw, overlap, rise=x > 0, fall=x + tw < width)[None, :, None]
            acc[:, x : x + tw] += run(image[y : y + th, x : x + tw]) * window
            weight[:, x : x + tw] += window
        if carry is not None:
            acc[: len(carry)] += carry
            weight[: len(carry)] += carry_weight
        done = ys[i + 1] - y if i + 1 < len(ys) else th  # rows no later band touches
        out[y : y + done] = acc[:done] / weight[:done]
        carry, carry_weight = acc[done:], weight[done:]
    return out
