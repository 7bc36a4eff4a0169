"""Inception features of images, in batches on the chosen device, and a cache of the reference sets' features.

Scoring many checkpoints against one test set should not run Inception on the test set every time: the features
of a reference set are stored in ``$I2I_HOME/cache/features/`` under a key made of the images' contents (the
SHA-256 of every file, and which half of a side-by-side file), how they were prepared, and the Inception
weights' checksum. Renaming or touching a file keeps the key; changing a pixel or the preprocessing makes a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..fileio import atomic_path, sha256_of
from ..hub.store import i2i_home
from ..images import to_channels
from .image_sets import ImageSet

_digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> SHA-256, so one process hashes a file once


def file_digest(path: Path) -> str:
    """SHA-256 of a file's contents, remembered while its size and modification time stay the same."""
    st = path.stat()
    stamp = (os.fspath(path.resolve()), st.st_size, st.st_mtime_ns)
    if stamp not in _digests:
        _digests[stamp] = sha256_of(path)
    return _digests[stamp]


class FeatureBatcher:
    """Collects images one at a time and runs Inception on batches of up to ``batch_size`` equal-size images.

    Images are (H, W, C) uint8; grey ones are shown to Inception as RGB and alpha is dropped.
    """

    def __init__(self, net: nn.Module, device: torch.device, batch_size: int) -> None:
        self.net, self.device, self.batch_size = net, device, batch_size
        self.pending: list[np.ndarray] = []
        self.chunks: list[np.ndarray] = []

    def add(self, image: np.ndarray) -> None:
        image = to_channels(image, 3)
        if self.pending and (self.pending[0].shape != image.shape or len(self.pending) >= self.batch_size):
            self._flush()
        self.pending.append(image)

    def _flush(self) -> None:
        if not self.pending:
            return
        batch = torch.from_numpy(np.stack(self.pending)).permute(0, 3, 1, 2).to(self.device)
        with torch.inference_mode():
            self.chunks.append(self.net(batch).float().cpu().numpy())
        self.pending = []

    def result(self) -> np.ndarray:
        """(N, D) float32 features of every image added, in order."""
        self._flush()
        dim = int(getattr(self.net, "num_features", 0) or 2048)
        return np.concatenate(self.chunks) if self.chunks else np.zeros((0, dim), np.float32)


class FeatureCache:
    """Reference-set features on disk, keyed by content (see the module's docstring); ``folder=None`` disables it."""

    def __init__(self, folder: Path | None = None, enabled: bool = True) -> None:
        self.folder = (folder or i2i_home() / "cache" / "features") if enabled else None

    def key(self, images: ImageSet, extractor: str) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps({"extractor": extractor, "recipe": images.recipe}, sort_keys=True).encode())
        for ref in images.refs:
            digest.update(f"\n{file_digest(ref.path)} {ref.half} {ref.channels}".encode())
        return digest.hexdigest()

    def load(self, key: str, count: int) -> np.ndarray | None:
        """The stored features of ``key`` if present and whole (one row per image), else None."""
        if self.folder is None:
            return None
        path = self.folder / f"{key}.npy"
        try:
            features = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        return features if features.ndim == 2 and len(features) == count else None

    def save(self, key: str, features: np.ndarray) -> None:
        """Store features atomically; a cache that cannot be written only costs time later, so errors are ignored."""
        if self.folder is None:
            return
        try:
            with atomic_path(self.folder / f"{key}.npy", suffix=".npy") as tmp:
                np.save(tmp, features.astype(np.float32))
        except OSError:
            pass
