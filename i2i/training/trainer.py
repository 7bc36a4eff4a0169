"""The training loop, the same for every method: a task supplies the networks, losses and step order.

``train(config)`` starts a run in ``<out>/<name>``; ``resume(run_dir)`` continues one from its latest
checkpoint and, on CPU with the same settings, takes exactly the steps the uninterrupted run would have.
Under torchrun every process runs this loop on its own shard of the data (see ``distributed``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm import tqdm

from ..compat import require_torch
from ..config import SECTIONS, TrainConfig, apply_overrides, is_resumable, to_dict
from ..data import EpochSampler
from ..engine import distributed
from ..engine.checkpoint import (
    Checkpoint,
    Progress,
    latest_checkpoint,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from ..engine.console import guarded_console
from ..engine.devices import backend_settings, resolve_device
from ..engine.graphs import GraphedStep
from ..engine.logger import RunLogger, format_values
from ..engine.optimizers import make_capturable, match_parameter_layout, portable_state
from ..engine.precision import Precision
from ..engine.rng import rng_state, seed_everything, set_rng_state
from ..engine.samples import save_grid
from ..engine.schedules import set_learning_rate
from ..errors import CheckpointError, ConfigError
from ..fileio import atomic_write_text
from ..nn import keeps_channels_last
from ..tasks import Task, config_from_dict, task_class


@dataclass
class TrainResult:
    """What a run produced and how far it got."""

    run_dir: Path
    checkpoint: Path
    progress: Progress
    finished: bool = False
    interrupted: bool = False
    validation: list[dict[str, float]] = field(default_factory=list)
    signal: int = 0  # what interrupted it: SIGINT (Ctrl-C), SIGTERM, SIGHUP, or SIGPIPE for a closed console


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
    return _execute(config, run_dir, None, progress_bar)


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
            if getattr(before, f.name) != getattr(after, f.name) and not is_resumable(f):
                raise ConfigError(f"cannot change {section}.{f.name} when resuming (it would not continue the same "
                                  "run); start a new run with --name instead")
    return _execute(config, Path(run_dir), checkpoint, progress_bar)


def _execute(config: TrainConfig, run_dir: Path, checkpoint: Checkpoint | None,
             progress_bar: bool | None) -> TrainResult:
    """Join the process group (under torchrun), set the backend flags, train, and restore the caller's flags."""
    require_torch()
    local_rank = distributed.local_rank()
    if distributed.world_size() > 1 and ":" in config.run.device:
        raise ConfigError(f"--device {config.run.device}: under torchrun each process takes the GPU of its "
                          "LOCAL_RANK; use --device cuda (or auto)")
    device = resolve_device(config.run.device, local_rank)
    context = distributed.from_environment(device.type, config.run.dist_timeout)
    try:
        with backend_settings(device, config.run.deterministic):
            trainer = Trainer(config, run_dir, checkpoint, progress_bar, device, context)
            try:
                return trainer.run()
            finally:
                trainer.close()
    except Exception as e:
        if context.enabled and distributed.is_lost_contact(e):
            raise distributed.lost_contact(context, e, str(run_dir)) from None
        raise
    finally:
        context.close()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C; preemption, docker stop; a closed terminal
STOPPING = {signal.SIGINT: "stopping after this step (Ctrl-C again to abort without saving)",
            signal.SIGTERM: "SIGTERM: stopping after this step, saving first",
            signal.SIGHUP: "SIGHUP: stopping after this step, saving first",
            signal.SIGPIPE: "the standard output was closed: stopping after this step, saving first"}


class StopFlag:
    """Set by Ctrl-C, SIGTERM (a scheduler's preemption, scancel, docker stop), SIGHUP (a dropped SSH session) or a
    closed console (``| head`` gone: SIGPIPE's number): the loop finishes the step in progress, saves a checkpoint
    and returns; ``signal`` is what stopped it (the exit status is 128 + it).

    A second Ctrl-C aborts at once, unless it comes within ``grace_s`` of the first: under torchrun the
    launcher passes the terminal's Ctrl-C on to processes that already received it. A repeated SIGTERM or SIGHUP
    changes nothing (a scheduler and torchrun may both send one): the save they ask for is under way, and the
    sender's SIGKILL is the abort.
    """

    def __init__(self, grace_s: float = 0.0) -> None:
        self.signal = 0
        self.grace_s = grace_s
        self._at = 0.0

    @property
    def requested(self) -> bool:
        return self.signal != 0

    def request(self, number: int) -> None:
        """Stop after this step because of signal ``number``; a signal outranks a closed console it caused."""
        first = not self.requested
        if first or (self.signal == signal.SIGPIPE and number != signal.SIGPIPE):
            self.signal, self._at = number, time.monotonic()
        if first:  # os.write, not print: a signal may arrive while a print to stderr is under way (reentrant)
            with contextlib.suppress(OSError):
                os.write(2, f"\n{STOPPING[number]}\n".encode())

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """The signal handlers, and a console whose loss stops the run, for the duration of the block."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(number: int, frame: object) -> None:
            if number == signal.SIGINT and self.requested and self.signal != signal.SIGPIPE:
                if time.monotonic() - self._at < self.grace_s:
                    return
                raise KeyboardInterrupt  # a second Ctrl-C stops at once
            self.request(number)

        # a signal the caller ignores stays ignored: `nohup i2i train ... &` keeps training after a logout
        previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS
                    if signal.getsignal(number) is not signal.SIG_IGN}
        try:
            with guarded_console(lambda: self.request(signal.SIGPIPE)):
                yield self
        finally:
            for number, action in previous.items():
                signal.signal(number, action)


class Trainer:
    """Sets up one run (device, data, task, resume state) and runs its epochs."""

    def __init__(self, config: TrainConfig, run_dir: Path, checkpoint: Checkpoint | None,
                 progress_bar: bool | None, device: torch.device,
                 context: distributed.Distributed | None = None) -> None:
        self.config, self.run_dir = config, run_dir
        self.progress_bar = progress_bar
        self.device = device
        self.dist = context or distributed.Distributed()
        run = config.run
        seed_everything(run.seed + self.dist.rank)
        task_cls = task_class(config.task)
        size_multiple = task_cls.check_config(config)
        if self.dist.is_main:
            (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(run_dir)
        self.data = self._load_data(task_cls, size_multiple)
        if config.data.num_workers > 0:
            _start_worker_servers()
        self.loader_batch_size = task_cls.loader_batch_size(config)
        self.task: Task = task_cls(config, self.device, Precision(run.precision, self.device))
        self.channels_last = (run.channels_last and self.device.type == "cuda"
                              and all(keeps_channels_last(net) for net in self.task.networks.values()))
        if self.channels_last:
            self.task.networks.to(memory_format=torch.channels_last)
        self.progress = Progress(world_size=self.dist.world_size)
        self.notes: list[str] = []
        if checkpoint is None:
            self.task.init_weights()
        else:
            self._restore(checkpoint)
        self._wrap_networks()
        self.step = self._make_step()
        self.vote = distributed.StopVote(self.dist)
        self.sampler, self.loader = self._train_loader()
        self.val_loader: DataLoader | None = None
        self.evaluator: Any = None  # --eval-every: FID, KID, ... of the generators (rank 0)
        self.logger: RunLogger | None = None
        self.validation: list[tuple[int, dict[str, float]]] = []  # (step, metrics), earlier sessions included
        if self.dist.is_main:  # rank 0 alone validates, samples and writes
            if self.data.val is not None:
                self.val_loader = self._loader(self.data.val, self.task.validation_batch_size,
                                               workers=min(2, config.data.num_workers))
            self.preview = self._preview_batch()
            self.evaluator = self._evaluator()
            self.logger = RunLogger(run_dir, run.tensorboard)
            if checkpoint is not None:
                dropped = self.logger.truncate_after(self.progress.step)
                if dropped:
                    self.notes.append(f"{self.logger.path}: {dropped}")
                self.validation = self.logger.metrics("val")
            atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False))
        self._saved_at: tuple[int, ...] = ()  # progress at the last latest-checkpoint
        self._sampled_at = -1  # step of the last sample grid

    # --- set-up --------------------------------------------------------------------------------------
    def _load_data(self, task_cls: type[Task], size_multiple: int) -> Any:
        """Rank 0 scans the images first; the other ranks then read its scan from the cache file."""
        def load() -> Any:
            return task_cls.load_data(self.config, size_multiple, self.run_dir / "data_scan.json",
                                      self.run_dir / "data_problems.txt")
        if self.dist.is_main:
            data = load()
            self.dist.barrier()
            return data
        self.dist.barrier()
        return load()

    def _loader(self, dataset: Dataset, batch_size: int, sampler: Any = None, workers: int | None = None) -> DataLoader:
        workers = self.config.data.num_workers if workers is None else workers
        # Workers start from a clean forkserver process: forking this one, whose OpenCV and OpenMP thread
        # pools are already running, can deadlock the child on a lock copied mid-use.
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                          pin_memory=self.device.type == "cuda", persistent_workers=workers > 0,
                          multiprocessing_context="forkserver" if workers > 0 else None,
                          worker_init_fn=_quiet_worker, generator=torch.Generator().manual_seed(self.config.run.seed))

    def _train_loader(self) -> tuple[EpochSampler, DataLoader]:
        sampler = EpochSampler(len(self.data.train), self.config.run.seed, rank=self.dist.rank,
                               world_size=self.dist.world_size)
        return sampler, self._loader(self.data.train, self.loader_batch_size, sampler)

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
            match_parameter_layout(optimizer)
        self.task.precision.load_state_dict(state["precision"])
        saved = dataclasses.replace(checkpoint.progress)
        rank, world = self.dist.rank, self.dist.world_size
        ranks = [state, *state.get("ranks", [])]  # each rank's random state and task state (image pools)
        if saved.world_size == world or rank == 0:
            own = ranks[rank] if rank < len(ranks) else None
            if own is not None:
                self.task.load_state_dict(own["task"])
                set_rng_state(own["rng"])
        self.progress = saved
        if saved.world_size != world:
            before = saved.world_size  # (saved is self.progress, changed below)
            # the position inside the epoch was counted in batches per process: convert it
            seen = saved.batch * self.loader_batch_size * before
            self.progress.batch = seen // (self.loader_batch_size * world)
            self.progress.world_size = world
            self.notes.append(f"the run was saved with {before} process(es) and continues with {world}: the "
                              "data order goes on, but the steps are not the ones an uninterrupted run would take")

    def _wrap_networks(self) -> None:
        """DDP around each network under torchrun; torch.compile on top when asked."""
        run, task = self.config.run, self.task
        if self.dist.enabled:
            distributed.wrap(task.networks, task.call, task.no_sync, self.device, run.sync_batch_norm)
        elif run.sync_batch_norm:
            self.notes.append("--sync-batch-norm applies to runs started with torchrun; ignored here")
        if run.compile:
            task.call = {k: torch.compile(fn) for k, fn in task.call.items()}

    def _make_step(self) -> Callable[[dict[str, Any]], dict[str, torch.Tensor]]:
        """The training step: a replayed CUDA graph where that is safe, else eager."""
        run = self.config.run
        if not run.cuda_graphs or self.device.type != "cuda":
            return self._eager_step
        reason = ("fp16's gradient scaler checks for overflow on the host" if run.precision == "fp16" else
                  "DDP runs its gradient reductions outside the graph" if self.dist.enabled else
                  f"{self.config.task}'s step is not verified under them" if not self.task.graph_capturable else "")
        if reason:
            self.notes.append(f"CUDA graphs are off: {reason}")
            return self._eager_step
        return GraphedStep(self._eager_step, self.device, say=self._say,
                           before_capture=lambda: make_capturable(self.task.optimizers, self.device))

    def _eager_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return self.task.train_step(self._to_device(batch))

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Images arrive as uint8; convert them to float in the task's value range on the device (4x less to copy)."""
        low, high = self.task.value_range
        out = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor) and value.dtype == torch.uint8:
                value = value.to(self.device, non_blocking=True).float().mul_((high - low) / 255).add_(low)
                if self.channels_last:
                    value = value.contiguous(memory_format=torch.channels_last)
            out[key] = value
        return out

    def close(self) -> None:
        """End the data loaders' worker processes now. They ignore SIGTERM (see ``_quiet_worker``), with which the
        interpreter's exit would otherwise try to end them; dropping the loaders shuts them down as torch does."""
        self.loader = self.val_loader = None  # type: ignore[assignment]
        gc.collect()  # the loaders' iterators may sit in reference cycles

    # --- the loop ------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        config, progress = self.config, self.progress
        self._announce()
        self.started = time.monotonic()
        if progress.step == 0 and self.val_loader is not None:
            self.validate()
        if config.run.max_steps is not None and progress.step >= config.run.max_steps:
            return self._finish()  # resumed with a step limit already reached
        stop = StopFlag(grace_s=2.0 if self.dist.enabled else 0.0)
        with stop.installed():
            while progress.epoch < config.total_epochs:
                if self._train_epoch(stop):
                    return self._finish(interrupted=self.vote.agreed)
                progress.epoch, progress.batch = progress.epoch + 1, 0
                self._end_of_epoch()
                if progress.epoch < config.total_epochs and self.vote.decide(stop.signal):
                    return self._finish(interrupted=True)  # Ctrl-C during validation: no new epoch
            return self._finish(finished=True)

    def _train_epoch(self, stop: StopFlag) -> bool:
        """Train the rest of the current epoch; True when the run must stop early (max steps, Ctrl-C)."""
        config, progress, task = self.config, self.progress, self.task
        run, batch_size = config.run, self.loader_batch_size
        lr = set_learning_rate(task.optimizers, config.optim, progress.epoch)
        self.sampler.set_epoch(progress.epoch, skip=progress.batch * batch_size)
        per_rank = -(-len(self.data.train) // self.dist.world_size)
        steps_in_epoch = math.ceil(per_rank / batch_size)
        window: dict[str, torch.Tensor] = {}
        window_steps, window_start = 0, time.perf_counter()
        bar = tqdm(total=steps_in_epoch, initial=progress.batch, disable=self._bar_disabled(), leave=False,
                   desc=f"epoch {progress.epoch + 1}/{config.total_epochs}", unit="step", dynamic_ncols=True)
        with bar:
            for batch in self.loader:
                losses = self.step(batch)
                task.precision.update()
                progress.batch, progress.step = progress.batch + 1, progress.step + 1
                for key, value in losses.items():  # device tensors: no wait for the GPU until a log line
                    window[key] = window[key] + value if key in window else value.detach().clone()
                window_steps += 1
                bar.update(1)
                if progress.step % run.log_every == 0 or progress.batch == steps_in_epoch:
                    sums = torch.stack([v.float() for v in window.values()]).tolist()
                    values = self.dist.mean({k: s / window_steps for k, s in zip(window, sums, strict=True)})
                    rate = window_steps / (time.perf_counter() - window_start)
                    images_per_s = rate * batch_size * self.dist.world_size
                    self._log("train", values, lr=lr, steps_per_s=round(rate, 3))
                    self._say(f"epoch {progress.epoch + 1} step {progress.step}  {format_values(values)}  "
                              f"lr {lr:.2e}  {images_per_s:.1f} img/s", bar)
                    window, window_steps, window_start = {}, 0, time.perf_counter()
                if run.sample_every and progress.step % run.sample_every == 0:
                    self.sample()
                if run.save_latest_every_steps and progress.step % run.save_latest_every_steps == 0:
                    self.save_latest()
                out_of_time = run.max_minutes is not None and time.monotonic() - self.started > 60 * run.max_minutes
                stop_now = self.vote.update(stop.signal, out_of_time)  # every rank stops at the same step
                if stop_now or (run.max_steps is not None and progress.step >= run.max_steps):
                    return True
        return False

    def _end_of_epoch(self) -> None:
        run, progress = self.config.run, self.progress
        if self.val_loader is not None:
            self.validate()
        if self.evaluator is not None and progress.epoch % run.eval_every == 0:
            self.evaluate()
        if not run.sample_every:
            self.sample()
        self.save_latest()
        if run.save_every_epochs and progress.epoch % run.save_every_epochs == 0:
            self._save(self.run_dir / "checkpoints" / f"epoch_{progress.epoch:04d}.safetensors", with_state=False)

    def _finish(self, finished: bool = False, interrupted: bool = False) -> TrainResult:
        """Save, then score and show where the run stopped; after Ctrl-C no data loader is touched again."""
        self.vote.drain()
        checkpoint = self.save_latest()  # first: whatever happens next, the work is kept
        if not interrupted and self.progress.batch and self.val_loader is not None:
            self.validate()  # stopped mid-epoch (step limit): score where it stopped
        grid = self.sample()
        if self.logger is not None:
            self.logger.close()
        self.dist.barrier()
        if self.dist.is_main:
            self._summary(checkpoint, grid, finished, interrupted, self._write_report())
        return TrainResult(self.run_dir, checkpoint, self.progress, finished, interrupted,
                           [values for _, values in self.validation], self.vote.signal if interrupted else 0)

    def _summary(self, checkpoint: Path, grid: Path, finished: bool, interrupted: bool, report: Path | None) -> None:
        state = "finished" if finished else "interrupted" if interrupted else "stopped"
        lines = [f"{state} at step {self.progress.step} (epoch {self.progress.epoch + (0 if finished else 1)})",
                 f"  checkpoint  {checkpoint}", f"  samples     {grid}",
                 f"  metrics     {self.run_dir / 'metrics.jsonl'}"]
        if report is not None:
            lines.append(f"  report      {report}")
        if len(self.validation) > 1:
            (first_step, first), (last_step, last) = self.validation[0], self.validation[-1]
            key = next(iter(first))
            lines.append(f"  validation  {key} {first[key]:.4g} at step {first_step} -> {last[key]:.4g} "
                         f"at step {last_step}")
            others = {k: v for k, v in last.items() if k != key and "/" not in k}
            if others:  # the other metrics (an SR run's bicubic baseline among them)
                lines.append(f"              {format_values(others)}")
        if not finished:
            lines.append(f"  continue    {distributed.resume_command(self.run_dir)}")
        print("\n".join(lines), flush=True)

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
        # set-level scores first (a sample FID says more than an average over batches), then the averages
        values = {**self.task.evaluate_set(self.data.val), **{k: v / count for k, v in sums.items()}}
        self.validation.append((self.progress.step, values))
        self._log("val", values)
        shown = {k: v for k, v in values.items() if "/" not in k}  # grouped values ('classes/3') go to the log only
        self._say(f"validation at step {self.progress.step}: {format_values(shown)}")
        return values

    def _evaluator(self) -> Any:
        """The --eval-every scorer, built before training so that missing weights stop the run at once."""
        if not self.config.run.eval_every:
            return None
        if self.data.val is None:
            self.notes.append("--eval-every: the data have no validation split (val/ or test/): nothing to score")
            return None
        from ..evaluation.evaluate import TrainingEvaluator

        return TrainingEvaluator(self.config, self.device, self._say)

    def evaluate(self) -> dict[str, float]:
        """FID, KID (and paired metrics) of the generators on the validation images, logged as kind 'eval'."""
        values = self.evaluator(self.task.networks)
        self._log("eval", values)
        self._say(f"evaluation at step {self.progress.step}: {format_values(values)}")
        return values

    def _write_report(self) -> Path | None:
        """``report.html`` for the run folder; a report that fails is a note, never a failed run."""
        from ..report import write_run_report

        try:
            return write_run_report(self.run_dir, device=str(self.device))
        except Exception as e:  # the checkpoint is saved: nothing of the run depends on its report
            print(f"note: the report was not written ({type(e).__name__}: {e})", flush=True)
            return None

    @torch.no_grad()
    def sample(self) -> Path:
        """Write the preview images' visuals (one image at a time: per-image batch-norm statistics)."""
        path = self.run_dir / "samples" / f"step_{self.progress.step:06d}.png"
        if self._sampled_at == self.progress.step or not self.dist.is_main:
            return path
        self._sampled_at = self.progress.step
        return save_grid(path, self.task.preview_columns(self.preview))

    def _training_state(self) -> dict[str, Any] | None:
        """What a resume needs beyond the weights; every rank's part is gathered on rank 0 (None elsewhere)."""
        own = {"task": self.task.state_dict(), "rng": rng_state()}
        ranks = self.dist.gather(own)
        if ranks is None:
            return None
        return {"optimizers": {k: portable_state(o) for k, o in self.task.optimizers.items()},
                "precision": self.task.precision.state_dict(), **ranks[0], "ranks": ranks[1:]}

    def _save(self, path: Path, with_state: bool) -> Path:
        state = self._training_state() if with_state else None
        if self.dist.is_main:
            specs = self.task.network_specs(self.config)
            save_checkpoint(path, to_dict(self.config), dict(self.task.networks.items()), specs, self.progress, state)
        return path

    def save_latest(self) -> Path:
        if self._saved_at != dataclasses.astuple(self.progress):
            self._save(latest_checkpoint(self.run_dir), with_state=True)
            self._saved_at = dataclasses.astuple(self.progress)
        return latest_checkpoint(self.run_dir)

    # --- console and logs -----------------------------------------------------------------------------
    def _log(self, kind: str, values: dict[str, float], **extra: Any) -> None:
        if self.logger is not None:
            self.logger.log(kind, self.progress.step, self.progress.epoch, values, **extra)

    def _bar_disabled(self) -> bool:
        if not self.dist.is_main:
            return True
        return not self.progress_bar if self.progress_bar is not None else not sys.stderr.isatty()

    def _say(self, line: str, bar: tqdm | None = None) -> None:
        if not self.dist.is_main:
            return
        if bar is not None and not bar.disable:
            bar.write(line)
        else:
            print(line, flush=True)

    def _announce(self) -> None:
        if not self.dist.is_main:
            return
        c, data = self.config, self.data
        val = f", {len(data.val)} validation" if data.val is not None else ", no validation split"
        start = "resuming at" if self.progress.step else "starting at"
        execution = f"device {self.device}, {c.run.precision}"
        if isinstance(self.step, GraphedStep):
            execution += ", CUDA graphs"
        if self.dist.enabled:
            execution += f"; {self.dist.world_size} processes (DDP), {c.optim.batch_size} images each per step"
        print(f"i2i {c.task}: {len(data.train)} training items{val} from {c.data.root}\n"
              f"  run folder {self.run_dir}, {start} step {self.progress.step}, epoch {self.progress.epoch + 1} of "
              f"{c.total_epochs}; {execution}", flush=True)
        for note in [*self.task.notes(), *self.notes]:
            print(f"note: {note}", flush=True)


def _start_worker_servers() -> None:
    """Start multiprocessing's forkserver and resource tracker (what DataLoader workers come from) with SIGTERM and
    SIGHUP ignored, which they keep: a signal sent to every process (scancel, a closed terminal) then reaches the
    training process, which saves, and not these helpers, whose death would take the workers and a clean exit
    with them."""
    if threading.current_thread() is not threading.main_thread():
        return
    from multiprocessing import forkserver, resource_tracker

    previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGTERM, signal.SIGHUP)}
    try:
        resource_tracker.ensure_running()
        forkserver.ensure_running()
    finally:
        for number, action in previous.items():
            signal.signal(number, action)


def _quiet_worker(worker_id: int) -> None:
    """In DataLoader workers: one OpenCV thread each, and Ctrl-C, SIGTERM and SIGHUP left to the main process.

    A terminal sends Ctrl-C (and, when it closes, SIGHUP) to the whole process group, scancel sends SIGTERM to
    every process of the job; a worker that died of it would take the batches in flight with it while the main
    process is saving. Workers end with the main process.
    """
    import cv2

    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    cv2.setNumThreads(1)

