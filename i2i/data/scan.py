"""Checking every image before training starts, so a bad file stops the run at once with its name.

Each file is decoded once (in threads; OpenCV releases the GIL) and its size recorded. Results are cached
by path, size and modification time, so resuming a run does not decode the dataset again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..fileio import atomic_write_text
from ..images import read_image


@dataclass(frozen=True)
class ImageInfo:
    """Size of a readable image, or the problem that makes it unusable."""

    height: int = 0
    width: int = 0
    problem: str | None = None


class ScanCache:
    """Image sizes keyed by path, valid while the file's size and modification time are unchanged."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.entries: dict[str, list] = {}
        if file is not None and file.is_file():
            try:
                self.entries = json.loads(file.read_text())
            except (OSError, ValueError):
                self.entries = {}

    @staticmethod
    def _stamp(path: Path) -> list[int]:
        st = path.stat()
        return [st.st_size, st.st_mtime_ns]

    def get(self, path: Path) -> ImageInfo | None:
        entry = self.entries.get(str(path))
        try:
            if entry is not None and entry[:2] == self._stamp(path):
                return ImageInfo(entry[2], entry[3])
        except OSError:
            return None
        return None

    def put(self, path: Path, info: ImageInfo) -> None:
        if info.problem is None:
            self.entries[str(path)] = [*self._stamp(path), info.height, info.width]

    def save(self) -> None:
        if self.file is not None:
            atomic_write_text(self.file, json.dumps(self.entries))


def _inspect(path: Path) -> ImageInfo:
    try:
        image = read_image(path)
    except DataError as e:
        return ImageInfo(problem=str(e))
    return ImageInfo(image.shape[0], image.shape[1])


def scan_images(paths: Iterable[Path], cache: ScanCache | None = None, workers: int | None = None,
                ) -> dict[Path, ImageInfo]:
    """Decode every image not in ``cache`` and return the size (or problem) of each."""
    paths = list(dict.fromkeys(paths))
    cache = cache or ScanCache(None)
    known = {p: cache.get(p) for p in paths}
    todo = [p for p, info in known.items() if info is None]
    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        for path, info in zip(todo, pool.map(_inspect, todo), strict=True):
            known[path] = info
            cache.put(path, info)
    cache.save()
    return {p: info for p, info in known.items() if info is not None}


def raise_problems(problems: list[str], report: Path | None = None) -> None:
    """Raise one DataError for all problems: the first one, their count, and where the full list is."""
    if not problems:
        return
    where = ""
    if report is not None and len(problems) > 1:
        atomic_write_text(report, "\n".join(problems) + "\n")
        where = f"; all listed in {report}"
    count = f" ({len(problems)} problems in the data{where})" if len(problems) > 1 else ""
    raise DataError(problems[0] + count)
