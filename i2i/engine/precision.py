"""Numeric precision of a training step: fp32, or autocast to bf16 / fp16 (fp16 with a gradient scaler)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from ..config import PrecisionKind
from ..errors import ConfigError

_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    """Autocast context plus the backward/step calls that apply gradient scaling when it is needed."""

    def __init__(self, kind: PrecisionKind, device: torch.device) -> None:
        if kind not in _DTYPES:
            raise ConfigError(f"unknown precision '{kind}'; choose from fp32, bf16, fp16")
        if kind == "fp16" and device.type != "cuda":
            raise ConfigError("--precision fp16 needs a CUDA device; use bf16 on CPU")
        self.kind, self.device_type, self.dtype = kind, device.type, _DTYPES[kind]
        self.scaler = torch.amp.GradScaler(device.type) if kind == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler:
            self.scaler.step(optimizer)
        else:
            optimizer.step()

    def update(self) -> None:
        """Once per iteration, after every optimizer stepped: adapt the loss scale."""
        if self.scaler:
            self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return self.scaler.state_dict() if self.scaler else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler and state:
            self.scaler.load_state_dict(state)
