"""What a report shows of a run folder: its config, metrics log, sample grids, evaluations and machine."""

from __future__ import annotations

import json
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..engine.logger import read_records
from ..errors import DataError
from ..fileio import atomic_write_text

META = {"kind", "step", "epoch", "time", "lr", "steps_per_s"}
SAMPLE = re.compile(r"step_(\d+)\.png")


@dataclass
class RunData:
    """One run folder, read: records by kind, sample grids by step, recorded evaluations, environment."""

    path: Path
    name: str
    config: dict[str, Any]
    records: dict[str, list[dict[str, Any]]]
    samples: list[tuple[int, Path]]
    evaluations: list[dict[str, Any]]
    environment: dict[str, Any] = field(default_factory=dict)

    def series(self, kind: str) -> dict[str, tuple[list[float], list[float]]]:
        """Metric name -> (steps, values) over the records of ``kind`` ('train', 'val', 'eval')."""
        out: dict[str, tuple[list[float], list[float]]] = {}
        for record in self.records.get(kind, []):
            for key, value in record.items():
                if key in META or not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                steps, values = out.setdefault(key, ([], []))
                steps.append(record["step"])
                values.append(float(value))
        return out

    def column(self, kind: str, key: str) -> tuple[list[float], list[float]]:
        """(steps, values) of one metadata column of ``kind`` records, such as 'lr' or 'steps_per_s'."""
        pairs = [(r["step"], float(r[key])) for r in self.records.get(kind, []) if isinstance(r.get(key), (int, float))]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def duration(self) -> dict[str, float]:
        """Wall-clock span of the log, and the time spent in training steps (logged steps / steps per second)."""
        times = [r["time"] for records in self.records.values() for r in records if isinstance(r.get("time"), float)]
        train = self.records.get("train", [])
        training, previous = 0.0, 0
        for record in train:
            rate = record.get("steps_per_s")
            if isinstance(rate, (int, float)) and rate > 0:
                training += max(record["step"] - previous, 0) / rate
            previous = record["step"]
        return {"span_s": (max(times) - min(times)) if times else 0.0, "training_s": training}


def read_run(path: str | Path) -> RunData:
    """Read a run folder; DataError when it is not one."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such run folder")
    config_file, metrics = folder / "config.yaml", folder / "metrics.jsonl"
    if not config_file.is_file() and not metrics.is_file():
        raise DataError(f"{folder}: not a run folder (no config.yaml or metrics.jsonl)")
    config: dict[str, Any] = {}
    if config_file.is_file():
        try:
            loaded = yaml.safe_load(config_file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise DataError(f"{config_file}: unreadable ({str(e).splitlines()[0]})") from None
        config = loaded if isinstance(loaded, dict) else {}
    records: dict[str, list[dict[str, Any]]] = {}
    for record in read_records(metrics):
        if record is not None:
            records.setdefault(str(record["kind"]), []).append(record)
    for kind in records:
        records[kind].sort(key=lambda r: r["step"])
    samples = sorted((int(m.group(1)), p) for p in (folder / "samples").glob("step_*.png")
                     if (m := SAMPLE.fullmatch(p.name)))
    evaluations = _read_json(folder / "eval.json").get("evaluations")  # written by i2i eval (evaluation/evaluate.py)
    evaluations = [e for e in evaluations if isinstance(e, dict)] if isinstance(evaluations, list) else []
    return RunData(folder, folder.resolve().name, config, records, samples, evaluations,
                   _read_json(folder / "environment.json"))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def environment(device: str | None = None) -> dict[str, Any]:
    """The machine and versions a run trained with (recorded by the trainer when it writes the report)."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    found: dict[str, Any] = {"recorded": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": platform.platform(),
                             "processor": platform.processor() or platform.machine(),
                             "python": platform.python_version(), "i2i": __version__}
    if device is not None:
        found["device"] = device
    for package in ("torch", "torchvision", "onnxruntime"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    try:
        import torch

        if torch.cuda.is_available():
            found["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return found


def record_environment(run_dir: Path, device: str | None) -> None:
    """Write ``environment.json`` into the run folder (the last training session's machine)."""
    atomic_write_text(run_dir / "environment.json", json.dumps(environment(device), indent=1) + "\n")


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'optim': {'lr': 2e-4}} -> {'optim.lr': 2e-4}."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
