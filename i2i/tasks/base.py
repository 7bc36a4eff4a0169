"""The interface between a training method and the generic training loop.

A task owns its networks, losses and optimizers and knows the order of one optimisation step; the loop
(``i2i.engine``) only moves batches, calls ``train_step``, evaluates, logs and checkpoints.
"""

from __future__ import annotations

import contextlib
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..config import MethodConfig, TrainConfig
from ..data import DataSplits
from ..engine.precision import Precision
from ..errors import ConfigError
from ..models import NetworkSpec
from ..nn import init_weights
from ..registry import Registry

Batch = Mapping[str, Any]


class Task(ABC):
    """A training method. Subclasses set the class attributes and implement the abstract methods."""

    name: ClassVar[str]
    method_config: ClassVar[type[MethodConfig]]
    generators: ClassVar[tuple[str, ...]]  # networks a user runs after training (export, translate)
    # Whether train_step can be captured in a CUDA graph: no host synchronisation (.item(), a branch on a
    # tensor's value) and the same kernels every step. The loop then replays it (engine/graphs.py).
    graph_capturable: ClassVar[bool] = True
    # The range the networks work in: the loop maps uint8 pixels 0..255 linearly onto it, and exported
    # models record it so that inference does the same.
    value_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        self.config, self.device = config, device
        self.precision = precision or Precision("fp32", device)
        self.networks = nn.ModuleDict({k: spec.build() for k, spec in self.network_specs(config).items()}).to(device)
        # What train_step calls. The loop may swap in wrapped modules (torch.compile, DDP); the raw
        # modules in self.networks stay the ones that are saved, so checkpoints never hold wrapper prefixes.
        self.call: dict[str, Callable[..., Any]] = dict(self.networks.items())
        # For networks the loop wrapped in DistributedDataParallel: the wrapper's no_sync(), entered while the
        # network is frozen so that its forward passes prepare no gradient reduction (see ``frozen``).
        self.no_sync: dict[str, Callable[[], contextlib.AbstractContextManager[Any]]] = {}
        self.optimizers = self.build_optimizers()

    # --- what a method declares -------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def default_config(cls) -> TrainConfig:
        """The paper's recipe for this method."""

    @classmethod
    @abstractmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        """Name -> spec of every network this method trains."""

    @classmethod
    @abstractmethod
    def load_data(cls, config: TrainConfig, size_multiple: int, cache_file: Path | None,
                  report: Path | None) -> DataSplits:
        """The checked train / validation datasets for this method."""

    @abstractmethod
    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Name -> optimizer; the loop sets their learning rates from the schedule."""

    @abstractmethod
    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One optimisation step on a device batch; returns detached scalar losses by name."""

    @abstractmethod
    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Validation metrics (scalars, averaged by the loop over batches) on a device batch."""

    @abstractmethod
    def visuals(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Images in [-1, 1] to show side by side, by column title."""

    @staticmethod
    @abstractmethod
    def probe(networks: Mapping[str, nn.Module], batch: Batch) -> None:
        """Run every network on ``batch`` the way ``train_step`` does (a shape check on the meta device)."""

    @classmethod
    @abstractmethod
    def example_batch(cls, config: TrainConfig) -> dict[str, torch.Tensor]:
        """A training batch of the configured size, made with ``torch.empty`` (the caller picks the device)."""

    @classmethod
    @abstractmethod
    def export_inputs(cls, config: TrainConfig, generator: str, limit: int) -> list[np.ndarray]:
        """Up to ``limit`` images of what ``generator`` takes as input, from the run's validation (else training)
        data, as (H, W, C) uint8 arrays: the export checks the ONNX model against PyTorch on them.

        Raises DataError when the data is not readable here (the export then checks on a sample image).
        """

    @classmethod
    def generator_direction(cls, config: TrainConfig, generator: str) -> str:
        """Which way ``generator`` translates ('AtoB', 'BtoA'; '' when that means nothing), for its metadata."""
        return ""

    # --- shared behaviour --------------------------------------------------------------------------
    @classmethod
    def check_config(cls, config: TrainConfig) -> int:
        """Check that the networks accept the configured image size; returns the generator's size multiple.

        Builds the networks on the meta device (no memory, no compute) and runs them on a batch of
        ``crop_size`` images, so a too-small size fails here with a clear message, not mid-epoch.
        """
        size = config.data.crop_size
        with torch.device("meta"), torch.no_grad():
            networks = {k: spec.build() for k, spec in cls.network_specs(config).items()}
            batch = cls.example_batch(config)
            try:
                cls.probe(networks, batch)
            except (RuntimeError, ValueError) as e:  # a kernel larger than its input, a 1x1 batch-norm map
                detail = str(e).splitlines()[0]
                raise ConfigError(f"images of {size}x{size} are too small for --netG {config.model.net_g} / "
                                  f"--netD {config.model.net_d}: {detail}") from None
        return int(getattr(networks[cls.generators[0]], "size_multiple", 1))

    def init_weights(self) -> None:
        """Initialise every network as the config says (new runs only; a resume loads weights)."""
        for net in self.networks.values():
            init_weights(net, self.config.model.init, self.config.model.init_gain)

    def adam(self, *names: str) -> torch.optim.Adam:
        """Adam over the parameters of the named networks, with the configured learning rate and betas.

        The fused kernel (CPU and CUDA) does the reference's fp32 update in one pass over each tensor instead
        of one pass per arithmetic operation; it agrees with the unfused update to the last bit of rounding.
        """
        optim = self.config.optim
        params = list(itertools.chain.from_iterable(self.networks[n].parameters() for n in names))
        fused = self.device.type in ("cpu", "cuda")
        return torch.optim.Adam(params, lr=optim.lr, betas=(optim.beta1, optim.beta2), fused=fused or None)

    @contextmanager
    def frozen(self, *names: str) -> Iterator[None]:
        """Inside the block, the named networks get no gradients (the other network's step).

        Under DDP their forward passes also skip the gradient-reduction bookkeeping: a frozen network's
        parameters receive no gradient, and a reduction prepared for them would never complete.
        """
        with contextlib.ExitStack() as stack:
            stack.enter_context(frozen(*(self.networks[n] for n in names)))
            for name in names:
                if name in self.no_sync:
                    stack.enter_context(self.no_sync[name]())
            yield

    def state_dict(self) -> dict[str, Any]:
        """State beyond networks and optimizers that a resume needs (for example image pools)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027  (optional hook, no state by default)
        """Restore what ``state_dict`` returned."""


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Stop gradients to these modules' parameters inside the block (the other network's step)."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


def backward_step(precision: Precision, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """Zero the optimizer's gradients, backpropagate ``loss`` and step (scaled when fp16)."""
    optimizer.zero_grad(set_to_none=True)
    precision.backward(loss)
    precision.step(optimizer)


def paired_example_batch(config: TrainConfig) -> dict[str, torch.Tensor]:
    """{'A': inputs, 'B': targets} of the configured batch and crop size (pix2pix and CycleGAN batches)."""
    size, batch_size = config.data.crop_size, config.optim.batch_size
    return {"A": torch.empty(batch_size, config.data.input_nc, size, size),
            "B": torch.empty(batch_size, config.data.output_nc, size, size)}


TASKS: Registry[type[Task]] = Registry("task")
