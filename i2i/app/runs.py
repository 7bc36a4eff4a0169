"""The Runs page's data: the run folders directly under ``--runs``, their latest sample grid and their reports.

A run is reached only by its name, checked against the folder's own listing; a run folder, or any file a
report reads, that resolves outside the runs folder (a symlink out of it) is treated as absent. Reports are
made fresh by i2i.report, as `i2i report` would write them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import I2IError
from ..hub.store import NAME
from ..report.runs import SAMPLE

MAX_COMPARED = 8
RUN_FILES = ("config.yaml", "metrics.jsonl", "eval.json", "environment.json")


class NotFound(I2IError):
    """A name that is not a run (or a file) the app serves."""


class RunsFolder:
    """The runs under ``root`` (which may not exist yet: then there are none)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _inside(self, path: Path) -> bool:
        try:
            return path.resolve().is_relative_to(self.root.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            return False

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if NAME.match(p.name) and self._is_run(p))

    def _is_run(self, folder: Path) -> bool:
        return (folder.is_dir() and self._inside(folder)
                and any((folder / f).is_file() for f in ("config.yaml", "metrics.jsonl")))

    def folder(self, name: str) -> Path:
        """The run folder ``name``; NotFound unless it is one of ``names()``."""
        folder = self.root / name
        if not NAME.match(name) or not self._is_run(folder):
            raise NotFound(f"no run '{name}' in {self.root}")
        return folder

    def latest_sample(self, name: str) -> Path:
        """The newest sample grid of run ``name``."""
        folder = self.folder(name)
        grids = self._samples(folder)
        if not grids:
            raise NotFound(f"run '{name}' has no sample grid yet")
        return grids[-1][1]

    def _samples(self, folder: Path) -> list[tuple[int, Path]]:
        found = []
        for path in (folder / "samples").glob("step_*.png"):
            match = SAMPLE.fullmatch(path.name)
            if match and path.is_file() and self._inside(path):
                found.append((int(match.group(1)), path))
        return sorted(found)

    def summary(self) -> list[dict[str, Any]]:
        """For the page: each run's name, task, latest sample step and modification time."""
        import yaml

        out = []
        for name in self.names():
            folder = self.root / name
            task = ""
            try:
                config = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
                task = str(config.get("task", "")) if isinstance(config, dict) else ""
            except (OSError, ValueError, yaml.YAMLError):
                pass
            samples = self._samples(folder)
            out.append({"name": name, "task": task, "step": samples[-1][0] if samples else None,
                        "sample": f"/runs/{name}/sample.png" if samples else None,
                        "report": f"/runs/{name}/report.html", "modified": folder.stat().st_mtime})
        return out

    def report(self, names: list[str]) -> str:
        """The report page of one run, or the comparison of several (as `i2i report` makes them)."""
        from ..report.html import several, single
        from ..report.runs import read_run

        if not names or len(names) > MAX_COMPARED:
            raise NotFound(f"compare 1 to {MAX_COMPARED} runs")
        runs = []
        for name in dict.fromkeys(names):
            folder = self.folder(name)
            outside = [f for f in RUN_FILES if (folder / f).exists() and not self._inside(folder / f)]
            if outside:
                raise NotFound(f"run '{name}': {outside[0]} lies outside {self.root}")
            run = read_run(folder)
            run.samples = [(step, path) for step, path in run.samples if self._inside(path)]
            runs.append(run)
        return single(runs[0]) if len(runs) == 1 else several(runs)


def safe_file_name(text: str, fallback: str = "image") -> str:
    """A name for a download (Content-Disposition): the last path part, with only harmless characters."""
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", text.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name[:120] or fallback
