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

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step``: on resume they belong to the part of a run that was lost."""
        self.file.close()
        kept = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line)["step"] <= step]
        atomic_write_text(self.path, "".join(f"{line}\n" for line in kept))
        self.file = self.path.open("a", encoding="utf-8")

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


def format_values(values: dict[str, float]) -> str:
    """'G_GAN 0.693  G_L1 12.4' with 3 significant digits."""
    return "  ".join(f"{k} {v:.3g}" for k, v in values.items())
