"""Ctrl-C the way a terminal sends it: SIGINT to the whole process group, DataLoader workers included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import SAMPLE

from i2i.engine.checkpoint import load_checkpoint


def test_ctrl_c_to_the_process_group_saves_and_says_how_to_resume(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "i2i", "train", "pix2pix", "--data", str(SAMPLE), "--out", str(tmp_path),
               "--name", "c", "--netG", "unet_64", "--ngf", "8", "--ndf", "8", "--load-size", "72", "--crop-size",
               "64", "--batch-size", "2", "--num-workers", "2", "--val-images", "4", "--log-every", "1",
               "--sample-every", "0", "--max-steps", "100000"]

    def default_sigint() -> None:  # as in a shell: the program starts with Ctrl-C at its default action
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=default_sigint)
    try:
        metrics = tmp_path / "c" / "metrics.jsonl"
        deadline = time.monotonic() + 120
        while not (metrics.is_file() and metrics.read_text().count('"train"') >= 3):
            assert time.monotonic() < deadline and process.poll() is None, "training did not start"
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGINT)  # the terminal's Ctrl-C: every process of the group
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "exited unexpectedly" not in err, err[-2000:]
    line = next(x for x in out.splitlines() if x.startswith("interrupted at step "))
    step = int(line.split()[3])
    assert load_checkpoint(tmp_path / "c" / "checkpoints" / "latest.safetensors").progress.step == step
    assert f"continue    i2i train --resume {tmp_path / 'c'}" in out
    assert (tmp_path / "c" / "samples" / f"step_{step:06d}.png").is_file()
