"""Run reports: one self-contained HTML page per run (written when training ends), or several runs compared.

``write_run_report(run_dir)`` writes ``run_dir/report.html``; ``write_report([a, b, c], "compare.html")`` puts
runs side by side. Neither imports torch: a report can be made wherever the run folders are.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..fileio import atomic_write_text
from .html import several, single
from .runs import RunData, read_run, record_environment

__all__ = ["RunData", "read_run", "write_report", "write_run_report"]


def write_run_report(run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
                     device: str | None = None) -> Path:
    """Write the report of one run (default ``run_dir/report.html``); ``device``: called by training, which also
    records its machine and versions in ``environment.json``."""
    folder = Path(run_dir)
    if device is not None:
        record_environment(folder, device)
    path = Path(out) if out is not None else folder / "report.html"
    atomic_write_text(path, single(read_run(folder)))
    return path


def write_report(run_dirs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str] | None = None) -> Path:
    """One run: its report (default ``RUN/report.html``); several: a comparison, written to ``out``."""
    if not run_dirs:
        raise ConfigError("give at least one run folder")
    if len(run_dirs) == 1:
        return write_run_report(run_dirs[0], out)
    if out is None:
        raise ConfigError("comparing several runs: say where the page goes with -o FILE.html")
    runs = [read_run(d) for d in run_dirs]
    names = [r.name for r in runs]
    for r in runs:  # two folders of one name (runs/a/x and runs/b/x): tell them apart by their parent
        if names.count(r.name) > 1:
            r.name = f"{r.path.resolve().parent.name}/{r.name}"
    path = Path(out)
    atomic_write_text(path, several(runs))
    return path
