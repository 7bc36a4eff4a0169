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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..config import MethodConfig, TrainConfig, apply_overrides
from ..data import DataSplits
from ..engine.precision import Precision
from ..errors import ConfigError
from ..metrics.comparison import Comparison
from ..models import NetworkSpec
from ..nn import init_weights
from ..nn.modes import BatchNormStats
from ..registry import Registry

Batch = Mapping[str, Any]
# The shared options only image-to-image translation uses (paired layouts, preprocess modes, the U-Net's norms)
TRANSLATION_OPTIONS = frozenset({"data.direction", "data.input_nc", "data.output_nc", "data.preprocess",
                                 "data.load_size", "data.crop_size", "model.n_layers_d", "model.norm", "model.dropout"})


@dataclass
class EvalData:
    """The images ``i2i eval`` scores for a task whose data are not the A/B layouts (``Task.eval_data``).

    ``dataset[i]`` holds the comparisons' ``source`` and ``target`` batch keys as uint8 (C, H, W) tensors, made as
    the task's validation makes them; ``files[i]`` is the file item i comes from (named in errors, checked against
    --max-pixels, hashed for the feature cache, with ``recipe`` saying how items are made from it).
    """

    dataset: Any
    files: list[Path]
    split: str
    recipe: dict[str, Any]


@dataclass
class ExportPlan:
    """How a network that is not image-to-image exports and runs: from noise, or to latent statistics.

    ``module`` is what is traced (and what a run's checkpoint runs in ``i2i sample``), called with ``example``;
    its outputs are ``output_names``. The first input's batch dimension is dynamic. ``metadata`` goes into the
    ONNX file as ``i2i.*`` entries (kind, latent size, class names as JSON, image size, channels, value range).
    """

    module: nn.Module
    example: tuple[torch.Tensor, ...]
    input_names: list[str]
    output_names: list[str]
    metadata: dict[str, str] = field(default_factory=dict)


class Task(ABC):
    """A training method. Subclasses set the class attributes and implement the abstract methods."""

    name: ClassVar[str]
    method_config: ClassVar[type[MethodConfig]]
    generators: ClassVar[tuple[str, ...]]  # networks a user runs after training (export, translate)
    # Opt-in: whether train_step can be captured in a CUDA graph, which the loop then replays (engine/graphs.py).
    # Set it only for a step checked on a GPU to train like the eager one (tests/test_gpu.py): no host
    # synchronisation (.item(), a branch on a tensor's value), the same kernels every step, state on the device.
    graph_capturable: ClassVar[bool] = False
    # The range the networks work in: the loop maps uint8 pixels 0..255 linearly onto it, and exported
    # models record it so that inference does the same.
    value_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    # Options of the shared sections ("data.load_size", ...) this method does not use: the CLI leaves them out of
    # its help for it and refuses them on its command line.
    unused_options: ClassVar[frozenset[str]] = frozenset()
    # Images per validation batch: 1 for translation (batch norm on each image's own statistics, as at test
    # time, and images of their own sizes); methods that evaluate in eval mode validate in larger batches.
    validation_batch_size: ClassVar[int] = 1
    # How its generators' batch norms run at test time (validation, export's default, a distillation student's
    # teacher): "batch", each image's own statistics (the reference pix2pix's test mode), or "running" averages.
    inference_stats: ClassVar[BatchNormStats] = "batch"
    # Name prefixes of the generator architectures whose published weights (`i2i models import`) this task
    # trained: an imported file is recorded as this task's model unless --task says otherwise.
    imports_architectures: ClassVar[tuple[str, ...]] = ()

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

    @classmethod
    def comparisons(cls, config: TrainConfig) -> tuple[Comparison, ...]:
        """What ``i2i eval`` and ``--eval-every`` score: each generator's outputs on the batch's ``source`` images
        against the batch's ``target`` images (none by default: the method is not scored that way)."""
        return ()

    @classmethod
    def eval_data(cls, config: TrainConfig, split: str | None, size_multiple: int) -> EvalData | None:
        """The images ``i2i eval`` scores on ``split`` (None: what the run validates on) when this task's data
        are not the paired or unpaired A/B layouts, which ``i2i.metrics`` finds itself (None, the default)."""
        return None

    @classmethod
    def config_for_model(cls, data_root: str, info: Any, direction: str, size: int | None) -> TrainConfig:
        """The config under which ``i2i eval --model`` prepares a data folder for an exported model of this task
        (``info``: its ``ModelInfo``): by default images resized to ``size`` (else the model's training size), as
        the reference test script does, translated ``direction``."""
        side = size or info.train_size
        return apply_overrides(cls.default_config(), {"data": {
            "root": data_root, "direction": direction, "input_nc": info.in_channels, "output_nc": info.out_channels,
            "preprocess": "resize_and_crop", "load_size": side, "crop_size": side}}, "--data")

    @classmethod
    def export_plan(cls, config: TrainConfig, generator: str, net: nn.Module) -> ExportPlan | None:
        """For a network that does not map an image to an image, how it exports; None (the default) means it
        does, and the image-to-image export (size multiples, tiling, parity on real images) applies."""
        return None

    @classmethod
    def export_card(cls, config: TrainConfig, generator: str) -> dict[str, Any]:
        """Fields the model card of an exported ``generator`` records besides the standard ones (where it came from,
        what it is, how it was checked): a distilled student's teacher. None by default (an empty dict)."""
        return {}

    @classmethod
    def loader_batch_size(cls, config: TrainConfig) -> int:
        """Items the data loader puts in one batch for one ``train_step`` (a WGAN critic takes several batches)."""
        return config.optim.batch_size

    def evaluate_set(self, dataset: Any) -> dict[str, float]:
        """Validation metrics of the whole validation set at once (set-level scores such as a sample FID), added
        to the per-batch averages of ``evaluate``; none by default."""
        return {}

    def notes(self) -> list[str]:
        """Lines the loop prints when the run starts: choices the task made for the user (a recipe it applied)."""
        return []

    @torch.no_grad()
    def preview_columns(self, preview: Batch) -> dict[str, torch.Tensor]:
        """The sample grid's columns (images in [-1, 1]) for the preview batch.

        By default each preview item goes through ``visuals`` alone (batch norm then uses that image's own
        statistics, as at test time) and the rows are stacked; methods that sample from noise draw their grid
        from a fixed noise instead.
        """
        count = len(next(v for v in preview.values() if isinstance(v, torch.Tensor)))
        rows = [self.visuals({k: v[i : i + 1] for k, v in preview.items()}) for i in range(count)]
        return {key: torch.cat([row[key] for row in rows]) for key in rows[0]}

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
        first = networks[cls.generators[0]] if cls.generators else None
        return int(getattr(first, "size_multiple", 1))

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


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Inside the block the modules are in eval mode (batch norm on running statistics, no dropout); their
    modes are restored after it."""
    modes = [(m, m.training) for module in modules for m in module.modules()]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def paired_example_batch(config: TrainConfig) -> dict[str, torch.Tensor]:
    """{'A': inputs, 'B': targets} of the configured batch and crop size (pix2pix and CycleGAN batches)."""
    size, batch_size = config.data.crop_size, config.optim.batch_size
    return {"A": torch.empty(batch_size, config.data.input_nc, size, size),
            "B": torch.empty(batch_size, config.data.output_nc, size, size)}


TASKS: Registry[type[Task]] = Registry("task")
