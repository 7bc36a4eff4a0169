"""Choosing the training device and setting the backend flags a run needs, restoring them afterwards."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from ..errors import ConfigError

# cuBLAS is deterministic only with a fixed workspace (PyTorch's "Reproducibility" notes).
CUBLAS_DETERMINISTIC = ":4096:8"


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> CUDA when present, else CPU; anything else must exist here.

    Under torchrun, 'auto' and 'cuda' mean the GPU of this process's local rank.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device {name}: not a device (cpu, cuda, cuda:N, auto)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA device is available here (see `i2i doctor`)")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    if device.type == "cuda" and device.index >= torch.cuda.device_count():
        raise ConfigError(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices here, "
                          f"and this process needs number {device.index}")
    return device


@contextlib.contextmanager
def backend_settings(device: torch.device, deterministic: bool) -> Iterator[None]:
    """Inside the block: deterministic algorithms, or cuDNN's autotuner on CUDA; the caller's flags after it.

    The autotuner pays because crops have a fixed size: it picks the fastest convolution algorithms once.
    """
    saved = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    saved_env = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    saved_device = torch.cuda.current_device() if device.type == "cuda" else None
    try:
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC)
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = False, True
        elif device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        if device.type == "cuda":
            torch.cuda.set_device(device)
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2], saved[3]
        if saved_device is not None:
            torch.cuda.set_device(saved_device)
        if saved_env is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = saved_env
