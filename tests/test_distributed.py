"""Training on two CPU processes (gloo): DDP gives one process's result, resumes exactly, and fails cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import tiny_config
from safetensors.torch import load_file, save_file

from i2i.config import to_dict
from i2i.engine.checkpoint import load_checkpoint
from i2i.engine.logger import read_metrics

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank_main(rank: int, port: int, config: dict[str, Any], out: str) -> None:
    """One rank of a two-process run through the training API; saves the weights it ends with."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from i2i.engine import distributed
    from i2i.engine.devices import backend_settings
    from i2i.tasks import config_from_dict
    from i2i.training.trainer import Trainer, run_dir_for

    train_config = config_from_dict(config)
    context = distributed.from_environment("cpu", 120)
    try:
        with backend_settings(torch.device("cpu"), False):
            trainer = Trainer(train_config, run_dir_for(train_config), None, False, torch.device("cpu"), context)
            trainer.run()
        weights = {f"{name}/{k}": v.contiguous() for name, net in trainer.task.networks.items()
                   for k, v in net.state_dict().items()}
        save_file(weights, f"{out}/rank{rank}.safetensors")
    finally:
        context.close()


def test_two_processes_train_like_one_with_twice_the_batch(tmp_path: Path, unpaired_sample: Path) -> None:
    """2 ranks x batch 2 = 1 process x batch 4: same data, averaged gradients, the same weights to rounding."""
    def config(name: str, batch_size: int) -> Any:
        return tiny_config("cyclegan", unpaired_sample, tmp_path, model={"net_g": "resnet_2blocks"},
                           method={"pool_size": 0}, data={"val_images": 0}, optim={"batch_size": batch_size},
                           run={"max_steps": 3, "save_every_epochs": 0, "name": name})

    single, double = config("single", 4), config("double", 2)
    from i2i.training.trainer import train

    reference = load_checkpoint(train(single, progress_bar=False).checkpoint).weights
    torch.multiprocessing.spawn(_rank_main, args=(free_port(), to_dict(double), str(tmp_path)), nprocs=2)
    rank0, rank1 = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)  # DDP keeps the ranks identical, bit for bit
    diffs = torch.cat([(rank0[f"{name}/{k}"] - v).abs().flatten() for name, w in reference.items()
                       for k, v in w.items() if v.is_floating_point()])
    # Adam moves a weight by about lr (2e-4) per step whatever its gradient's size, so a gradient near zero
    # whose last bits differ (a sum over two ranks rounds differently) can move it the other way. Equal
    # gradients leave almost every weight equal (about 2% differ by more than 1e-5 after 3 steps); one batch
    # of 2 instead of the combined 4 changes 96% of them.
    assert float((diffs > 1e-5).float().mean()) < 0.05
    single_losses, double_losses = train_losses(tmp_path / "single"), train_losses(tmp_path / "double")
    for step, losses in single_losses.items():  # the ranks' mean loss is the big batch's loss
        assert losses == pytest.approx(double_losses[step], rel=1e-4)
    saved = load_checkpoint(tmp_path / "double" / "checkpoints" / "latest.safetensors")
    assert saved.progress.world_size == 2 and saved.progress.step == 3
    assert len(saved.state["ranks"]) == 1  # rank 1's random state, kept for an exact resume


def torchrun(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*TORCHRUN, "--master-port", str(free_port()), "-m", "i2i", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env=env)


def tiny_flags(data: Path, name: str, steps: int) -> list[str]:
    return ["--data", str(data), "--name", name, "--netG", "resnet_2blocks", "--ngf", "8", "--ndf", "8",
            "--load-size", "72", "--crop-size", "64", "--batch-size", "2", "--num-workers", "0", "--pool-size", "3",
            "--val-images", "2", "--log-every", "1", "--max-steps", str(steps), "--seed", "5"]


def train_losses(run_dir: Path) -> dict[int, dict[str, float]]:
    return dict(read_metrics(run_dir / "metrics.jsonl", "train"))


def test_torchrun_resume_with_the_same_world_size_is_exact(tmp_path: Path, unpaired_sample: Path) -> None:
    for name, steps in (("full", 8), ("part", 3)):
        result = torchrun("train", "cyclegan", *tiny_flags(unpaired_sample, name, steps), cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
    result = torchrun("train", "--resume", "runs/part", "--max-steps", "8", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming at step 3" in result.stdout and "2 processes (DDP)" in result.stdout
    full, part = train_losses(tmp_path / "runs" / "full"), train_losses(tmp_path / "runs" / "part")
    assert sorted(part) == list(range(1, 9))
    assert all(part[step] == full[step] for step in range(4, 9))  # image pools and random states per rank


def test_a_rank_that_dies_ends_the_job(tmp_path: Path, unpaired_sample: Path) -> None:
    """SIGKILL one rank mid-run: the job ends within seconds with an error naming it, never hangs."""
    flags = tiny_flags(unpaired_sample, "dies", 100000)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = subprocess.Popen([*TORCHRUN, "--master-port", str(free_port()), "-m", "i2i", "train", "cyclegan",
                                 *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                                env=env, start_new_session=True)
    try:
        metrics = tmp_path / "runs" / "dies" / "metrics.jsonl"
        deadline = time.monotonic() + 120
        while not (metrics.is_file() and metrics.read_text().count('"train"') >= 2):
            assert time.monotonic() < deadline and launcher.poll() is None, "the run did not start"
            time.sleep(0.2)
        os.kill(_rank_pid(launcher.pid, 1), signal.SIGKILL)
        output, _ = launcher.communicate(timeout=90)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    assert launcher.returncode != 0
    assert "rank      : 1" in output and "SIGKILL" in output  # torchrun's report names the rank and the signal


def _rank_pid(launcher: int, rank: int) -> int:
    """The pid of the worker process of ``rank`` among the launcher's children."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == launcher and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    raise AssertionError(f"no worker of rank {rank} under process {launcher}")


@pytest.mark.parametrize("flag", ["--sync-batch-norm"])
def test_options_that_need_gpus_say_so(tmp_path: Path, unpaired_sample: Path, flag: str) -> None:
    result = torchrun("train", "cyclegan", *tiny_flags(unpaired_sample, "sync", 2), flag, cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    assert "error: --sync-batch-norm needs CUDA devices" in result.stderr
