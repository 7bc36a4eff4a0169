"""Multiply-accumulate counts of convolutional networks, for comparing architectures' inference cost."""

from __future__ import annotations

import torch
from torch import nn


def count_macs(net: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of the Conv2d and ConvTranspose2d layers in one forward pass on ``input_shape`` (N, C, H, W).

    Counted with forward hooks from the actual output shapes, so padding, strides and groups are exact; norms,
    activations, padding and bias additions are left out (they are a small, memory-bound share of the work).
    The input goes on the device of ``net``'s parameters, so a network built on the meta device is counted
    without memory or compute.
    """
    total = 0

    def conv(module: nn.Conv2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total  # each output value takes (in_channels / groups) * kh * kw multiply-adds
        total += output.numel() * (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]

    def transposed(module: nn.ConvTranspose2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total  # each input value is scattered to (out_channels / groups) * kh * kw outputs
        kh, kw = module.kernel_size
        total += inputs[0].numel() * (module.out_channels // module.groups) * kh * kw

    hooks = [m.register_forward_hook(transposed if isinstance(m, nn.ConvTranspose2d) else conv)  # type: ignore[arg-type]
             for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    device = next((p.device for p in net.parameters()), torch.device("cpu"))
    was_training = net.training
    try:
        with torch.no_grad():
            net.eval()(torch.zeros(input_shape, device=device))
    finally:
        net.train(was_training)
        for hook in hooks:
            hook.remove()
    return total
