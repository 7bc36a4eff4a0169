"""Pretrained weights i2i uses but does not ship (VGG19 for perceptual losses, Inception for FID, LPIPS, ...).

Each file is registered once with its publisher's address and checksum, and fetched on first use into
``$I2I_HOME/weights/`` by the same resumable, checked download as the model zoo; a mirror (``--mirror`` or
I2I_MODEL_MIRROR) serves them as ``<mirror>/weights/<file>``. A user who has the file already passes it
directly (``--vgg-weights FILE``, ``--weights FILE``), and nothing is downloaded.

A checksum may be a full SHA-256 or the prefix that publishers such as torchvision put in their file names
(``vgg19-dcbb9e9d.pth``: the file's SHA-256 starts with ``dcbb9e9d``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DownloadError, did_you_mean
from ..fileio import sha256_of
from .download import TIMEOUT, download
from .store import i2i_home

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class WeightsFile:
    """A published weights file: where it comes from, what its SHA-256 starts with, under which licence."""

    name: str
    file: str
    url: str
    sha256: str
    licence: str

    def source(self, mirror: str | None = None) -> str:
        """The address to fetch it from: ``mirror`` (or I2I_MODEL_MIRROR) if set, else the publisher's."""
        mirror = mirror or os.environ.get("I2I_MODEL_MIRROR")
        return f"{mirror.rstrip('/')}/weights/{self.file}" if mirror else self.url

    def matches(self, digest: str) -> bool:
        return bool(self.sha256) and digest.startswith(self.sha256.lower())


WEIGHTS: dict[str, WeightsFile] = {}


def register(entry: WeightsFile) -> WeightsFile:
    """Add a weights file to the catalogue (by the module that uses it); returns it."""
    if entry.name in WEIGHTS and WEIGHTS[entry.name] != entry:
        raise ValueError(f"weights '{entry.name}' are registered twice")
    if len(entry.sha256) < 8:
        raise ValueError(f"weights '{entry.name}': give at least 8 hex digits of the file's SHA-256")
    WEIGHTS[entry.name] = entry
    return entry


def weights_folder() -> Path:
    return i2i_home() / "weights"


def weights_path(name: str, given: str | os.PathLike[str] | None = None, mirror: str | None = None,
                 say: Callable[[str], None] = print, progress: Progress | None = None,
                 timeout: float = TIMEOUT) -> Path:
    """The local file of weights ``name``: ``given`` when set, else the cached copy, downloaded if missing.

    A given file is used as it is (a user may have converted or fine-tuned it); a downloaded one must match
    the registered checksum, or it is deleted and the error says so.
    """
    if given is not None:
        path = Path(given).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: no such weights file")
        return path
    entry = WEIGHTS.get(name)
    if entry is None:
        raise ConfigError(f"no weights called '{name}'{did_you_mean(name, WEIGHTS)}")
    path = weights_folder() / entry.file
    if path.is_file():
        return path
    url = entry.source(mirror)
    say(f"downloading the {name} weights ({entry.file}, {entry.licence}) from {url} into {path.parent}")
    digest = download(url, path, progress=progress, say=say, timeout=timeout)
    if not entry.matches(digest):
        path.unlink(missing_ok=True)
        raise DownloadError(f"{url}: checksum mismatch for {entry.file} (expected {entry.sha256[:12]}..., got "
                            f"{digest[:12]}...); the file was deleted")
    return path


def verify(name: str, path: Path) -> bool:
    """Whether ``path`` holds exactly the registered file ``name`` (by checksum)."""
    return WEIGHTS[name].matches(sha256_of(path))
