"""Typed, frozen configuration. A run's ``TrainConfig`` is saved in every checkpoint and rebuilds its model.

Each field's ``metadata`` gives its help text (and its CLI flag when that is not ``--field-name``), so the
CLI, the YAML config file and the checkpoint all share one description of every option.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union

from .errors import ConfigError, did_you_mean

C = TypeVar("C")

Direction = Literal["AtoB", "BtoA"]
Preprocess = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]
NormKind = Literal["batch", "instance", "none"]
InitKind = Literal["normal", "xavier", "kaiming", "orthogonal"]
LRPolicy = Literal["linear", "step", "cosine"]
PrecisionKind = Literal["fp32", "bf16", "fp16"]
GANMode = Literal["vanilla", "lsgan", "hinge", "wgangp"]


def option(default: Any, help: str, flag: str | None = None, choices: tuple[Any, ...] | None = None,
           metavar: str | None = None, minimum: float | None = None, maximum: float | None = None,
           above: float | None = None, below: float | None = None, resumable: bool = False) -> Any:
    """A dataclass field with the help text (and optional flag name, choices, metavar) the CLI shows.

    ``minimum``/``maximum`` are inclusive bounds, ``above``/``below`` exclusive ones; every config dataclass
    checks them when it is built (``Checked``), so the CLI, a YAML file and the Python API reject the same values.
    ``resumable``: a resume may change the option (where the data is, how long to train, how the run executes),
    because the resumed run still takes the steps it would have taken; every other option defines the run.
    """
    meta = {"help": help, "flag": flag, "choices": choices, "metavar": metavar, "minimum": minimum,
            "maximum": maximum, "above": above, "below": below, "resumable": resumable}
    return field(default=default, metadata=meta)


def flag_of(f: dataclasses.Field[Any]) -> str:
    """The command-line flag of a config field (``--batch-size`` for ``batch_size``, unless set)."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def is_resumable(f: dataclasses.Field[Any]) -> bool:
    """Whether a resume may change field ``f`` (declared with ``option(..., resumable=True)``)."""
    return bool(f.metadata.get("resumable"))


def range_text(f: dataclasses.Field[Any]) -> str | None:
    """'at least 1', 'between 0 and 1 (excluding 1)', ... for a field with bounds; None without."""
    meta = f.metadata
    low = f"at least {meta['minimum']:g}" if meta.get("minimum") is not None else (
        f"above {meta['above']:g}" if meta.get("above") is not None else None)
    high = f"at most {meta['maximum']:g}" if meta.get("maximum") is not None else (
        f"below {meta['below']:g}" if meta.get("below") is not None else None)
    parts = [p for p in (low, high) if p]
    return " and ".join(parts) if parts else None


def out_of_range(f: dataclasses.Field[Any], value: Any) -> bool:
    """Whether ``value`` breaks the bounds declared on field ``f`` (None, for optional fields, never does).

    NaN and infinities break every bound: NaN compares false with everything, so it would pass them all.
    """
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if not math.isfinite(value):
        return True
    meta = f.metadata
    return ((meta.get("minimum") is not None and value < meta["minimum"])
            or (meta.get("maximum") is not None and value > meta["maximum"])
            or (meta.get("above") is not None and value <= meta["above"])
            or (meta.get("below") is not None and value >= meta["below"]))


class Checked:
    """Mixin for config dataclasses: checks every field's declared range when an instance is built."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if out_of_range(f, value):
                bounds = range_text(f)
                if not math.isfinite(value):
                    bounds = "a finite number" + (f", {bounds}" if bounds else "")
                raise ConfigError(f"{flag_of(f)} {value}: must be {bounds}")


@dataclass(frozen=True)
class DataConfig(Checked):
    """Where the images are and how they are prepared."""

    root: str = option("", "dataset folder (paired: train/ with A|B side by side, or A/ and B/; "
                           "unpaired: trainA/ and trainB/)", flag="--data", metavar="FOLDER", resumable=True)
    direction: Direction = option("AtoB", "translate A to B, or B to A")
    input_nc: int = option(3, "channels of the input images (1 grey, 3 RGB)", choices=(1, 3))
    output_nc: int = option(3, "channels of the output images (1 grey, 3 RGB)", choices=(1, 3))
    preprocess: Preprocess = option("resize_and_crop", "how images are scaled and cropped for training")
    load_size: int = option(286, "scale images to this size (width for scale_width) before cropping", minimum=1)
    crop_size: int = option(256, "then crop to this size", minimum=1)
    flip: bool = option(True, "random horizontal flips (the same flip for both halves of a pair)")
    max_dataset_size: int | None = option(None, "use at most this many training images", minimum=1)
    num_workers: int = option(4, "data loading worker processes (0: load in the main process)", minimum=0,
                              resumable=True)
    val_images: int = option(50, "validation images scored after each epoch (0: no validation)", minimum=0)


@dataclass(frozen=True)
class ModelConfig(Checked):
    """Which networks to build, by registered name, and how to initialise them."""

    net_g: str = option("unet_256", "generator: unet_128, unet_256, unet_<size>, resnet_6blocks, resnet_9blocks, "
                                    "resnet_<n>blocks, mobile_resnet_<n>blocks (compact, for CPU inference); "
                                    "super-resolution: srresnet, srresnet_<n>blocks, rrdbnet, rrdbnet_<n>blocks; "
                                    "from noise: dcgan_g", flag="--netG", metavar="NAME")
    net_d: str = option("basic", "discriminator: basic, n_layers, pixel, multiscale; super-resolution: srgan, "
                                 "unet_sn; from noise: dcgan_d (the VAE's encoder: conv_encoder; the classifier: "
                                 "small_cnn)", flag="--netD", metavar="NAME")
    ngf: int = option(64, "generator filters in the first conv layer", minimum=1)
    ndf: int = option(64, "discriminator filters in the first conv layer", minimum=1)
    n_layers_d: int = option(3, "conv layers of the n_layers and multiscale discriminators",
                             flag="--n-layers-d", minimum=1)
    norm: NormKind = option("batch", "normalisation layers")
    dropout: bool = option(True, "dropout (0.5) in the generator")
    init: InitKind = option("normal", "weight initialisation")
    init_gain: float = option(0.02, "scale of the normal, xavier and orthogonal initialisations", above=0)


@dataclass(frozen=True)
class OptimConfig(Checked):
    """Optimiser and learning-rate schedule (the reference recipe by default)."""

    n_epochs: int = option(100, "epochs at the initial learning rate", minimum=0, resumable=True)
    n_epochs_decay: int = option(100, "epochs over which the learning rate then decays", minimum=0, resumable=True)
    batch_size: int = option(1, "images per optimisation step (per process under torchrun)", minimum=1)
    lr: float = option(2e-4, "initial learning rate of Adam", above=0)
    beta1: float = option(0.5, "Adam beta1", minimum=0, below=1)
    beta2: float = option(0.999, "Adam beta2", minimum=0, below=1)
    lr_policy: LRPolicy = option("linear", "learning-rate policy: constant then linear decay, step, cosine")
    lr_decay_epochs: int = option(50, "step policy: multiply the learning rate by 0.1 every this many epochs",
                                 minimum=1)


@dataclass(frozen=True)
class RunConfig(Checked):
    """Where results go and how the run executes; none of this changes what is learned on CPU."""

    out: str = option("runs", "folder that holds the runs", metavar="FOLDER")
    name: str = option("", "run name (default: the data folder's name)", metavar="NAME")
    seed: int = option(0, "random seed (data order, augmentation, initialisation)", minimum=0)
    device: str = option("auto", "cpu, cuda, cuda:N, or auto (cuda when present)", metavar="DEVICE", resumable=True)
    precision: PrecisionKind = option("fp32", "fp32, or autocast to bf16 / fp16 (fp16 with a grad scaler; CUDA)",
                                      resumable=True)
    channels_last: bool = option(True, "channels-last memory format on CUDA, for networks whose layers all keep "
                                         "it (batch norm, zero padding: the U-Net and PatchGAN)", resumable=True)
    compile: bool = option(False, "torch.compile the networks", resumable=True)
    cuda_graphs: bool = option(True, "on CUDA, capture the training step in a CUDA graph and replay it (one launch "
                                     "per step instead of hundreds; fp32/bf16, one process)", resumable=True)
    deterministic: bool = option(False, "deterministic algorithms (slower on CUDA)", resumable=True)
    sync_batch_norm: bool = option(False, "under torchrun on GPUs: batch-norm statistics over every process's "
                                          "batch (SyncBatchNorm)", resumable=True)
    dist_timeout: int = option(600, "under torchrun: seconds a process waits for the others before the job "
                                    "stops with an error", minimum=1, resumable=True)
    max_steps: int | None = option(None, "stop after this many optimisation steps, save and exit", minimum=0,
                                   resumable=True)
    max_minutes: float | None = option(None, "stop after this many minutes of training (this session's), save and "
                                             "exit", above=0, resumable=True)
    save_every_epochs: int = option(5, "keep the weights of every Nth epoch (0: only latest)", minimum=0,
                                    resumable=True)
    save_latest_every_steps: int = option(5000, "also save the latest checkpoint every N steps (0: per epoch)",
                                         minimum=0, resumable=True)
    log_every: int = option(100, "log losses every N steps", minimum=1, resumable=True)
    sample_every: int = option(400, "write a sample grid every N steps (0: per epoch)", minimum=0, resumable=True)
    tensorboard: bool = option(False, "also log to TensorBoard (needs the tensorboard extra)", resumable=True)
    eval_every: int = option(0, "every N epochs, also score FID and KID (and LPIPS, PSNR, SSIM on paired data) on the "
                                "validation images, for the metrics log and the report (0: never)", minimum=0,
                                resumable=True)


@dataclass(frozen=True)
class MethodConfig(Checked):
    """Base class of the options specific to one training method (pix2pix, CycleGAN, ...)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run."""

    task: str
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    method: MethodConfig = field(default_factory=MethodConfig)

    def __post_init__(self) -> None:
        if self.total_epochs < 1:
            raise ConfigError(f"--n-epochs {self.optim.n_epochs} and --n-epochs-decay {self.optim.n_epochs_decay}: "
                              "at least one epoch in all")

    @property
    def total_epochs(self) -> int:
        return self.optim.n_epochs + self.optim.n_epochs_decay


SECTIONS = ("data", "model", "optim", "run", "method")


def to_dict(config: Any) -> dict[str, Any]:
    """A plain nested dict of a config dataclass (JSON and YAML ready)."""
    return dataclasses.asdict(config)


def from_dict(cls: type[C], data: dict[str, Any], where: str = "config") -> C:
    """Build dataclass ``cls`` from a dict, checking every key and value; errors name ``where``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        raise ConfigError(f"{where}: unknown option '{key}'{did_you_mean(key, fields)}")
    values = {}
    for key, value in data.items():
        kind = hints[key]
        if dataclasses.is_dataclass(kind) and isinstance(kind, type):
            values[key] = from_dict(kind, value, f"{where}.{key}")
        else:
            values[key] = coerce(value, kind, f"{where}.{key}")
    return cls(**values)


def replace_fields(config: C, changes: dict[str, Any], where: str = "config") -> C:
    """A copy of ``config`` with some fields changed (values checked like ``from_dict``)."""
    checked = from_dict(type(config), changes, where)  # every section field has a default
    return dataclasses.replace(config, **{k: getattr(checked, k) for k in changes})  # type: ignore[type-var]


def field_choices(cls: type, name: str) -> tuple[Any, ...] | None:
    """The allowed values of a field: its ``choices`` metadata or its Literal type."""
    meta = {f.name: f.metadata for f in dataclasses.fields(cls)}[name]
    if meta.get("choices"):
        return tuple(meta["choices"])
    kind = _strip_optional(typing.get_type_hints(cls)[name])
    return typing.get_args(kind) if typing.get_origin(kind) is Literal else None


def coerce(value: Any, kind: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``kind``, converting strings from the CLI or YAML."""
    if _is_optional(kind):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        kind = _strip_optional(kind)
    origin = typing.get_origin(kind)
    if origin is Literal:
        allowed = typing.get_args(kind)
        if value not in allowed:
            hint = did_you_mean(str(value), [str(a) for a in allowed])
            raise ConfigError(f"{where}: '{value}' is not one of {', '.join(map(str, allowed))}{hint}")
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{where}: expected true or false, got '{value}'")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value))
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got '{value}'") from None
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value))
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got '{value}'") from None
    if kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected text, got {type(value).__name__}")
    raise TypeError(f"{where}: unsupported option type {kind!r}")


def _is_optional(kind: Any) -> bool:
    return typing.get_origin(kind) in (Union, types.UnionType) and type(None) in typing.get_args(kind)


def _strip_optional(kind: Any) -> Any:
    if _is_optional(kind):
        (inner,) = [a for a in typing.get_args(kind) if a is not type(None)]
        return inner
    return kind


def apply_overrides(config: TrainConfig, changes: dict[str, Any], where: str = "config") -> TrainConfig:
    """``config`` with the fields named in a nested dict of sections changed (a YAML file, a resume)."""
    if not isinstance(changes, dict):
        raise ConfigError(f"{where}: expected a mapping of sections ({', '.join(SECTIONS)})")
    unknown = [k for k in changes if k not in (*SECTIONS, "task")]
    if unknown:
        raise ConfigError(f"{where}: unknown section '{unknown[0]}'{did_you_mean(unknown[0], SECTIONS)}")
    if changes.get("task", config.task) != config.task:
        raise ConfigError(f"{where}: is a {changes['task']} config, not {config.task}")
    sections = {name: replace_fields(getattr(config, name), changes[name], f"{where}.{name}")
                for name in SECTIONS if name in changes}
    return dataclasses.replace(config, **sections)
