#!/usr/bin/env python3
"""Layers whose memory layout decides the speed of a channels-last GPU step: norms, padding, convolution.

Times forward + backward of each layer on the activation shapes of resnet_9blocks' residual blocks (256
channels at 64x64) and the first level of unet_256 (64 channels at 128x128), in fp32 and bf16, with
contiguous (NCHW) and channels-last (NHWC) inputs, and says which layout the output comes back in. A layer
that returns NCHW for an NHWC input costs a transpose there and another one at the next convolution.

    python bench/layers.py                  # on a GPU machine
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class ReducedInstanceNorm(nn.Module):
    """Instance norm from a reduction over H and W and one elementwise pass: keeps a channels-last layout."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        var, mean = torch.var_mean(x32, dim=(2, 3), correction=0, keepdim=True)
        return ((x32 - mean) * torch.rsqrt(var + 1e-5)).to(x.dtype)


def timed(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    """Median milliseconds of forward + backward, and one output."""
    grad = None
    for _ in range(3):
        y = fn(x)
        grad = torch.randn_like(y) if grad is None else grad
        y.backward(grad)
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        y = fn(x)
        y.backward(grad)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), y


def layout(t: torch.Tensor) -> str:
    if t.is_contiguous():
        return "NCHW"
    return "NHWC" if t.is_contiguous(memory_format=torch.channels_last) else "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}; "
          f"forward + backward, median of {args.repeats}\n")
    print(f"{'layer':<34} {'shape':<18} {'dtype':<5} {'in':<5} {'ms':>8} {'out':<5}")
    for batch in args.batches:
        for channels, side in ((256, 64), (64, 128)):
            conv = nn.Conv2d(channels, channels, 3).to(device)
            layers: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
                "InstanceNorm2d (PyTorch)": nn.InstanceNorm2d(channels).to(device),
                "instance norm from var_mean": ReducedInstanceNorm(),
                "BatchNorm2d": nn.BatchNorm2d(channels).to(device),
                "ReflectionPad2d(1)": nn.ReflectionPad2d(1).to(device),
                "F.pad reflect": lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"),
                "conv3x3 (after ReflectionPad2d)": lambda x, conv=conv: conv(F.pad(x, (1, 1, 1, 1), mode="reflect")),
                "conv3x3 padding=1 (zeros)": lambda x, conv=conv: F.conv2d(x, conv.weight, conv.bias, padding=1),
            }
            for dtype in (torch.float32, torch.bfloat16):
                for fmt in (torch.contiguous_format, torch.channels_last):
                    conv.to(memory_format=fmt)
                    x = torch.randn(batch, channels, side, side, device=device, dtype=dtype)
                    x = x.contiguous(memory_format=fmt).requires_grad_(True)  # bf16: a conv's output under autocast
                    for name, layer in layers.items():
                        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                            ms, y = timed(layer, x, args.repeats)
                        shape = f"{batch}x{channels}x{side}x{side}"
                        print(f"{name:<34} {shape:<18} {str(dtype)[6:10]:<5} {layout(x):<5} {ms:>8.3f} "
                              f"{layout(y):<5}", flush=True)


if __name__ == "__main__":
    main()
