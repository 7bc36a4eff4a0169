"""Latent walks, label names and image grids: plain NumPy, shared by the torch and ONNX Runtime paths."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, did_you_mean


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between rows of ``a`` and ``b`` (linear where they are parallel)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    cos = np.sum(a64 * b64, 1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1) + 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))[:, None]
    sin = np.sin(omega)
    straight = sin < 1e-6
    safe = np.where(straight, 1.0, sin)
    out = np.where(straight, (1 - t) * a64 + t * b64,
                   np.sin((1 - t) * omega) / safe * a64 + np.sin(t * omega) / safe * b64)
    return out.astype(np.float32)


def interpolate_latents(a: np.ndarray, b: np.ndarray, steps: int, how: str) -> np.ndarray:
    """(rows * steps, latent): for each row of ``a``/``b``, ``steps`` points from a to b (ends included)."""
    if steps < 2:
        raise ConfigError(f"--steps {steps}: a walk needs at least 2 points")
    ts = np.linspace(0.0, 1.0, steps)
    points = [slerp(a, b, t) if how == "slerp" else ((1 - t) * a + t * b).astype(np.float32) for t in ts]
    return np.stack(points, 1).reshape(-1, a.shape[1])


def parse_label(text: str, classes: list[str]) -> int:
    """A class index from its name (any case; spaces, '-' and '_' alike) or its number."""
    if not classes:
        raise ConfigError(f"--label {text}: this model is not conditional (it was trained without labels)")

    def key(name: str) -> str:
        return "".join(c for c in name.lower() if c.isalnum())

    keys = [key(c) for c in classes]
    if key(text) in keys:
        return keys.index(key(text))
    if text.isdigit() and int(text) < len(classes):
        return int(text)
    raise ConfigError(f"--label {text}: not a class of this model{did_you_mean(text, classes)} "
                      f"(classes: {', '.join(classes)})")


def grid(images: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """(N, H, W, C) uint8 images in a grid of ``columns`` columns on a white background."""
    n, h, w, c = images.shape
    rows = -(-n // columns)
    out = np.full((rows * h + (rows - 1) * gap, columns * w + (columns - 1) * gap, c), 255, np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        out[r * (h + gap) : r * (h + gap) + h, col * (w + gap) : col * (w + gap) + w] = image
    return out


def to_uint8(images: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """(N, C, H, W) floats in ``value_range`` -> (N, H, W, C) uint8 (grey kept as one channel)."""
    low, high = value_range
    scaled = (np.asarray(images, np.float32) - low) / (high - low) * 255.0 + 0.5
    return np.clip(scaled, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
