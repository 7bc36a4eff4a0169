"""Whole-step CUDA graphs: a training step recorded once and replayed, so it costs one launch, not hundreds.

At batch 1 a GAN step is hundreds of small kernels (forward, backward and the optimizer update of two or
four networks) and the GPU mostly waits for the CPU to launch them. A CUDA graph records the kernels of one
step and replays them with one call. What the step must satisfy, and how the loop provides it:
- static inputs: each batch is copied into buffers the graph reads (the last, smaller batch of an epoch
  runs eagerly instead);
- no host synchronisation inside the step: losses stay on the device until the loop logs them, and the
  CycleGAN image pool works with tensor operations;
- optimizers whose step count and learning rate live on the device (``capturable`` Adam with a tensor
  learning rate, updated in place by the schedule);
- the same kernels every step: the first steps run eagerly (on a side stream, as capture requires) so that
  cuDNN's autotuner and every lazy allocation have happened before the capture.
If the capture fails, the loop says so once and continues eagerly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

Step = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]
WARMUP_STEPS = 3


class GraphedStep:
    """Runs ``step`` eagerly for the first steps, then captures it in a CUDA graph and replays that graph.

    ``step`` takes a batch of device tensors and returns its losses as device tensors. The returned losses
    of a replay are the graph's own output buffers: read them (or add them to a sum) before the next call.
    """

    def __init__(self, step: Step, device: torch.device, warmup: int = WARMUP_STEPS,
                 say: Callable[[str], None] = print, before_capture: Callable[[], None] | None = None) -> None:
        """``before_capture`` runs once, right before the capture (make the optimizers capturable there)."""
        self.step, self.device, self.warmup, self.say = step, device, warmup, say
        self.before_capture = before_capture
        self.graph: torch.cuda.CUDAGraph | None = None
        self.inputs: dict[str, torch.Tensor] = {}
        self.outputs: dict[str, torch.Tensor] = {}
        self.shapes: dict[str, tuple[Any, ...]] | None = None
        self.eager_steps = 0  # consecutive eager steps with ``self.shapes``
        self.failed = False
        self.side_stream = torch.cuda.Stream(device)

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def __call__(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        tensors = {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}
        shapes = {k: (tuple(v.shape), v.dtype) for k, v in tensors.items()}
        if self.graph is not None:
            if shapes != self.shapes:
                return self.step(tensors)  # a smaller last batch: eager, on the current stream
            for key, value in tensors.items():
                self.inputs[key].copy_(value, non_blocking=True)
            self.graph.replay()
            return self.outputs
        if shapes != self.shapes:
            self.shapes, self.eager_steps = shapes, 0
        if self.failed or self.eager_steps < self.warmup:
            self.eager_steps += 1
            return self._eager(tensors)
        return self._capture(tensors)

    def _eager(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.failed:
            return self.step(tensors)
        current = torch.cuda.current_stream(self.device)
        self.side_stream.wait_stream(current)
        with torch.cuda.stream(self.side_stream):
            losses = self.step(tensors)
        current.wait_stream(self.side_stream)
        return losses

    def _capture(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Record one step on this batch and replay it (capturing runs nothing by itself)."""
        self.inputs = {k: torch.empty_like(v, device=self.device) for k, v in tensors.items()}
        for key, value in tensors.items():
            self.inputs[key].copy_(value, non_blocking=True)
        if self.before_capture is not None:
            self.before_capture()
        graph = torch.cuda.CUDAGraph()
        try:
            # thread_local: the DataLoader's pin-memory thread may call CUDA while this thread captures
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                outputs = self.step(self.inputs)
        except RuntimeError as e:
            self.failed = True
            detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            self.say(f"note: this training step cannot be captured in a CUDA graph ({detail}); "
                     "continuing without (--no-cuda-graphs silences this)")
            torch.cuda.synchronize(self.device)
            return self.step(tensors)
        self.graph, self.outputs = graph, outputs
        graph.replay()
        return outputs
