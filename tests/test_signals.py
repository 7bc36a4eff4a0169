"""How training is stopped in practice besides Ctrl-C: SIGTERM (SLURM preemption, scancel, docker stop), SIGHUP (a
dropped SSH session), a closed standard output (`| head`), Ctrl-C with the output going through `| tee`. Each
saves at the step it stopped, says how to resume and exits with the conventional status (128 + the signal)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLE
from test_distributed import TORCHRUN, free_port, tiny_flags

from i2i.engine.checkpoint import load_checkpoint

FLAGS = ["--netG", "unet_32", "--ngf", "4", "--ndf", "4", "--load-size", "36", "--crop-size", "32", "--batch-size",
         "2", "--val-images", "0", "--log-every", "1", "--sample-every", "0", "--max-steps", "100000", "--no-progress"]


def start(tmp_path: Path, workers: int, ignored: tuple[int, ...] = (), **popen: object) -> subprocess.Popen[str]:
    """`i2i train` as a shell starts it: its own process group, signals at their default actions (but ``ignored``,
    as `nohup` ignores SIGHUP)."""
    def as_a_shell() -> None:
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(number, signal.SIG_IGN if number in ignored else signal.SIG_DFL)

    command = [sys.executable, "-m", "i2i", "train", "pix2pix", "--data", str(SAMPLE), "--out", str(tmp_path),
               "--name", "s", "--num-workers", str(workers), *FLAGS]
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    return subprocess.Popen(command, text=True, start_new_session=True, preexec_fn=as_a_shell,  # type: ignore[call-overload]
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, **options)


def wait_for_steps(tmp_path: Path, process: subprocess.Popen[str], steps: int) -> None:
    metrics = tmp_path / "s" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.is_file() and metrics.read_text().count('"train"') >= steps):
        assert time.monotonic() < deadline and process.poll() is None, "training did not start"
        time.sleep(0.05)


def finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return out or "", err or ""


def saved_step(tmp_path: Path, text: str) -> int:
    """The step the summary reports, checked against the saved checkpoint and its sample grid."""
    line = next(x for x in text.splitlines() if x.startswith("interrupted at step "))
    step = int(line.split()[3])
    assert load_checkpoint(tmp_path / "s" / "checkpoints" / "latest.safetensors").progress.step == step
    assert (tmp_path / "s" / "samples" / f"step_{step:06d}.png").is_file()
    return step


@pytest.mark.parametrize(("number", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_save_like_ctrl_c(tmp_path: Path, number: int, status: int) -> None:
    """Sent to the whole process group (scancel, a closed terminal), DataLoader workers included."""
    process = start(tmp_path, workers=2)
    wait_for_steps(tmp_path, process, 2)
    os.killpg(process.pid, number)
    out, err = finish(process)
    assert process.returncode == status, err[-2000:]
    assert "Traceback" not in err and "exited unexpectedly" not in err, err[-2000:]
    assert saved_step(tmp_path, out) >= 2
    assert f"continue    i2i train --resume {tmp_path / 's'}" in out
    assert f"{signal.Signals(number).name}: stopping after this step" in err


def test_a_signal_the_caller_ignores_stays_ignored(tmp_path: Path) -> None:
    """`nohup i2i train ... &` and a logout: SIGHUP is ignored as nohup asked, so training goes on."""
    process = start(tmp_path, workers=0, ignored=(signal.SIGHUP,))
    wait_for_steps(tmp_path, process, 2)
    os.killpg(process.pid, signal.SIGHUP)
    steps = (tmp_path / "s" / "metrics.jsonl").read_text().count('"train"')
    wait_for_steps(tmp_path, process, steps + 3)  # still training
    os.killpg(process.pid, signal.SIGTERM)
    out, err = finish(process)
    assert process.returncode == 143 and "SIGHUP" not in err, err[-2000:]
    assert saved_step(tmp_path, out) >= steps + 3


def test_text_still_buffered_when_the_pipe_fails_reaches_stderr() -> None:
    """The summary printed just before a flush that meets a closed pipe is not lost: it goes to stderr."""
    from i2i.engine.console import guarded_console

    class Pipe(io.StringIO):  # buffers what it is given; its reader has gone
        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    terminal, lost = io.StringIO(), []
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Pipe(), terminal
    try:
        with guarded_console(lambda: lost.append(True)):
            print("interrupted at step 7")
            print("continue    i2i train --resume runs/x", flush=True)
            print("after")
    finally:
        sys.stdout, sys.stderr = saved
    assert lost == [True]
    assert terminal.getvalue() == "interrupted at step 7\ncontinue    i2i train --resume runs/x\nafter\n"


def test_a_closed_stdout_stops_with_a_save(tmp_path: Path) -> None:
    """`i2i train ... | head -3`: once the reader is gone the run saves, says so on stderr, and exits 141."""
    process = start(tmp_path, workers=0)
    assert process.stdout is not None
    for _ in range(3):
        process.stdout.readline()
    process.stdout.close()  # head exits
    _, err = finish(process)
    assert process.returncode == 128 + signal.SIGPIPE, err[-2000:]
    assert "Traceback" not in err and "Exception ignored" not in err, err[-2000:]
    assert "standard output was closed" in err
    saved_step(tmp_path, err)  # the summary went to stderr
    assert f"continue    i2i train --resume {tmp_path / 's'}" in err


def test_ctrl_c_through_tee_exits_130(tmp_path: Path) -> None:
    """`i2i train ... | tee log` and Ctrl-C: the terminal stops tee too, so the summary meets a closed pipe; the run
    still saves, and the status says Ctrl-C (130), not success."""
    process = start(tmp_path, workers=0)
    assert process.stdout is not None
    wait_for_steps(tmp_path, process, 2)
    os.killpg(process.pid, signal.SIGINT)
    process.stdout.close()  # tee died of the same Ctrl-C
    _, err = finish(process)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "Exception ignored" not in err, err[-2000:]
    saved_step(tmp_path, err)


def test_a_command_whose_reader_left_does_not_report_success(tmp_path: Path) -> None:
    """`i2i models list | head -0`: the command stops at its first write, quietly, with 141 rather than 0."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "i2i", "models", "list"], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120, env={**os.environ, "I2I_HOME": str(tmp_path / "home")})
    finally:
        os.close(write)
    assert done.returncode == 128 + signal.SIGPIPE and done.stderr == "", done.stderr


def test_sigterm_under_torchrun_saves_on_every_rank(tmp_path: Path, unpaired_sample: Path) -> None:
    """torchrun passes a SIGTERM it gets (docker stop, scancel) to every rank: they stop at the same step, the
    checkpoint holds both ranks' state, and the hint to continue is the torchrun command."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = subprocess.Popen([*TORCHRUN, "--master-port", str(free_port()), "-m", "i2i", "train", "cyclegan",
                                 *tiny_flags(unpaired_sample, "t", 100000)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env, start_new_session=True)
    try:
        metrics = tmp_path / "runs" / "t" / "metrics.jsonl"
        deadline = time.monotonic() + 120
        while not (metrics.is_file() and metrics.read_text().count('"train"') >= 2):
            assert time.monotonic() < deadline and launcher.poll() is None, "the run did not start"
            time.sleep(0.1)
        launcher.send_signal(signal.SIGTERM)
        out, err = launcher.communicate(timeout=120)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    line = next(x for x in out.splitlines() if x.startswith("interrupted at step "))
    saved = load_checkpoint(tmp_path / "runs" / "t" / "checkpoints" / "latest.safetensors")
    assert saved.progress.step == int(line.split()[3]) and len(saved.state["ranks"]) == 1, err[-3000:]
    assert "continue    torchrun --nproc-per-node 2 -m i2i train --resume runs/t" in out, out
    assert "Traceback" not in out
    # torchrun itself ends in a SignalException traceback of its own frames; none comes from i2i's ranks
    assert f'File "{Path(__file__).resolve().parent.parent / "i2i"}' not in err, err[-3000:]


def test_resuming_on_another_number_of_processes_names_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    """A checkpoint saved by 2 processes, resumed by 1: the note names 2 and then 1 (it named 1 twice)."""
    import json

    from conftest import tiny_config
    from safetensors import safe_open
    from safetensors.torch import save_file

    from i2i.training import resume, train

    run = train(tiny_config("pix2pix", SAMPLE, tmp_path, data={"val_images": 0}, run={"max_steps": 1}),
                progress_bar=False).run_dir
    path = run / "checkpoints" / "latest.safetensors"
    with safe_open(str(path), "pt") as f:
        tensors, meta = {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata())  # noqa: SIM118
    meta["progress"] = json.dumps({**json.loads(meta["progress"]), "world_size": 2})  # as two processes saved it
    save_file(tensors, str(path), meta)
    capsys.readouterr()
    resume(run, {"run": {"max_steps": 2}}, progress_bar=False)
    out = capsys.readouterr().out
    assert "the run was saved with 2 process(es) and continues with 1" in out, out


def test_ranks_agree_on_a_signal_over_a_closed_console() -> None:
    """One rank's `| tee` died (SIGPIPE, 13) while another got Ctrl-C (2): the job reports Ctrl-C, whatever the
    order (the vote used to keep the highest number, 13)."""
    from i2i.engine.distributed import Distributed, StopVote

    for ballots, expected in (((signal.SIGPIPE, signal.SIGINT), signal.SIGINT),
                              ((signal.SIGINT, signal.SIGPIPE), signal.SIGINT),
                              ((signal.SIGPIPE, 0), signal.SIGPIPE), ((signal.SIGINT, signal.SIGTERM), signal.SIGTERM)):
        vote = StopVote(Distributed())
        for number in ballots:
            vote.update(number)
        assert vote.agreed and vote.signal == expected, ballots
