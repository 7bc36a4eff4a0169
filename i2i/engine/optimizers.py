"""Optimizer plumbing the loop needs: device-side settings for CUDA graphs, portable state, memory layouts."""

from __future__ import annotations

from typing import Any

import torch


def make_capturable(optimizers: dict[str, torch.optim.Optimizer], device: torch.device) -> None:
    """Keep each optimizer's step count and learning rate on ``device``, so ``step()`` can be captured."""
    for optimizer in optimizers.values():
        for group in optimizer.param_groups:
            group["capturable"] = True
            if not isinstance(group["lr"], torch.Tensor):
                group["lr"] = torch.tensor(float(group["lr"]), dtype=torch.float32, device=device)
        # The occasional eager step (a smaller last batch) is intended: no warning about running uncaptured.
        optimizer._warned_capturable_if_run_uncaptured = True  # type: ignore[attr-defined]


def portable_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer's state dict without execution details (a float learning rate, not capturable).

    A checkpoint then resumes the same way with or without CUDA graphs, on any device.
    """
    state = optimizer.state_dict()
    groups = []
    for group in state["param_groups"]:
        group = dict(group)
        if isinstance(group.get("lr"), torch.Tensor):
            group["lr"] = float(group["lr"])
        if "capturable" in group:
            group["capturable"] = False
        groups.append(group)
    return {"state": state["state"], "param_groups": groups}


def match_parameter_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor (Adam's moments) its parameter's memory layout.

    A checkpoint stores tensors contiguous; parameters on CUDA are channels-last, and the fused Adam kernel
    refuses moments whose strides differ from their parameter's.
    """
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)

