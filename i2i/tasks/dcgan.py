"""DCGAN (Radford et al. 2016) and its objectives: a generator from noise against a discriminator or critic.

One step: the discriminator (or critic) is updated on real images against generated ones, ``n_critic`` times,
each on its own real batch; then the generator is updated to fool it. Objectives (``--gan-mode``): ``vanilla``
with the non-saturating generator loss (maximise log D(G(z)), the DCGAN paper's), ``lsgan``, ``hinge``,
``wgan`` (Arjovsky et al.: a critic without sigmoid, weights clipped to [-clip, clip], RMSprop 5e-5, 5 critic
steps) and ``wgangp`` (Gulrajani et al.: gradient penalty 10, Adam 1e-4 with betas (0, 0.9), 5 critic steps, no
batch norm in the critic). With ``--conditional`` the label of every image conditions both networks, and the
samples are drawn per class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..config import DataConfig, ModelConfig, OptimConfig, TrainConfig, option
from ..engine.precision import Precision
from ..errors import ConfigError
from ..losses import GANLoss, gradient_penalty
from ..metrics.generation import sample_metrics
from ..models import NetworkSpec, spec_for
from .base import TASKS, Batch, ExportPlan, backward_step, eval_mode
from .labelled import GenerativeConfig, GenerativeTask, class_names, latent_plan

NoiseGANMode = Literal["vanilla", "lsgan", "hinge", "wgan", "wgangp"]
CriticNorm = Literal["auto", "batch", "layer", "none"]
GRID_COLUMNS = 8
MAX_CLASS_ROWS = 32  # a conditional grid shows one row per class, up to this many classes


@dataclass(frozen=True)
class DCGANConfig(GenerativeConfig):
    """Options of generation from noise with a GAN (images of 32, 64 or 128 pixels: one layer per doubling)."""

    latent_dim: int = option(100, "size of the noise vector z", minimum=1)
    conditional: bool = option(False, "condition on the class (the first-level subfolder, or the IDX labels)")
    projection: bool = option(False, "conditional: a projection discriminator instead of a label channel")
    embed_dim: int = option(50, "conditional: size of the generator's label embedding", minimum=1)
    gan_mode: NoiseGANMode = option("vanilla", "GAN objective (vanilla: non-saturating DCGAN; wgan: weight "
                                                "clipping; wgangp: gradient penalty)")
    n_critic: int | None = option(None, "discriminator/critic updates per generator update, each on its own real "
                                        "batch (default: 5 for wgan and wgangp, else 1)", minimum=1)
    clip: float = option(0.01, "wgan: the critic's weights are clipped to [-clip, clip]", above=0)
    lambda_gp: float = option(10.0, "wgangp: weight of the gradient penalty", minimum=0)
    critic_norm: CriticNorm = option("auto", "normalisation in the discriminator (auto: layer for wgangp, which "
                                             "must not use batch norm; batch otherwise)")


@dataclass(frozen=True)
class Recipe:
    """The optimizer a paper pairs with an objective."""

    optimizer: Literal["adam", "rmsprop"]
    lr: float
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1


RECIPES = {"wgan": Recipe("rmsprop", 5e-5, n_critic=5), "wgangp": Recipe("adam", 1e-4, (0.0, 0.9), n_critic=5)}
DCGAN_OPTIM = OptimConfig(n_epochs=25, n_epochs_decay=0, batch_size=128, lr=2e-4, beta1=0.5, beta2=0.999)


def n_critic(method: DCGANConfig) -> int:
    default = RECIPES[method.gan_mode].n_critic if method.gan_mode in RECIPES else 1
    return method.n_critic or default


@TASKS.register("dcgan")
class DCGAN(GenerativeTask):
    """Unconditional or class-conditional image generation from noise."""

    name = "dcgan"
    method_config = DCGANConfig
    generators = ("G",)

    @classmethod
    def default_config(cls) -> TrainConfig:
        return TrainConfig(task=cls.name, data=DataConfig(flip=False, val_images=1000),
                           model=ModelConfig(net_g="dcgan_g", net_d="dcgan_d", dropout=False),
                           optim=DCGAN_OPTIM, method=DCGANConfig())

    @classmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        m, method = config.model, _method(config)
        names = class_names(config) if method.conditional else []
        norm = method.critic_norm if method.critic_norm != "auto" else (
            "layer" if method.gan_mode == "wgangp" else "batch")
        if norm == "batch" and method.gan_mode == "wgangp":
            raise ConfigError("--gan-mode wgangp needs a critic without batch norm (its penalty is per image): "
                              "--critic-norm layer or none")
        common = {"channels": method.channels, "image_size": method.image_size}
        return {"G": spec_for(m.net_g, latent_dim=method.latent_dim, ngf=m.ngf, embed_dim=method.embed_dim,
                              class_names=names, **common),
                "D": spec_for(m.net_d, ndf=m.ndf, projection=method.projection, norm=norm, num_classes=len(names),
                              **common)}

    @classmethod
    def uses_labels(cls, config: TrainConfig) -> bool:
        return _method(config).conditional

    @classmethod
    def loader_batch_size(cls, config: TrainConfig) -> int:
        return config.optim.batch_size * n_critic(_method(config))

    @staticmethod
    def probe(networks: Mapping[str, nn.Module], batch: Batch) -> None:
        G, D = networks["G"], networks["D"]
        labels = batch["label"] if getattr(G, "num_classes", 0) else None
        z = torch.empty(len(batch["image"]), G.latent_dim)  # type: ignore[attr-defined]
        D(G(z, labels), labels)

    @classmethod
    def export_inputs(cls, config: TrainConfig, generator: str, limit: int) -> list[np.ndarray]:
        raise ConfigError("a DCGAN generator takes noise, not images")

    @classmethod
    def export_plan(cls, config: TrainConfig, generator: str, net: nn.Module) -> ExportPlan:
        """z (and the label) in, an image in [-1, 1] out; batch norm on its running statistics."""
        return latent_plan(net, "dcgan", (-1.0, 1.0))

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        self.method = _method(config)
        self.n_critic = n_critic(self.method)
        self.recipe = self._recipe(config)
        super().__init__(config, device, precision)
        self.gan = GANLoss(self.method.gan_mode)
        self.class_names = list(getattr(self.networks["G"], "class_names", []))
        self.num_classes = len(self.class_names)
        # The sample grid's noise: the same z from the first step to the last (and after a resume)
        generator = torch.Generator().manual_seed(config.run.seed + 12345)
        rows = self._grid_rows()
        self.fixed_z = torch.randn(rows * GRID_COLUMNS, self.method.latent_dim, generator=generator).to(device)

    def _recipe(self, config: TrainConfig) -> Recipe | None:
        """The objective's paper optimizer, unless the user set --lr, --beta1 or --beta2 away from DCGAN's."""
        optim = config.optim
        untouched = (optim.lr, optim.beta1, optim.beta2) == (DCGAN_OPTIM.lr, DCGAN_OPTIM.beta1, DCGAN_OPTIM.beta2)
        return RECIPES.get(self.method.gan_mode) if untouched else None

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self.recipe is None:
            return {"G": self.adam("G"), "D": self.adam("D")}
        recipe = self.recipe

        def make(name: str) -> torch.optim.Optimizer:
            params = list(self.networks[name].parameters())
            if recipe.optimizer == "rmsprop":
                return torch.optim.RMSprop(params, lr=recipe.lr)
            fused = self.device.type in ("cpu", "cuda") or None
            return torch.optim.Adam(params, lr=recipe.lr, betas=recipe.betas, fused=fused)

        return {"G": make("G"), "D": make("D")}

    def notes(self) -> list[str]:
        notes = []
        if self.recipe is not None:
            r = self.recipe
            what = (f"RMSprop, learning rate {r.lr:g}" if r.optimizer == "rmsprop" else
                    f"Adam, learning rate {r.lr:g}, betas {r.betas}")
            notes.append(f"--gan-mode {self.method.gan_mode}: the paper's optimizer ({what}; --lr, --beta1 or "
                         f"--beta2 choose others) and {self.n_critic} critic updates per generator update")
        return notes

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        images, labels = batch["image"], batch["label"]
        size = self.config.optim.batch_size
        G, D = self.call["G"], self.call["D"]
        conditioned = self.num_classes > 0
        # 1. the critic: n_critic updates, each on its own real batch and new noise
        for real, y in zip(images.split(size), labels.split(size), strict=True):
            y = y if conditioned else None
            z = torch.randn(len(real), self.method.latent_dim, device=real.device)
            with self.precision.autocast():
                fake = G(z, y).detach()
                pred_real, pred_fake = D(real, y), D(fake, y)
            loss_d = self.gan.d_loss(pred_real, pred_fake)
            if self.gan.needs_gradient_penalty:
                loss_d = loss_d + gradient_penalty(lambda x, y=y: D(x, y), real, fake, self.method.lambda_gp)
            backward_step(self.precision, self.optimizers["D"], loss_d)
            if self.method.gan_mode == "wgan":
                with torch.no_grad():
                    for p in self.networks["D"].parameters():
                        p.clamp_(-self.method.clip, self.method.clip)
        # 2. the generator, on the labels of the first real batch (the data's class frequencies)
        y = labels[:size] if conditioned else None
        z = torch.randn(min(size, len(images)), self.method.latent_dim, device=images.device)
        with self.frozen("D"), self.precision.autocast():
            pred_fake = D(G(z, y), y)
        loss_g = self.gan.g_loss(pred_fake)
        backward_step(self.precision, self.optimizers["G"], loss_g)
        return {"G": loss_g.detach(), "D": loss_d.detach()}

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1] from noise (and labels), with batch norm on its running statistics."""
        with eval_mode(self.networks["G"]), self.precision.autocast():
            return self.call["G"](z, labels).float()

    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        """How the discriminator scores held-out real images against as many new samples (a collapse shows)."""
        D = self.networks["D"]
        real, labels = batch["image"], batch["label"] if self.num_classes else None
        z = torch.randn(len(real), self.method.latent_dim, device=real.device)
        fake = self.generate(z, labels)
        with torch.no_grad(), eval_mode(D), self.precision.autocast():
            return {"D_real": D(real, labels).float().mean(), "D_fake": D(fake, labels).float().mean()}

    def evaluate_set(self, dataset: Any) -> dict[str, float]:
        """With --classifier: FID, KID, precision/recall, classes covered (and, conditional, the agreement with
        the asked class) of new samples against the validation images, in the classifier's feature space."""
        judge = self.judge()
        if judge is None:
            return {}
        # The same noise at every validation, from a generator of its own: the numbers compare across steps and
        # the training's random stream is untouched (resume stays exact)
        noise = torch.Generator(device=self.device).manual_seed(self.config.run.seed + 777)

        def generate(n: int, labels: torch.Tensor | None) -> torch.Tensor:
            z = torch.randn(n, self.method.latent_dim, device=self.device, generator=noise)
            return self.generate(z, None if labels is None else labels.to(self.device))

        metrics = sample_metrics(judge, self.reference_features(judge, dataset), generate, self.method.metric_samples,
                                 conditional=self.num_classes > 0)
        return metrics.as_log("sample_")

    def visuals(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"real": batch["image"]}

    def _grid_rows(self) -> int:
        return min(self.num_classes, MAX_CLASS_ROWS) if self.num_classes else GRID_COLUMNS

    def preview_columns(self, preview: Batch) -> dict[str, torch.Tensor]:
        """A grid from the fixed noise: 8 rows of 8 samples, or one row per class (same 8 noises) if conditional."""
        rows = self._grid_rows()
        labels = torch.arange(rows, device=self.device).repeat_interleave(GRID_COLUMNS) if self.num_classes else None
        samples = self.generate(self.fixed_z, labels)
        grid = samples.view(rows, GRID_COLUMNS, *samples.shape[1:])
        return {f"z{j + 1}": grid[:, j] for j in range(GRID_COLUMNS)}


def _method(config: TrainConfig) -> DCGANConfig:
    method = config.method
    if not isinstance(method, DCGANConfig):
        raise ConfigError(f"expected DCGAN options, got {type(method).__name__}")
    return method

