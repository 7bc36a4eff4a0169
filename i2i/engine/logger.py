"""Run logs: one JSON line per record in metrics.jsonl, a console line, optionally TensorBoard."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..fileio import atomic_write_text


class RunLogger:
    """Appends ``{"kind", "step", "epoch", values...}`` records to ``run_dir/metrics.jsonl``."""

    def __init__(self, run_dir: Path, tensorboard: bool = False) -> None:
        self.path = run_dir / "metrics.jsonl"
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ConfigError("--tensorboard needs the tensorboard package: "
                                  "pip install 'i2i[tensorboard]'") from None
            self.writer = SummaryWriter(str(run_dir / "tensorboard"))
        self.file = self.path.open("a", encoding="utf-8")

    def truncate_after(self, step: int) -> str:
        """Drop records past ``step``: on resume they belong to the part of a run that was lost.

        A crash can cut the last line short; such lines are dropped too. Returns what was dropped for that
        reason ('' when nothing was).
        """
        self.file.close()
        kept, torn = [], 0
        for record in self._read():
            if record is None:
                torn += 1
            elif record["step"] <= step:
                kept.append(json.dumps(record))
        atomic_write_text(self.path, "".join(f"{line}\n" for line in kept))
        self.file = self.path.open("a", encoding="utf-8")
        return f"dropped {torn} cut-off or unreadable line(s) (a crash mid-write)" if torn else ""

    def metrics(self, kind: str) -> list[tuple[int, dict[str, float]]]:
        """(step, values) of every readable record of ``kind`` ('train' or 'val') in the file, in order."""
        return read_metrics(self.path, kind)

    def _read(self) -> list[dict[str, Any] | None]:
        return read_records(self.path)

    def log(self, kind: str, step: int, epoch: int, values: dict[str, float], **extra: Any) -> None:
        record = {"kind": kind, "step": step, "epoch": epoch, "time": round(time.time(), 3), **values, **extra}
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        self.file.close()
        if self.writer is not None:
            self.writer.close()


def read_records(path: Path) -> list[dict[str, Any] | None]:
    """The records of a metrics file; None for a line that is not a complete record (cut off by a crash)."""
    records: list[dict[str, Any] | None] = []
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            records.append(None)
            continue
        ok = isinstance(record, dict) and isinstance(record.get("step"), int) and "kind" in record
        records.append(record if ok else None)
    return records


def read_metrics(path: Path, kind: str) -> list[tuple[int, dict[str, float]]]:
    """(step, values) of the readable records of ``kind`` ('train' or 'val') in a metrics file, in order."""
    meta = {"kind", "step", "epoch", "time", "lr", "steps_per_s"}
    return [(r["step"], {k: v for k, v in r.items() if k not in meta})
            for r in read_records(path) if r is not None and r.get("kind") == kind]


def format_values(values: dict[str, float]) -> str:
    """'G_GAN 0.693  G_L1 12.4' with 3 significant digits."""
    return "  ".join(f"{k} {v:.3g}" for k, v in values.items())
