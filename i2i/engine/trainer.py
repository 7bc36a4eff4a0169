"""The training loop, the same for every method: a task supplies the networks, losses and step order.

``train(config)`` starts a run in ``<out>/<name>``; ``resume(run_dir)`` continues one from its latest
checkpoint and, on CPU with the same settings, takes exactly the steps the uninterrupted run would have.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm import tqdm

from ..config import SECTIONS, TrainConfig, apply_overrides, to_dict
from ..data import EpochSampler
from ..errors import CheckpointError, ConfigError
from ..fileio import atomic_write_text
from ..tasks import Task, config_from_dict, task_class
from .checkpoint import Checkpoint, Progress, latest_checkpoint, load_checkpoint, save_checkpoint
from .logger import RunLogger, format_values
from .precision import Precision
from .rng import rng_state, seed_everything, set_rng_state
from .samples import save_grid
from .schedules import set_learning_rate

# Options a resume may change: where the data now is, how long to train, and how to execute.
RESUMABLE = {
    "data": {"root", "num_workers"},
    "optim": {"n_epochs", "n_epochs_decay"},
    "run": {"device", "precision", "channels_last", "compile", "deterministic", "max_steps", "save_every_epochs",
            "save_latest_every_steps", "log_every", "sample_every", "tensorboard"},
}


@dataclass
class TrainResult:
    """What a run produced and how far it got."""

    run_dir: Path
    checkpoint: Path
    progress: Progress
    finished: bool = False
    interrupted: bool = False
    validation: list[dict[str, float]] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU; anything else must exist here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device {name}: not a device (cpu, cuda, cuda:N, auto)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA device is available here")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices")
    return device


def run_dir_for(config: TrainConfig) -> Path:
    """``<out>/<name>``, the name defaulting to the data folder's."""
    name = config.run.name or Path(config.data.root).resolve().name or config.task
    return Path(config.run.out) / name


def train(config: TrainConfig, progress_bar: bool | None = None) -> TrainResult:
    """Start a new training run; refuses to overwrite a run that already has a checkpoint."""
    run_dir = run_dir_for(config)
    if latest_checkpoint(run_dir).exists():
        raise ConfigError(f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
                          "or choose another --name")
    config = dataclasses.replace(config, run=dataclasses.replace(config.run, name=run_dir.name))
    return Trainer(config, run_dir, None, progress_bar).run()


def resume(run_dir: str | Path, changes: dict[str, dict[str, Any]] | None = None,
           progress_bar: bool | None = None) -> TrainResult:
    """Continue the run in ``run_dir`` from its latest checkpoint, with the allowed ``changes`` applied."""
    path = Path(run_dir)
    if path.is_file():  # a checkpoint file inside <run>/checkpoints/
        run_dir = path.parent.parent
    else:
        run_dir, path = path, latest_checkpoint(path)
        if not path.is_file():
            raise CheckpointError(f"{run_dir}: no checkpoint to resume from (expected {path})")
    checkpoint = load_checkpoint(path)
    if checkpoint.state is None:
        raise CheckpointError(f"{path}: holds weights only; resume from {latest_checkpoint(run_dir)}")
    saved = config_from_dict(checkpoint.config, str(path))
    config = apply_overrides(saved, changes or {}, "resume")
    for section in SECTIONS:
        before, after = getattr(saved, section), getattr(config, section)
        for f in dataclasses.fields(before):
            if getattr(before, f.name) != getattr(after, f.name) and f.name not in RESUMABLE.get(section, ()):
                raise ConfigError(f"cannot change {section}.{f.name} when resuming (it would not continue the same "
                                  "run); start a new run with --name instead")
    return Trainer(config, run_dir, checkpoint, progress_bar).run()


class StopFlag:
    """Set by Ctrl-C: the loop finishes the step in progress, saves a checkpoint and returns."""

    def __init__(self) -> None:
        self.requested = False

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopFlag]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum: int, frame: object) -> None:
            if self.requested:  # a second Ctrl-C stops at once
                raise KeyboardInterrupt
            self.requested = True
            print("\nstopping after this step (Ctrl-C again to abort without saving)", file=sys.stderr)

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


class Trainer:
    """Sets up one run (device, data, task, resume state) and runs its epochs."""

    def __init__(self, config: TrainConfig, run_dir: Path, checkpoint: Checkpoint | None,
                 progress_bar: bool | None = None) -> None:
        self.config, self.run_dir = config, run_dir
        self.progress_bar = progress_bar
        run = config.run
        self.device = resolve_device(run.device)
        self._configure_backends()
        seed_everything(run.seed)
        task_cls = task_class(config.task)
        size_multiple = task_cls.check_config(config)
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        self.data = task_cls.load_data(config, size_multiple, run_dir / "data_scan.json",
                                       run_dir / "data_problems.txt")
        self.task: Task = task_cls(config, self.device, Precision(run.precision, self.device))
        self.channels_last = run.channels_last and self.device.type == "cuda"
        if self.channels_last:
            self.task.networks.to(memory_format=torch.channels_last)
        self.progress = Progress()
        if checkpoint is None:
            self.task.init_weights()
        else:
            self._restore(checkpoint)
        if run.compile:
            self.task.call = {k: torch.compile(net) for k, net in self.task.networks.items()}
        self.sampler, self.loader = self._train_loader()
        val_workers = min(2, self.config.data.num_workers)  # a small set, read once per epoch
        self.val_loader = self._loader(self.data.val, 1, workers=val_workers) if self.data.val is not None else None
        self.preview = self._preview_batch()
        self.logger = RunLogger(run_dir, run.tensorboard)
        if checkpoint is not None:
            self.logger.truncate_after(self.progress.step)
        atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False))
        self.validation: list[dict[str, float]] = []
        self._saved_at: tuple[int, ...] = ()  # progress at the last latest-checkpoint
        self._sampled_at = -1  # step of the last sample grid

    # --- set-up --------------------------------------------------------------------------------------
    def _configure_backends(self) -> None:
        if self.config.run.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed crop sizes: pick the fastest conv algorithms once

    def _loader(self, dataset: Dataset, batch_size: int, sampler: Any = None, workers: int | None = None) -> DataLoader:
        workers = self.config.data.num_workers if workers is None else workers
        # Workers start from a clean forkserver process: forking this one, whose OpenCV and OpenMP thread
        # pools are already running, can deadlock the child on a lock copied mid-use.
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                          pin_memory=self.device.type == "cuda", persistent_workers=workers > 0,
                          multiprocessing_context="forkserver" if workers > 0 else None,
                          worker_init_fn=_quiet_worker, generator=torch.Generator().manual_seed(self.config.run.seed))

    def _train_loader(self) -> tuple[EpochSampler, DataLoader]:
        sampler = EpochSampler(len(self.data.train), self.config.run.seed)
        return sampler, self._loader(self.data.train, self.config.optim.batch_size, sampler)

    def _preview_batch(self) -> dict[str, Any]:
        items = [self.data.preview[i] for i in range(min(8, len(self.data.preview)))]
        return self._to_device(default_collate(items))

    def _restore(self, checkpoint: Checkpoint) -> None:
        assert checkpoint.state is not None
        for name, net in self.task.networks.items():
            net.load_state_dict(checkpoint.weights[name])
        state = checkpoint.state
        for name, optimizer in self.task.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        self.task.precision.load_state_dict(state["precision"])
        self.task.load_state_dict(state["task"])
        set_rng_state(state["rng"])
        self.progress = dataclasses.replace(checkpoint.progress)

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Images arrive as uint8; convert to float in [-1, 1] on the device (4x less to copy)."""
        out = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor) and value.dtype == torch.uint8:
                value = value.to(self.device, non_blocking=True).float().div_(127.5).sub_(1.0)
                if self.channels_last:
                    value = value.contiguous(memory_format=torch.channels_last)
            out[key] = value
        return out

    # --- the loop ------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        config, progress = self.config, self.progress
        self._announce()
        if progress.step == 0 and self.val_loader is not None:
            self.validate()
        if config.run.max_steps is not None and progress.step >= config.run.max_steps:
            return self._finish()  # resumed with a step limit already reached
        stop = StopFlag()
        with stop.installed():
            while progress.epoch < config.total_epochs:
                if self._train_epoch(stop):
                    return self._finish(interrupted=stop.requested)
                progress.epoch, progress.batch = progress.epoch + 1, 0
                self._end_of_epoch()
        return self._finish(finished=True)

    def _train_epoch(self, stop: StopFlag) -> bool:
        """Train the rest of the current epoch; True when the run must stop early (max steps, Ctrl-C)."""
        config, progress, task = self.config, self.progress, self.task
        run = config.run
        lr = set_learning_rate(task.optimizers, config.optim, progress.epoch)
        self.sampler.set_epoch(progress.epoch, skip=progress.batch * config.optim.batch_size)
        steps_in_epoch = math.ceil(len(self.data.train) / config.optim.batch_size)
        window: dict[str, torch.Tensor] = {}
        window_steps, window_start = 0, time.perf_counter()
        bar = tqdm(total=steps_in_epoch, initial=progress.batch, disable=self._bar_disabled(), leave=False,
                   desc=f"epoch {progress.epoch + 1}/{config.total_epochs}", unit="step", dynamic_ncols=True)
        with bar:
            for batch in self.loader:
                losses = task.train_step(self._to_device(batch))
                task.precision.update()
                progress.batch, progress.step = progress.batch + 1, progress.step + 1
                for key, value in losses.items():
                    window[key] = window.get(key, 0) + value
                window_steps += 1
                bar.update(1)
                if progress.step % run.log_every == 0 or progress.batch == steps_in_epoch:
                    elapsed = time.perf_counter() - window_start
                    values = {k: float(v) / window_steps for k, v in window.items()}
                    rate = window_steps / elapsed
                    self.logger.log("train", progress.step, progress.epoch, values, lr=lr, steps_per_s=round(rate, 3))
                    self._say(f"epoch {progress.epoch + 1} step {progress.step}  {format_values(values)}  "
                              f"lr {lr:.2e}  {rate * config.optim.batch_size:.1f} img/s", bar)
                    window, window_steps, window_start = {}, 0, time.perf_counter()
                if run.sample_every and progress.step % run.sample_every == 0:
                    self.sample()
                if run.save_latest_every_steps and progress.step % run.save_latest_every_steps == 0:
                    self.save_latest()
                if (run.max_steps is not None and progress.step >= run.max_steps) or stop.requested:
                    return True
        return False

    def _end_of_epoch(self) -> None:
        run, progress = self.config.run, self.progress
        if self.val_loader is not None:
            self.validate()
        if not run.sample_every:
            self.sample()
        self.save_latest()
        if run.save_every_epochs and progress.epoch % run.save_every_epochs == 0:
            self._save(self.run_dir / "checkpoints" / f"epoch_{progress.epoch:04d}.safetensors", with_state=False)

    def _finish(self, finished: bool = False, interrupted: bool = False) -> TrainResult:
        if self.progress.batch and self.val_loader is not None:
            self.validate()  # stopped mid-epoch: score where it stopped
        grid = self.sample()
        checkpoint = self.save_latest()
        self.logger.close()
        state = "finished" if finished else "interrupted" if interrupted else "stopped"
        lines = [f"{state} at step {self.progress.step} (epoch {self.progress.epoch + (0 if finished else 1)})",
                 f"  checkpoint  {checkpoint}", f"  samples     {grid}", f"  metrics     {self.logger.path}"]
        if len(self.validation) > 1:
            first, last = self.validation[0], self.validation[-1]
            key = next(iter(first))
            lines.append(f"  validation  {key} {first[key]:.4g} at step 0 -> {last[key]:.4g} now")
        if not finished:
            lines.append(f"  continue    i2i train --resume {self.run_dir}")
        print("\n".join(lines))
        return TrainResult(self.run_dir, checkpoint, self.progress, finished, interrupted, self.validation)

    # --- evaluation, samples, checkpoints -------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        assert self.val_loader is not None
        sums: dict[str, float] = {}
        count = 0
        for batch in self.val_loader:
            for key, value in self.task.evaluate(self._to_device(batch)).items():
                sums[key] = sums.get(key, 0.0) + float(value)
            count += 1
        values = {k: v / count for k, v in sums.items()}
        self.validation.append(values)
        self.logger.log("val", self.progress.step, self.progress.epoch, values)
        self._say(f"validation at step {self.progress.step}: {format_values(values)}")
        return values

    @torch.no_grad()
    def sample(self) -> Path:
        """Write the preview images' visuals (one image at a time: per-image batch-norm statistics)."""
        path = self.run_dir / "samples" / f"step_{self.progress.step:06d}.png"
        if self._sampled_at == self.progress.step:
            return path
        self._sampled_at = self.progress.step
        rows = [self.task.visuals({k: v[i : i + 1] for k, v in self.preview.items()})
                for i in range(len(self.preview["A"]))]
        columns = {key: torch.cat([row[key] for row in rows]) for key in rows[0]}
        return save_grid(path, columns)

    def _save(self, path: Path, with_state: bool) -> Path:
        state = None
        if with_state:
            state = {"optimizers": {k: o.state_dict() for k, o in self.task.optimizers.items()},
                     "precision": self.task.precision.state_dict(), "task": self.task.state_dict(), "rng": rng_state()}
        specs = self.task.network_specs(self.config)
        save_checkpoint(path, to_dict(self.config), dict(self.task.networks.items()), specs, self.progress, state)
        return path

    def save_latest(self) -> Path:
        if self._saved_at != dataclasses.astuple(self.progress):
            self._save(latest_checkpoint(self.run_dir), with_state=True)
            self._saved_at = dataclasses.astuple(self.progress)
        return latest_checkpoint(self.run_dir)

    # --- console -------------------------------------------------------------------------------------
    def _bar_disabled(self) -> bool:
        return not self.progress_bar if self.progress_bar is not None else not sys.stderr.isatty()

    def _say(self, line: str, bar: tqdm | None = None) -> None:
        if bar is not None and not bar.disable:
            bar.write(line)
        else:
            print(line, flush=True)

    def _announce(self) -> None:
        c, data = self.config, self.data
        val = f", {len(data.val)} validation" if data.val is not None else ", no validation split"
        start = "resuming at" if self.progress.step else "starting at"
        print(f"i2i {c.task}: {len(data.train)} training items{val} from {c.data.root}\n"
              f"  run folder {self.run_dir}, {start} step {self.progress.step}, epoch {self.progress.epoch + 1} of "
              f"{c.total_epochs}; device {self.device}, {c.run.precision}", flush=True)


def _quiet_worker(worker_id: int) -> None:
    """In DataLoader workers: one OpenCV thread each (the workers already run in parallel)."""
    import cv2

    cv2.setNumThreads(1)
