"""Distillation (GAN Compression, Li et al. 2020): a compact student generator trained to imitate a trained teacher.

The teacher is a generator of an i2i run (pix2pix's G, CycleGAN's G_A or G_B, CUT's G, another student's G),
frozen and run at test time (dropout off, batch norm on each image's statistics, as it exports). The student
sees the teacher's training images and learns from: the L1 distance to the teacher's output (x10), a GAN loss
against the real images of the output domain (LSGAN, x1, its own PatchGAN), the distance between its
intermediate features, mapped by learned 1x1 convolutions (network ``A``), and the teacher's (MSE, x0.01, at the
encoder's output and after a third, two thirds and all of the residual blocks: ResNet teachers), and, when VGG19
weights are given, pix2pixHD's VGG loss to the teacher's output. The defaults are GAN Compression's CycleGAN
recipe (100 + 100 epochs) with ``mobile_resnet_9blocks`` at ngf 16, in batch-norm form (4 images a step) so that
export folds the norms into the convolutions (``i2i export RUN --batch-norm-stats running``).

The run reads its data as the teacher's task does (paired or unpaired layouts); the teacher's run folder (or
checkpoint, recorded by its absolute path) must stay readable to train, resume, score and export the student; the
exported ONNX model stands alone.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import DataConfig, GANMode, MethodConfig, ModelConfig, OptimConfig, TrainConfig, apply_overrides, option
from ..data import VAL_SPLITS, DataSplits
from ..engine.checkpoint import load_checkpoint, resolve_checkpoint
from ..engine.precision import Precision
from ..errors import CheckpointError, ConfigError
from ..losses import GANLoss, PerceptualLoss, gradient_penalty, parse_layers
from ..metrics.paired import psnr, validation_metrics
from ..models import NetworkSpec, spec_for
from ..nn import inference_mode
from ..nn.modes import has_batch_norm
from .base import TASKS, Batch, Comparison, Task, backward_step

# pix2pixHD's VGG loss (GAN Compression's 'vgg' reconstruction loss): relu1_1 ... relu5_1, deeper layers weigh more
VGG_LAYERS = "relu1_1:0.03125,relu2_1:0.0625,relu3_1:0.125,relu4_1:0.25,relu5_1:1"
# teacher data options a student inherits (its data are the teacher's, read the same way)
INHERITED_DATA = ("root", "direction", "input_nc", "output_nc", "preprocess", "load_size", "crop_size", "flip",
                  "max_dataset_size", "val_images")


@dataclass(frozen=True)
class DistillConfig(MethodConfig):
    """Distillation options."""

    teacher: str = option("", "the trained teacher: a run folder or checkpoint (pix2pix, cyclegan, cut, ...); it "
                              "must stay readable while the student trains", metavar="RUN", resumable=True)
    which: str = option("", "the teacher's generator to imitate (default: its first: G, or G_A for cyclegan)",
                        metavar="G")
    gan_mode: GANMode = option("lsgan", "GAN objective of the student against real images of the output domain")
    lambda_gan: float = option(1.0, "weight of the student's GAN loss", minimum=0)
    lambda_l1: float = option(10.0, "weight of the L1 distance to the teacher's output", minimum=0)
    lambda_distill: float | None = option(None, "weight of the feature distillation (MSE between the student's "
                                                "adapted stage features and the teacher's); default: 0.01 when "
                                                "both are ResNet-family generators, 0 otherwise", minimum=0)
    lambda_perceptual: float = option(1.0, "weight of the VGG loss to the teacher's output (only with --vgg-weights)",
                                      minimum=0)
    vgg_weights: str = option("", "torchvision's VGG19 weights file (vgg19-dcbb9e9d.pth): adds pix2pixHD's VGG loss "
                                  "to the teacher's output (none without it)", metavar="FILE", resumable=True)
    lambda_gp: float = option(10.0, "weight of the gradient penalty (wgangp only)", minimum=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.teacher:  # absolute, so the run finds its teacher from any working directory (resume, export)
            object.__setattr__(self, "teacher", str(Path(self.teacher).expanduser().absolute()))


@dataclass(frozen=True)
class Teacher:
    """What a student needs to know of its teacher: its run's config and task, the generator and what it compares."""

    path: Path
    config: TrainConfig
    task: type[Task]
    generator: str
    spec: NetworkSpec
    comparison: Comparison
    step: int


def teacher_of(config: TrainConfig) -> Teacher:
    """The teacher named by a distillation config (its checkpoint's header is read once per file version)."""
    method: DistillConfig = config.method  # type: ignore[assignment]
    if not method.teacher:
        raise ConfigError("--teacher is required: the run folder or checkpoint of the generator to imitate "
                          "(i2i distill TEACHER_RUN ...)")
    path = resolve_checkpoint(method.teacher, "--teacher")
    stat = path.stat()
    return _read_teacher(path.resolve(), stat.st_mtime_ns, stat.st_size, method.which)


@functools.lru_cache(maxsize=8)
def _read_teacher(path: Path, mtime_ns: int, size: int, which: str) -> Teacher:
    from . import config_from_dict, task_class  # the package registers this module: import it when called

    checkpoint = load_checkpoint(path, with_state=False)
    config = config_from_dict(checkpoint.config, str(path))
    task = task_class(config.task)
    found = {c.generator: c for c in task.comparisons(config)}
    if not found:
        raise ConfigError(f"--teacher {path}: a {config.task} run has no generator that translates images")
    which = which or next(iter(found))
    if which not in found:
        raise ConfigError(f"--which {which}: the teacher ({config.task}) has {', '.join(found)}")
    return Teacher(path, config, task, which, checkpoint.specs[which], found[which], checkpoint.progress.step)


def teacher_layout(config: TrainConfig, teacher: Teacher) -> TrainConfig:
    """The teacher's config with the student's data, batch size and seed: how the teacher's task reads the data."""
    t = teacher.config
    optim = dataclasses.replace(t.optim, batch_size=config.optim.batch_size)
    return dataclasses.replace(t, data=config.data, optim=optim, run=dataclasses.replace(t.run, seed=config.run.seed))


def distill_config(teacher: str, changes: dict[str, dict[str, Any]] | None = None) -> TrainConfig:
    """A student's config for ``teacher`` (a run folder or checkpoint): the distill recipe, the teacher's data options
    (folder, direction, channels, sizes), then ``changes`` ({section: {field: value}}, ``method.which`` included)."""
    changes = {section: dict(values) for section, values in (changes or {}).items()}
    method = {**changes.pop("method", {}), "teacher": str(teacher)}
    base = apply_overrides(Distill.default_config(), {"method": method})
    found = teacher_of(base)
    data = {name: getattr(found.config.data, name) for name in INHERITED_DATA}
    config = apply_overrides(base, {"data": data})
    return apply_overrides(config, changes, "command line")


def weights_digest(state: Mapping[str, torch.Tensor]) -> str:
    """A short fingerprint of a network's weights (SHA-256 of its tensors in key order)."""
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        # the raw bytes, whatever the dtype (numpy has no bfloat16)
        digest.update(state[key].detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def stages(net: nn.Module) -> tuple[int, ...] | None:
    """A generator's distillation stages (ResNet family), or None."""
    layers = getattr(net, "stage_layers", None)
    return tuple(layers()) if layers is not None else None


@TASKS.register("distill")
class Distill(Task):
    """A compact student G imitating a teacher generator, with its discriminator D and feature adapters A."""

    name = "distill"
    method_config = DistillConfig
    generators = ("G",)
    inference_stats = "running"  # the student trains with batch norm over 4 images and runs on its averages

    @classmethod
    def default_config(cls) -> TrainConfig:
        model = ModelConfig(net_g="mobile_resnet_9blocks", ngf=16, norm="batch", dropout=False)
        return TrainConfig(task=cls.name, data=DataConfig(), model=model,
                           optim=OptimConfig(n_epochs=100, n_epochs_decay=100, batch_size=4), method=DistillConfig())

    @classmethod
    def distills_features(cls, config: TrainConfig) -> bool:
        """Whether the run matches intermediate features: both generators have stages, unless the weight is 0."""
        method: DistillConfig = config.method  # type: ignore[assignment]
        if method.lambda_distill == 0:
            return False
        teacher = teacher_of(config)
        with torch.device("meta"):
            student, mentor = cls._student_spec(config, teacher).build(), teacher.spec.build()
        if stages(student) is not None and stages(mentor) is not None:
            return True
        if method.lambda_distill is not None:
            bad = config.model.net_g if stages(student) is None else f"the teacher's {teacher.spec.name}"
            raise ConfigError(f"--lambda-distill {method.lambda_distill:g}: {bad} has no stages to match (feature "
                              "distillation pairs ResNet-family generators); set --lambda-distill 0")
        return False

    @classmethod
    def _student_spec(cls, config: TrainConfig, teacher: Teacher) -> NetworkSpec:
        m = config.model
        return spec_for(m.net_g, in_channels=teacher.spec.kwargs.get("in_channels", 3),
                        out_channels=teacher.spec.kwargs.get("out_channels", 3), ngf=m.ngf, norm=m.norm,
                        dropout=m.dropout)

    @classmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        """G (the student: the teacher's channels), D (judges output-domain images) and, when features are
        distilled, A (one 1x1 convolution per stage, from the student's channels to the teacher's)."""
        m, teacher = config.model, teacher_of(config)
        student = cls._student_spec(config, teacher)
        out_channels = int(student.kwargs.get("out_channels", 3))
        specs = {"G": student,
                 "D": spec_for(m.net_d, in_channels=out_channels, ndf=m.ndf, n_layers=m.n_layers_d, norm=m.norm)}
        if cls.distills_features(config):
            with torch.device("meta"):
                nets = (student.build(), teacher.spec.build())
            channels = [[net.layer_channels(i) for i in stages(net)] for net in nets]  # type: ignore[union-attr]
            specs["A"] = spec_for("feature_adapter", student=channels[0], teacher=channels[1])
        return specs

    @classmethod
    def check_config(cls, config: TrainConfig) -> int:
        """The teacher (readable, a translating generator, the same direction and channels, the same value range),
        the VGG loss's settings, and that every network runs on a batch of the configured size; returns the size
        multiple both generators accept."""
        teacher, d = teacher_of(config), config.data
        t = teacher.config.data
        for flag, ours, theirs in (("--direction", d.direction, t.direction), ("--input-nc", d.input_nc, t.input_nc),
                                   ("--output-nc", d.output_nc, t.output_nc)):
            if ours != theirs:
                raise ConfigError(f"{flag} {ours}: the teacher was trained with {flag} {theirs}; a student reads the "
                                  "data as its teacher does (i2i distill sets this from the teacher)")
        if teacher.task.value_range != cls.value_range:
            raise ConfigError(f"--teacher {teacher.path}: a {teacher.config.task} generator works in "
                              f"{teacher.task.value_range}, not in an image translator's {cls.value_range}")
        method: DistillConfig = config.method  # type: ignore[assignment]
        if method.vgg_weights and method.lambda_perceptual > 0:
            parse_layers(VGG_LAYERS)
            if not Path(method.vgg_weights).is_file():
                raise ConfigError(f"--vgg-weights {method.vgg_weights}: no such weights file")
        size = d.crop_size
        with torch.device("meta"), torch.no_grad():
            networks = {k: spec.build() for k, spec in cls.network_specs(config).items()}
            mentor = teacher.spec.build()
            source = torch.empty(config.optim.batch_size, int(teacher.spec.kwargs.get("in_channels", 3)), size, size)
            try:
                cls.probe({**networks, "teacher": mentor}, {"source": source})
            except (RuntimeError, ValueError) as e:
                detail = str(e).splitlines()[0]
                raise ConfigError(f"images of {size}x{size} are too small for the student --netG {config.model.net_g}, "
                                  f"its teacher {teacher.spec.name} or --netD {config.model.net_d}: {detail}") from None
        multiples = [int(getattr(net, "size_multiple", 1)) for net in (networks["G"], mentor)]
        return math.lcm(*multiples)

    @staticmethod
    def probe(networks: Mapping[str, nn.Module], batch: Batch) -> None:
        """Run the student, D, the adapters and the teacher on a probe batch whose ``source`` is the student's input
        (the student's data keys depend on its teacher)."""
        G, teacher = networks["G"], networks["teacher"]
        if "A" in networks:
            fake, features = G(batch["source"], taps=stages(G))
            _, wanted = teacher(batch["source"], taps=stages(teacher))
            for got, want in zip(networks["A"](features), wanted, strict=True):
                if got.shape != want.shape:
                    raise ValueError(f"the student's stage features map to {tuple(got.shape)}, the teacher's are "
                                     f"{tuple(want.shape)}")
        else:
            fake = G(batch["source"])
            teacher(batch["source"])
        networks["D"](fake)

    @classmethod
    def example_batch(cls, config: TrainConfig) -> dict[str, torch.Tensor]:
        teacher = teacher_of(config)
        return teacher.task.example_batch(teacher_layout(config, teacher))

    @classmethod
    def load_data(cls, config: TrainConfig, size_multiple: int, cache_file: Path | None,
                  report: Path | None) -> DataSplits:
        """The teacher's data, read as the teacher's task reads them."""
        teacher = teacher_of(config)
        return teacher.task.load_data(teacher_layout(config, teacher), size_multiple, cache_file, report)

    @classmethod
    def export_inputs(cls, config: TrainConfig, generator: str, limit: int) -> list[np.ndarray]:
        teacher = teacher_of(config)
        return teacher.task.export_inputs(teacher_layout(config, teacher), teacher.generator, limit)

    @classmethod
    def generator_direction(cls, config: TrainConfig, generator: str) -> str:
        """The teacher's generator's; for an exported student scored alone (no teacher named), the data's."""
        if not config.method.teacher:  # type: ignore[attr-defined]
            return config.data.direction
        teacher = teacher_of(config)
        return teacher.task.generator_direction(teacher_layout(config, teacher), teacher.generator)

    @classmethod
    def comparisons(cls, config: TrainConfig) -> tuple[Comparison, ...]:
        """The student is scored as its teacher is: on the same inputs, against the same targets. An exported student
        scored alone (``i2i eval --model``: no teacher named) translates A images and meets the B images of the
        folder: pair by pair when the folder is paired, as a distribution when it holds unpaired domains."""
        if not config.method.teacher:  # type: ignore[attr-defined]
            root = Path(config.data.root)
            unpaired = any((root / f"{split}{domain}").is_dir() for split in ("train", *VAL_SPLITS) for domain in "AB")
            return (Comparison("G", source="A", target="B", paired=not unpaired),)
        return (dataclasses.replace(teacher_of(config).comparison, generator="G"),)

    @classmethod
    def export_card(cls, config: TrainConfig, generator: str) -> dict[str, Any]:
        """The card of an exported student names its teacher (run, task, generator, architecture, step)."""
        try:
            teacher = teacher_of(config)
        except (ConfigError, CheckpointError):
            method: DistillConfig = config.method  # type: ignore[assignment]
            return {"teacher": {"source": method.teacher, "generator": method.which or "the first"}}
        return {"teacher": {"source": str(teacher.path), "task": teacher.config.task, "generator": teacher.generator,
                            "architecture": teacher.spec.name, "ngf": teacher.spec.kwargs.get("ngf"),
                            "step": teacher.step}}

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        super().__init__(config, device, precision)
        self.method: DistillConfig = config.method  # type: ignore[assignment]
        self.source, self.target = self.comparisons(config)[0].source, self.comparisons(config)[0].target
        info = teacher_of(config)
        checkpoint = load_checkpoint(info.path, with_state=False)
        self.teacher = checkpoint.build(info.generator).to(device).requires_grad_(False)
        self.teacher_identity = {"step": info.step, "weights": weights_digest(checkpoint.weights[info.generator])}
        self.teacher_stats = info.task.inference_stats
        self.teacher_per_image = self.teacher_stats == "batch" and has_batch_norm(self.teacher)
        self.distilled = "A" in self.networks
        self.student_stages = stages(self.networks["G"]) if self.distilled else ()
        self.teacher_stages = stages(self.teacher) if self.distilled else ()
        self.gan = GANLoss(self.method.gan_mode)
        self.perceptual: PerceptualLoss | None = None
        if self.method.vgg_weights and self.method.lambda_perceptual > 0:
            self.perceptual = PerceptualLoss(parse_layers(VGG_LAYERS), self.method.vgg_weights).to(device)

    def notes(self) -> list[str]:
        teacher = teacher_of(self.config)
        losses = [f"L1 x{self.method.lambda_l1:g}", f"GAN x{self.method.lambda_gan:g}"]
        if self.distilled:
            losses.append(f"features x{self.lambda_distill:g} at {len(self.student_stages)} stages")
        if self.perceptual is not None:
            losses.append(f"VGG x{self.method.lambda_perceptual:g}")
        lines = [f"imitating {teacher.config.task}'s {teacher.generator} ({teacher.spec.name}, step {teacher.step}) "
                 f"from {teacher.path}: {', '.join(losses)}"]
        if self.config.model.norm == "batch":
            lines.append("the student uses batch norm: it validates and exports (by default) on its running "
                         "statistics, which ONNX Runtime folds into the convolutions")
        return lines

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam(*(n for n in ("G", "A") if n in self.networks)), "D": self.adam("D")}

    @property
    def lambda_distill(self) -> float:
        return self.method.lambda_distill if self.method.lambda_distill is not None else 0.01

    @torch.no_grad()
    def teach(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The teacher's output (and stage features when distilled) as it runs at test time and exports: a batch-norm
        teacher on batch statistics sees one image at a time (each image's own), not the student's batch."""
        if self.teacher_per_image and images.shape[0] > 1:
            parts = [self.teach(image[None]) for image in images]
            return (torch.cat([out for out, _ in parts]),
                    [torch.cat(stage) for stage in zip(*(features for _, features in parts), strict=True)])
        with inference_mode(self.teacher, self.teacher_stats), self.precision.autocast():
            if self.distilled:
                out, features = self.teacher(images, taps=self.teacher_stages)
                return out.float(), features
            return self.teacher(images).float(), []

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real, target = batch[self.source], batch[self.target]
        G, D, m = self.call["G"], self.call["D"], self.method
        wanted, wanted_features = self.teach(real)
        with self.precision.autocast():
            if self.distilled:
                fake, features = G(real, taps=self.student_stages)
            else:
                fake, features = G(real), []

        # 1. D: real images of the output domain against the student's
        with self.precision.autocast():
            pred_real, pred_fake = D(target), D(fake.detach())
        loss_d = self.gan.d_loss(pred_real, pred_fake)
        if self.gan.needs_gradient_penalty:
            loss_d = loss_d + gradient_penalty(D, target, fake, m.lambda_gp)
        backward_step(self.precision, self.optimizers["D"], loss_d)

        # 2. G (and A): fool D, match the teacher's output and, through the adapters, its features
        with self.frozen("D"), self.precision.autocast():
            pred = D(fake)
        losses = {"G_GAN": self.gan.g_loss(pred) * m.lambda_gan, "L1": F.l1_loss(fake.float(), wanted) * m.lambda_l1}
        if self.distilled:
            with self.precision.autocast():
                mapped = self.call["A"](features)
            losses["distill"] = self.lambda_distill * torch.stack(
                [F.mse_loss(s.float(), t.float()) for s, t in zip(mapped, wanted_features, strict=True)]).sum()
        if self.perceptual is not None:
            losses["VGG"] = self.perceptual((fake.float() + 1) / 2, (wanted + 1) / 2) * m.lambda_perceptual
        backward_step(self.precision, self.optimizers["G"], sum(losses.values()))
        losses["D"] = loss_d
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def translate(self, images: torch.Tensor) -> torch.Tensor:
        """The student at test time: dropout off, batch norm on running statistics (how it exports folded)."""
        with inference_mode(self.networks["G"], self.inference_stats), self.precision.autocast():
            return self.call["G"](images).float()

    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        """How close the student comes to its teacher (L1, PSNR), and to the targets when the data are paired."""
        real = batch[self.source]
        student, teacher = self.translate(real), self.teach(real)[0]
        values = {"L1_teacher": F.l1_loss(student, teacher),
                  "PSNR_teacher": psnr(((student + 1) / 2).clamp(0, 1), ((teacher + 1) / 2).clamp(0, 1)).mean()}
        if self.comparisons(self.config)[0].paired:
            values.update(validation_metrics(student, batch[self.target]))
        return values

    def visuals(self, batch: Batch) -> dict[str, torch.Tensor]:
        real = batch[self.source]
        return {"input": real, "student": self.translate(real), "teacher": self.teach(real)[0],
                "real (output domain)": batch[self.target]}

    def state_dict(self) -> dict[str, Any]:
        """The teacher's identity, so that a resume notices a teacher that changed (trained on, replaced)."""
        return {"teacher": dict(self.teacher_identity)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = state.get("teacher")
        if saved is not None and saved != self.teacher_identity:
            raise CheckpointError(f"--teacher {self.method.teacher}: the teacher changed since this student started "
                                  f"(step {saved['step']}, weights {saved['weights']}; now step "
                                  f"{self.teacher_identity['step']}, weights {self.teacher_identity['weights']}); "
                                  "resuming would distil from another model: point --teacher at the original "
                                  "checkpoint, or start a new run")
