"""The oldest torch i2i works with, stated once: pyproject.toml, `i2i doctor` and the torch entry points agree."""

from __future__ import annotations

import re

from .errors import ConfigError

# torch.onnx.export(dynamo=True) returning an ONNXProgram (export), fused Adam on CPUs (training)
MIN_TORCH = (2, 6)


def version_tuple(version: str) -> tuple[int, ...]:
    """'2.11.0+cu130' -> (2, 11, 0); pre-release tags are ignored."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


def torch_problem(version: str) -> str | None:
    """Why a torch of ``version`` cannot run i2i's training and export (None when it can)."""
    if version_tuple(version)[:2] < MIN_TORCH:
        floor = ".".join(map(str, MIN_TORCH))
        return f"torch {version} is older than {floor}, which i2i needs to train and export"
    return None


def require_torch() -> None:
    """Raise a one-line ConfigError when the installed torch is too old for training and export."""
    import torch

    problem = torch_problem(torch.__version__)
    if problem:
        floor = ".".join(map(str, MIN_TORCH))
        raise ConfigError(f"{problem}: pip install 'torch>={floor}' torchvision (see `i2i doctor`)")
