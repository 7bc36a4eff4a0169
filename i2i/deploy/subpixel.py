"""Stride-2 transposed convolutions rewritten as one ordinary convolution and a pixel shuffle.

ONNX Runtime's static quantization leaves ConvTranspose in float, and the decoders of the U-Net and ResNet
generators spend most of their time there, so an int8 export of the original graph is no faster than fp32.
The same operator written as a convolution producing the four output phases (sub-pixel convolution) is
quantized like every other Conv. The rewrite is exact up to float rounding.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

PHASES = (0, 1)


class SubpixelConvTranspose(nn.Module):
    """``ConvTranspose2d`` with stride 2 (output twice the input size) as conv -> per-phase crops -> pixel shuffle.

    Output row ``2m + a`` (phase ``a``) reads input rows ``m + off`` through kernel tap ``a + padding - 2 off``;
    one convolution with ``4 * out_channels`` filters computes every phase over a shared window, and each
    phase keeps its own offset of that window.
    """

    def __init__(self, layer: nn.ConvTranspose2d) -> None:
        super().__init__()
        if not rewritable(layer):
            raise ValueError(f"cannot rewrite {layer} as a sub-pixel convolution")
        k, p = layer.kernel_size[0], layer.padding[0]
        weight = layer.weight.detach()  # [in, out, k, k]
        in_channels, out_channels = weight.shape[:2]
        offsets = {a: [off for off in range(-k, k + 1) if 0 <= a + p - 2 * off < k] for a in PHASES}
        first = {a: min(offsets[a]) for a in PHASES}
        self.taps = max(len(offsets[a]) for a in PHASES)
        self.pad_before = -min(first.values())
        self.starts = {a: first[a] + self.pad_before for a in PHASES}
        kernel = weight.new_zeros(4 * out_channels, in_channels, self.taps, self.taps)
        for a in PHASES:
            for b in PHASES:
                rows = slice((2 * a + b) * out_channels, (2 * a + b + 1) * out_channels)
                for j in range(self.taps):
                    for i in range(self.taps):
                        kh, kw = a + p - 2 * (first[a] + j), b + p - 2 * (first[b] + i)
                        if 0 <= kh < k and 0 <= kw < k:
                            kernel[rows, :, j, i] = weight[:, :, kh, kw].T
        self.weight = nn.Parameter(kernel)
        self.bias = nn.Parameter(layer.bias.detach().repeat(4)) if layer.bias is not None else None
        self.out_channels = out_channels
        # channel phase * out + c (phase-major, as the crops are concatenated) -> 4 c + phase (pixel_shuffle's order)
        order = [phase * out_channels + c for c in range(out_channels) for phase in range(4)]
        self.register_buffer("order", torch.tensor(order), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[2], x.shape[3]
        before, after = self.pad_before, self.pad_before + self.taps
        y = F.conv2d(F.pad(x, (before, after, before, after)), self.weight, self.bias)
        c = self.out_channels
        phases = [y[:, (2 * a + b) * c:(2 * a + b + 1) * c, self.starts[a]:self.starts[a] + height,
                    self.starts[b]:self.starts[b] + width] for a in PHASES for b in PHASES]
        # (pixel_shuffle rather than a reshape with an explicit batch size: the batch dimension stays dynamic)
        return F.pixel_shuffle(torch.cat(phases, dim=1).index_select(1, self.order), 2)


def rewritable(layer: nn.Module) -> bool:
    """True for a square, ungrouped, undilated stride-2 ConvTranspose2d whose output is exactly twice its input."""
    if not isinstance(layer, nn.ConvTranspose2d):
        return False
    k, p, op = layer.kernel_size[0], layer.padding[0], layer.output_padding[0]
    square = (layer.kernel_size[1], layer.padding[1], layer.output_padding[1]) == (k, p, op)
    doubles = k + op - 2 * p == 2  # H_out = 2 (H - 1) - 2p + k + op = 2 H
    return (square and doubles and layer.stride == (2, 2) and layer.dilation == (1, 1) and layer.groups == 1
            and layer.padding_mode == "zeros")


def with_subpixel_upsampling(net: nn.Module) -> nn.Module:
    """A copy of ``net`` with every rewritable ConvTranspose2d replaced by its sub-pixel equivalent."""
    net = copy.deepcopy(net)
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if rewritable(child):
                setattr(module, name, SubpixelConvTranspose(child))
    return net
