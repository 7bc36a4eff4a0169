"""Turning a generator into an ONNX model that runs like the reference does at test time.

pix2pix's reference test mode keeps batch norm in training mode with one image per batch, so each image is
normalised by its own statistics (and dropout is on, making outputs random). The exported graph keeps the
per-image statistics by default, as InstanceNormalization with the batch norm's scale and shift, and drops
dropout, so the output is deterministic: the reference's output without its dropout noise. With
``batch_norm_stats='running'`` it uses the running averages instead (the usual eval mode; ONNX Runtime then
folds batch norm into the convolutions).

The file is a plain image -> image graph (one input, one output) that any ONNX runtime loads without warnings;
the per-image statistics inside it carry names, which is all i2i needs to share them across tiles.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from ..fileio import atomic_path
from ..images import round_up
from ..infer.model import ModelInfo, OnnxModel, statistics_inputs, to_model_range
from ..nn.modes import BatchNormStats

OPSET = 18
MAX_SIDE = 16384  # largest height or width the exported graph accepts


class PerImageStatistics(nn.Module):
    """``(N, C, H, W) -> (mean, var)``, each ``(N, C)``: the statistics a per-image norm layer normalises with.

    A module of its own so that the export can hand its outputs out of the graph (see ``WithStatistics``).
    """

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # rows, then columns: two short sums keep fp32 rounding small where one 65536-term sum would not
        mean = x.mean(dim=3).mean(dim=2)
        var = (x - mean[:, :, None, None]).square().mean(dim=3).mean(dim=2)
        return mean, var


class TileableNorm(nn.Module):
    """Per-image normalisation whose statistics the exported graph names, so that they can be replaced.

    It replaces instance norm and, in the reference's test mode, batch norm (normalising each image by its
    own statistics, with batch norm's scale and shift). The export names each layer's mean and variance
    (``normK_mean``, ``normK_var``); i2i's runtime replaces them with the statistics of the whole image when
    it translates a large image in tiles, instead of each tile normalising itself (which changes the tone from
    tile to tile). The layer keeps no state between calls.
    """

    def __init__(self, num_features: int, weight: torch.Tensor | None, bias: torch.Tensor | None,
                 eps: float) -> None:
        super().__init__()
        self.num_features, self.eps = num_features, eps
        self.weight = nn.Parameter(weight.detach().clone()) if weight is not None else None
        self.bias = nn.Parameter(bias.detach().clone()) if bias is not None else None
        self.statistics = PerImageStatistics()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, var = self.statistics(x)
        y = (x - mean[:, :, None, None]) * torch.rsqrt(var[:, :, None, None] + self.eps)
        if self.weight is not None:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y


class WithStatistics(nn.Module):
    """``image -> (output, mean_0, var_0, mean_1, ...)``: a net with the statistics of its TileableNorms as outputs.

    Only the export uses it, to give those tensors their names; the statistics are caught by forward hooks
    that live for one call, so no module is changed by running it.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.norms = [m for m in net.modules() if isinstance(m, TileableNorm)]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        found: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

        def keeper(index: int) -> Any:
            return lambda _module, _args, output: found.__setitem__(index, output)

        hooks = [norm.statistics.register_forward_hook(keeper(i)) for i, norm in enumerate(self.norms)]
        try:
            y = self.net(x)
        finally:
            for hook in hooks:
                hook.remove()
        return (y, *[t for i in range(len(self.norms)) for t in found[i]])


def inference_network(net: nn.Module, batch_norm_stats: BatchNormStats = "batch") -> nn.Module:
    """A copy of ``net`` for inference: dropout off; per-image norms made tileable (see TileableNorm).

    ``batch``: batch norm on each image's statistics (the reference's test mode); ``running``: batch norm on
    its running averages (eval mode). Instance norm is per-image either way.
    """
    net = copy.deepcopy(net).float().eval()
    for module in list(net.modules()):
        for child_name, child in list(module.named_children()):
            per_image = isinstance(child, nn.InstanceNorm2d) and not child.track_running_stats
            per_image |= isinstance(child, nn.modules.batchnorm._BatchNorm) and batch_norm_stats == "batch"
            if per_image:
                affine = child.affine
                norm = TileableNorm(child.num_features, child.weight if affine else None,
                                    child.bias if affine else None, child.eps)
                setattr(module, child_name, norm)
    return net


def export_onnx(net: nn.Module, info: ModelInfo, path: Path, opset: int = OPSET) -> None:
    """Export a test-time network with dynamic batch, height and width (multiples of ``info.size_multiple``).

    The graph has one input (``input``) and one output (``output``), so any ONNX runtime can run it as it is.
    Inside it, the statistics of each per-image norm layer are named ``normK_mean`` / ``normK_var`` (see
    ``statistics_inputs``; their number is the ``norm_layers`` metadata): i2i's runtime exposes them to share
    one image's statistics across its tiles (``OnnxModel.statistics``). The file is self-contained, carries
    ``info`` as metadata, passes ``onnx.checker`` and is written atomically.
    """
    m = info.size_multiple
    # Trace at twice the size multiple (and batch 2): a dimension of size 1 anywhere in the graph would be
    # fixed to 1 in the export (the U-Net's bottleneck is 1x1 at its own size multiple).
    side = max(2 * m, 64)
    low, high = info.range
    example = torch.rand(2, info.in_channels, side, side) * (high - low) + low
    batch = torch.export.Dim("batch", min=1, max=1024)
    rows, cols = (torch.export.Dim(n, min=1, max=MAX_SIDE // m) for n in ("rows", "cols"))
    image_shape = {0: batch, 2: rows * m if m > 1 else rows, 3: cols * m if m > 1 else cols}
    with_statistics = WithStatistics(net).eval()
    names = statistics_inputs(len(with_statistics.norms))
    module = with_statistics if names else net
    # verbose=False: no progress lines; warnings (the exporter's, the network's) reach the caller unfiltered
    program = torch.onnx.export(module, (example,), None, dynamo=True, opset_version=opset, input_names=["input"],
                                output_names=["output", *names], dynamic_shapes=(image_shape,), verbose=False)
    model = program.model_proto
    # The statistics leave the outputs but keep their names (and types) inside the graph.
    kept = list(model.graph.output[1:])
    del model.graph.output[1:]
    model.graph.value_info.extend(kept)
    consumed = {name for node in model.graph.node for name in node.input}
    unused = [name for name in names if name not in consumed]
    if unused:  # the exporter copied a statistic instead of naming the tensor the layer uses
        raise RuntimeError(f"the exported graph does not use its tensor {unused[0]}")
    write_onnx(model, replace(info, norm_layers=len(with_statistics.norms)), path)


def write_onnx(model: onnx.ModelProto, info: ModelInfo, path: Path) -> None:
    """Set the i2i metadata on ``model``, check it and save it atomically to ``path``."""
    del model.metadata_props[:]
    for key, value in info.to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))


def model_input(image: np.ndarray, info: ModelInfo) -> np.ndarray:
    """A (1, C, S, S) float32 model input (in the model's value range) from an (H, W, C) uint8 image, resized to
    the training size."""
    import cv2

    side = max(info.size_multiple, round_up(info.train_size, info.size_multiple))
    image = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA).reshape(side, side, -1)
    if image.shape[2] == 3 and info.in_channels == 1:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
    elif image.shape[2] == 1 and info.in_channels == 3:
        image = np.repeat(image, 3, axis=2)
    return to_model_range(image.transpose(2, 0, 1)[None], info.range)


@torch.no_grad()
def torch_output(net: nn.Module, inputs: np.ndarray) -> np.ndarray:
    """A test-time network's output for ``inputs``, measuring its own statistics (as the ONNX defaults do)."""
    return net(torch.from_numpy(inputs)).numpy()


def parity(model: OnnxModel, inputs: np.ndarray, got: np.ndarray, expected: np.ndarray) -> float:
    """Largest absolute difference between ONNX Runtime's output ``got`` and PyTorch's ``expected`` on ``inputs``.

    For tileable models the given-statistics path is checked too: each image run with the statistics it
    measured itself must give the same output.
    """
    error = float(np.abs(got - expected).max())
    if model.norm_inputs:
        for one, want in zip(inputs, expected, strict=True):
            stats = model.statistics(one[None])
            error = max(error, float(np.abs(model(one[None], stats)[0] - want).max()))
    return error


@torch.no_grad()
def float64_errors(net: nn.Module, inputs: np.ndarray, got: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """Max abs error of ONNX Runtime's ``got`` and PyTorch fp32's ``expected`` against ``net`` run in float64.

    Separates a faulty export from an ill-conditioned network (per-image norms over nearly constant channels
    amplify fp32 rounding): in the latter case PyTorch's own fp32 result is as far from exact as ONNX's.
    """
    exact = copy.deepcopy(net).double()(torch.from_numpy(inputs).double()).numpy()
    return float(np.abs(got - exact).max()), float(np.abs(expected - exact).max())


def to_fp16(source: Path, info: ModelInfo, path: Path) -> None:
    """A half-precision copy (weights and compute in fp16; float32 input and output), for GPUs."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    topological_sort(model.graph)  # the converter appends its input casts after the nodes that use them
    write_onnx(model, info, path)


def topological_sort(graph: onnx.GraphProto) -> None:
    """Reorder ``graph``'s nodes so each comes after the nodes producing its inputs (ONNX requires it)."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        runnable = [n for n in pending if all(i in ready for i in n.input)]
        if not runnable:
            raise ValueError("the ONNX graph has a cycle or an undefined input")
        for node in runnable:
            ready.update(node.output)
        ordered += runnable
        done = {id(n) for n in runnable}
        pending = [n for n in pending if id(n) not in done]
    del graph.node[:]
    graph.node.extend(ordered)
