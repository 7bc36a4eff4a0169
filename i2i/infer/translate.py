"""Translating one image of any size with an exported generator.

The image keeps its size (times the model's scale, for super-resolution), orientation and alpha: a grey image
feeds a colour model as three equal channels (an upscaler gives it back grey), an alpha channel is set aside
and put back (upscaled alongside, bicubic), and the picture is padded (by reflection) to the model's size
multiple and cropped back afterwards, or split into blended tiles when it is large.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ConfigError, DataError
from ..images import resize_image, round_up
from .model import OnnxModel, from_model_range, to_model_range
from .tiling import check_tiling, translate_tiled

AUTO_TILE_ABOVE = 2048  # images with a longer side than this are tiled by default, to bound memory
AUTO_TILE = 1024


def side_scaled(width: int, height: int, side: int) -> tuple[int, int]:
    """(width, height) scaled so that the shorter side is ``side`` (``--size``), at least 1 pixel each."""
    scale = side / min(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


class Translator:
    """``translator(image)`` -> translated image, both (H, W, C) uint8; the output is ``scale`` times larger.

    Args:
        model: the exported generator.
        size: scale the image so its shorter side is ``size`` for the model (the result is scaled back);
            None runs it at its own resolution.
        tile: tile side for large images, in input pixels (rounded up to the model's size multiple); 0 never
            tiles; None tiles images whose longer side exceeds 2048 pixels with 1024-pixel tiles (for a model
            that upscales by ``scale``: above 2048 / scale, with tiles of 1024 / scale).
        overlap: input pixels shared by neighbouring tiles, blended linearly (over ``scale`` times as many
            output pixels); at most half the tile.

    Raises ConfigError (naming the option) for a size, tile or overlap that cannot work.
    """

    def __init__(self, model: OnnxModel, size: int | None = None, tile: int | None = None, overlap: int = 64) -> None:
        self.model, self.size, self.tile, self.overlap = model, size, tile, overlap
        self.multiple, self.scale = model.info.size_multiple, model.info.scale
        if size is not None and size < 1:
            raise ConfigError(f"--size {size}: give a positive number of pixels")
        if tile is not None and tile < 0:
            raise ConfigError(f"--tile {tile}: give a positive tile side in pixels (or 0 to never tile)")
        if overlap < 0:
            raise ConfigError(f"--overlap {overlap}: the overlap of tiles cannot be negative")
        if tile != 0:
            used = round_up(max(1, AUTO_TILE // self.scale) if tile is None else tile, self.multiple)
            if 2 * overlap > used:
                given = "the default tile of" if tile is None else f"--tile {tile}, so tiles of"
                raise ConfigError(f"--overlap {overlap}: at most half the tile side ({given} {used} pixels for "
                                  f"this model: --overlap {used // 2} or less, or a larger --tile)")
            check_tiling(used, overlap)

    def __call__(self, image: np.ndarray, name: str = "image") -> np.ndarray:
        info = self.model.info
        height, width, channels = image.shape
        alpha = image[:, :, 3:] if channels in (2, 4) else None
        colour = image[:, :, : channels - (alpha is not None)]
        if colour.shape[2] == 3 and info.in_channels == 1:
            raise DataError(f"{name}: a colour image, but model {self.model.name} takes 1-channel (grey) input; "
                            "convert the image to grey first")
        grey = colour.shape[2] == 1
        if grey and info.in_channels == 3:
            colour = np.repeat(colour, 3, axis=2)
        work = colour
        if self.size:
            work = resize_image(colour, *side_scaled(width, height, self.size))
        x = to_model_range(work, info.range)
        tile = self._tile_for(max(x.shape[:2]))
        if tile:
            stats = self._whole_image_statistics(x)
            y = translate_tiled(x, lambda part: self._run_padded(part, stats), tile, self.overlap, info.out_channels,
                                self.scale)
        else:
            y = self._run_padded(x)
        out = from_model_range(y, info.range)
        s = self.scale
        if out.shape[:2] != (height * s, width * s):
            out = resize_image(out, width * s, height * s)
        if s > 1 and grey and out.shape[2] == 3:  # an upscaler keeps a grey picture grey
            out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[:, :, None]
        if alpha is not None:
            out = np.concatenate([out, resize_image(alpha, width * s, height * s)], axis=2)
        return out

    def _tile_for(self, longest: int) -> int:
        """The tile side for an input whose longer side is ``longest`` (0: whole). Automatic tiles bound the
        *output* (an x4 upscaler gets 256-pixel tiles above 512 input pixels), since memory follows it."""
        if self.tile == 0:
            return 0
        if self.tile is None:
            auto = round_up(max(1, AUTO_TILE // self.scale), self.multiple)
            return auto if longest > AUTO_TILE_ABOVE // self.scale else 0
        tile = round_up(self.tile, self.multiple)
        return tile if longest > tile else 0

    def _whole_image_statistics(self, x: np.ndarray) -> list[np.ndarray] | None:
        """Per-image norm statistics of the whole image (scaled down to at most 1024 pixels), for its tiles."""
        if not self.model.norm_inputs:
            return None
        h, w = x.shape[:2]
        scale = min(1.0, AUTO_TILE / max(h, w))
        small = resize_image(x, max(1, round(w * scale)), max(1, round(h * scale))) if scale < 1 else x
        return self.model.statistics(self._padded(small)[None])

    def _padded(self, x: np.ndarray) -> np.ndarray:
        """(h, w, C) -> (C, H, W), reflect-padded at the bottom and right up to the model's size multiple."""
        h, w = x.shape[:2]
        ph, pw = round_up(h, self.multiple) - h, round_up(w, self.multiple) - w
        if ph or pw:
            x = cv2.copyMakeBorder(x, 0, ph, 0, pw, cv2.BORDER_REFLECT_101).reshape(h + ph, w + pw, -1)
        return x.transpose(2, 0, 1)

    def _run_padded(self, x: np.ndarray, stats: list[np.ndarray] | None = None) -> np.ndarray:
        """Run the model on (h, w, C) float32 padded to its size multiple, and crop the result back."""
        h, w = x.shape[:2]
        y = self.model(self._padded(x)[None], stats)[0]
        return y[:, : h * self.scale, : w * self.scale].transpose(1, 2, 0)
