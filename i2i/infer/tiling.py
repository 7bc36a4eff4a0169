"""Translating images larger than memory allows, one overlapping tile at a time.

Tiles overlap by ``overlap`` pixels and are blended with linear ramps across each overlap, so seams do not
show. Results are accumulated one band of tile rows at a time: besides the input and output images, memory
holds about two bands (tile height x image width) of floats, whatever the image's height. For a model whose
output is ``scale`` times its input (super-resolution), tiles are cut from the input and placed and blended
in output coordinates, where the overlap is ``scale`` times wider.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ConfigError

TileFn = Callable[[np.ndarray], np.ndarray]  # (h, w, C_in) float32 -> (scale h, scale w, C_out) float32


def check_tiling(tile: int, overlap: int) -> None:
    """Raise ConfigError unless ``tile`` > 0 and 0 <= ``overlap`` <= tile / 2: a larger overlap moves each tile
    by a few pixels (or none at all), which means millions of model runs, or an endless loop, on a large image."""
    if tile < 1:
        raise ConfigError(f"tile {tile}: the tile side must be a positive number of pixels")
    if overlap < 0:
        raise ConfigError(f"overlap {overlap}: the overlap of tiles cannot be negative")
    if 2 * overlap > tile:
        raise ConfigError(f"overlap {overlap} with tile {tile}: the overlap can be at most half the tile "
                          f"({tile // 2} or less)")


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering [0, length) with tiles of ``tile`` overlapping by at least ``overlap``."""
    if length <= tile:  # one tile (translate_tiled makes tiles no larger than the image)
        return [0]
    check_tiling(tile, overlap)
    step = tile - overlap
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


def translate_tiled(image: np.ndarray, run: TileFn, tile: int, overlap: int, out_channels: int,
                    scale: int = 1) -> np.ndarray:
    """Apply ``run`` to overlapping tiles of ``image`` (H, W, C) and blend them into an (sH, sW, out) float32 image.

    ``tile`` and ``overlap`` are in input pixels; ``run`` returns each tile ``scale`` times larger. ``tile``
    should be a size ``run`` accepts (a multiple of the model's size multiple); edge tiles are shifted inwards
    so every tile has that size (or the image's, when it is smaller). Raises ConfigError for a tile or overlap
    that cannot work (see ``check_tiling``).
    """
    check_tiling(tile, overlap)
    height, width = image.shape[:2]
    th, tw = min(tile, height), min(tile, width)
    ys, xs = tile_starts(height, th, overlap), tile_starts(width, tw, overlap)
    s = scale
    out = np.empty((height * s, width * s, out_channels), np.float32)
    carry = carry_weight = None  # accumulated rows shared with the next band
    for i, y in enumerate(ys):
        acc = np.zeros((th * s, width * s, out_channels), np.float32)
        weight = np.zeros((th * s, width * s, 1), np.float32)
        wy = ramp(th * s, overlap * s, rise=y > 0, fall=y + th < height)
        for x in xs:
            wx = ramp(tw * s, overlap * s, rise=x > 0, fall=x + tw < width)
            window = wy[:, None, None] * wx[None, :, None]
            acc[:, x * s : (x + tw) * s] += run(image[y : y + th, x : x + tw]) * window
            weight[:, x * s : (x + tw) * s] += window
        if carry is not None:
            acc[: len(carry)] += carry
            weight[: len(carry)] += carry_weight
        done = (ys[i + 1] - y if i + 1 < len(ys) else th) * s  # output rows no later band touches
        out[y * s : y * s + done] = acc[:done] / weight[:done]
        carry, carry_weight = acc[done:], weight[done:]
    return out
