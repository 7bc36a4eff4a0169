"""What the live window shows: frames fitted to the model, the views, and the on-screen figures."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

VIEWS = ("side", "output", "split")  # side by side, the translation only, a split with a movable divider
FITS = ("crop", "pad")
DISPLAY_HEIGHT = 480  # the composed picture's height before the window scales it


@dataclass(frozen=True)
class Fitted:
    """A frame made square for the model, and where the picture lies in it (padding excluded)."""

    image: np.ndarray  # (size, size, 3) uint8
    box: tuple[int, int, int, int]  # x, y, width, height of the picture in ``image``


def fit(frame: np.ndarray, size: int, mode: str) -> Fitted:
    """Centre-crop (``crop``) or letterbox (``pad``) ``frame`` to a ``size`` x ``size`` square."""
    height, width = frame.shape[:2]
    if mode == "crop":
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = frame[top:top + side, left:left + side]
        interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
        return Fitted(cv2.resize(square, (size, size), interpolation=interpolation), (0, 0, size, size))
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    picture = cv2.resize(frame, (new_w, new_h), interpolation=interpolation)
    canvas = np.zeros((size, size, 3), np.uint8)
    x, y = (size - new_w) // 2, (size - new_h) // 2
    canvas[y:y + new_h, x:x + new_w] = picture
    return Fitted(canvas, (x, y, new_w, new_h))


def _shown(image: np.ndarray, box: tuple[int, int, int, int], height: int, scale: int = 1) -> np.ndarray:
    """The picture inside ``box`` (given in model-input pixels; ``image`` is ``scale`` times larger) at ``height``.

    Enlarged with a bicubic filter, so next to a super-resolution model's output the input shows as bicubic
    upscaling, the baseline SR is compared with; shrunk with an area filter.
    """
    x, y, w, h = (v * scale for v in box)
    picture = image[y:y + h, x:x + w]
    width = max(1, round(w * height / h))
    interpolation = cv2.INTER_CUBIC if height > h else cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return cv2.resize(picture, (width, height), interpolation=interpolation)


def compose(fitted: Fitted, output: np.ndarray, view: str, split: float = 0.5,
            height: int = DISPLAY_HEIGHT) -> np.ndarray:
    """The picture for the window (RGB): input | output, output alone, or input left of ``split`` and output right.

    ``output`` may be larger than the input by an integer factor (a super-resolution model's): both are shown
    at ``height``, the input enlarged bicubically (bicubic | model).
    """
    translated = _shown(output, fitted.box, height, max(1, output.shape[0] // fitted.image.shape[0]))
    if view == "output":
        return translated
    original = _shown(fitted.image, fitted.box, height)
    if view == "side":
        return np.concatenate([original, translated], axis=1)
    cut = round(float(np.clip(split, 0.0, 1.0)) * translated.shape[1])
    picture = np.concatenate([original[:, :cut], translated[:, cut:]], axis=1)
    cv2.line(picture, (cut, 0), (cut, height - 1), (255, 255, 255), 2)
    return picture


def overlay(picture: np.ndarray, lines: list[str]) -> np.ndarray:
    """Draw ``lines`` in the top-left corner, white on a dark outline so they read on any picture."""
    scale = max(0.45, picture.shape[0] / 900)
    thickness = 1 if scale < 0.8 else 2
    y = int(22 * scale / 0.5)
    for line in lines:
        for colour, width in (((0, 0, 0), thickness + 3), ((255, 255, 255), thickness)):
            cv2.putText(picture, line, (10, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, width, cv2.LINE_AA)
        y += int(22 * scale / 0.5)
    return picture
