"""A variational autoencoder (Kingma and Welling 2014): images to a Gaussian latent space and back.

The encoder gives the mean and log-variance of q(z|x), a diagonal Gaussian; z is drawn with the
reparameterisation trick (mean + sigma * noise, so gradients reach the encoder), and the decoder (the DCGAN
generator with logits out) gives p(x|z): Bernoulli for images in [0, 1] (``--recon-loss bce``, the default) or
a Gaussian of variance 1/2 (``mse``: the squared error summed over pixels). The loss is the negative ELBO,
reconstruction + KL(q(z|x) || N(0, I)) in closed form, per image; ``--beta`` weighs the KL term (beta-VAE),
and ``--kl-warmup`` raises that weight linearly from 0 over the first steps. The log shows the negative ELBO
(with beta 1) and its two terms.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import DataConfig, ModelConfig, OptimConfig, TrainConfig, option
from ..engine.precision import Precision
from ..errors import ConfigError
from ..metrics.generation import image_batches, sample_metrics, score
from ..models import NetworkSpec, spec_for
from .base import TASKS, Batch, ExportPlan, backward_step, eval_mode
from .labelled import GenerativeConfig, GenerativeTask, latent_plan

ReconLoss = Literal["bce", "mse"]
GRID_ROWS = 8


@dataclass(frozen=True)
class VAEConfig(GenerativeConfig):
    """Options of the variational autoencoder."""

    latent_dim: int = option(128, "size of the latent space", minimum=1)
    beta: float = option(1.0, "weight of the KL term (1: the ELBO; above 1: a beta-VAE)", minimum=0)
    kl_warmup: int = option(0, "steps over which the KL weight rises from 0 to beta (0: from the start)", minimum=0)
    recon_loss: ReconLoss = option("bce", "likelihood of the decoder: bce (Bernoulli, images in [0, 1]) or mse "
                                          "(Gaussian of variance 1/2)")


def kl_to_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per row, summed over the latent dimensions (closed form)."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)


def reconstruction_nll(logits: torch.Tensor, images: torch.Tensor, kind: ReconLoss) -> torch.Tensor:
    """-log p(x|z) per image (up to a constant for the Gaussian), summed over pixels; images in [0, 1]."""
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, images, reduction="none")
    else:
        per_pixel = (torch.sigmoid(logits) - images).pow(2)
    return per_pixel.flatten(1).sum(1)


@TASKS.register("vae")
class VAE(GenerativeTask):
    """Variational autoencoder: reconstructions, samples from the prior, interpolation in latent space."""

    name = "vae"
    method_config = VAEConfig
    generators = ("G", "E")  # the decoder samples; the encoder serves `i2i reconstruct`
    value_range = (0.0, 1.0)

    @classmethod
    def default_config(cls) -> TrainConfig:
        return TrainConfig(task=cls.name, data=DataConfig(flip=False, val_images=1000),
                           model=ModelConfig(net_g="dcgan_g", net_d="conv_encoder", dropout=False),
                           optim=OptimConfig(n_epochs=30, n_epochs_decay=0, batch_size=128, lr=1e-3, beta1=0.9),
                           method=VAEConfig())

    @classmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        m, method = config.model, _method(config)
        common = {"channels": method.channels, "image_size": method.image_size, "latent_dim": method.latent_dim}
        return {"E": spec_for(m.net_d, ndf=m.ndf, **common),
                "G": spec_for(m.net_g, ngf=m.ngf, output="logits", **common)}

    @staticmethod
    def probe(networks: Mapping[str, nn.Module], batch: Batch) -> None:
        mean, _ = networks["E"](batch["image"])
        networks["G"](mean)

    @classmethod
    def export_inputs(cls, config: TrainConfig, generator: str, limit: int) -> list[np.ndarray]:
        raise ConfigError("the VAE's decoder takes latent vectors, not images")

    @classmethod
    def export_plan(cls, config: TrainConfig, generator: str, net: nn.Module) -> ExportPlan:
        """G: z in, the decoder's mean image in [0, 1] out. E: an image in [0, 1] in, the mean and log-variance
        of q(z|x) out (``i2i reconstruct`` encodes with it)."""
        if generator == "G":
            return latent_plan(net, "vae", (0.0, 1.0), nn.Sigmoid(), interpolation="linear")
        method = _method(config)
        size = method.image_size
        module = copy.deepcopy(net).float().eval()
        metadata = {"kind": "encoder", "task": "vae", "latent_dim": str(method.latent_dim), "image_size": str(size),
                    "channels": str(method.channels), "value_range": "0,1"}
        return ExportPlan(module, (torch.rand(2, method.channels, size, size),), ["image"], ["mean", "log_var"],
                          metadata)

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        super().__init__(config, device, precision)
        self.method = _method(config)
        # steps taken, on the device: the KL warm-up reads it inside the (graph-captured) step
        self.steps = torch.zeros((), dtype=torch.float32, device=device)
        generator = torch.Generator().manual_seed(config.run.seed + 54321)
        self.fixed_z = torch.randn(GRID_ROWS * 4, self.method.latent_dim, generator=generator).to(device)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"VAE": self.adam("E", "G")}

    def kl_weight(self) -> torch.Tensor:
        method = self.method
        if method.kl_warmup == 0:
            return torch.full((), method.beta, device=self.steps.device)
        return method.beta * torch.clamp(self.steps / method.kl_warmup, max=1.0)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        images = batch["image"]
        with self.precision.autocast():
            mean, log_var = self.call["E"](images)
        mean, log_var = mean.float(), log_var.float()
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)  # the reparameterisation trick
        with self.precision.autocast():
            logits = self.call["G"](z)
        recon = reconstruction_nll(logits.float(), images, self.method.recon_loss).mean()
        kl = kl_to_standard_normal(mean, log_var).mean()
        backward_step(self.precision, self.optimizers["VAE"], recon + self.kl_weight() * kl)
        self.steps += 1
        return {"neg_ELBO": (recon + kl).detach(), "recon": recon.detach(), "KL": kl.detach()}

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of q(z|x) for images in [0, 1], batch norm on running statistics."""
        with eval_mode(self.networks["E"]), self.precision.autocast():
            mean, log_var = self.call["E"](images)
        return mean.float(), log_var.float()

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean image in [0, 1] for latent vectors ``z``."""
        with eval_mode(self.networks["G"]), self.precision.autocast():
            return torch.sigmoid(self.call["G"](z).float())

    @torch.no_grad()
    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        """The negative ELBO of held-out images (one posterior sample) and its terms."""
        images = batch["image"]
        mean, log_var = self.encode(images)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        with eval_mode(self.networks["G"]), self.precision.autocast():
            logits = self.call["G"](z).float()
        recon = reconstruction_nll(logits, images, self.method.recon_loss).mean()
        kl = kl_to_standard_normal(mean, log_var).mean()
        return {"neg_ELBO": recon + kl, "recon": recon, "KL": kl}

    def evaluate_set(self, dataset: Any) -> dict[str, float]:
        """With --classifier: samples from the prior ('sample_') and reconstructions of the validation images
        ('recon_') scored against those images in the classifier's feature space."""
        judge = self.judge()
        if judge is None:
            return {}
        noise = torch.Generator(device=self.device).manual_seed(self.config.run.seed + 777)

        def generate(n: int, labels: torch.Tensor | None) -> torch.Tensor:
            return self.decode(torch.randn(n, self.method.latent_dim, device=self.device, generator=noise)) * 2 - 1

        real_features = self.reference_features(judge, dataset)
        samples = sample_metrics(judge, real_features, generate, self.method.metric_samples)
        recons = (self.decode(self.encode((batch.to(self.device) + 1) / 2)[0]) * 2 - 1
                  for batch in image_batches(dataset))
        return {**samples.as_log("sample_"), **score(judge, real_features, recons).as_log("recon_")}

    def visuals(self, batch: Batch) -> dict[str, torch.Tensor]:
        images = batch["image"]
        recon = self.decode(self.encode(images)[0])
        return {"input": images * 2 - 1, "reconstruction": recon * 2 - 1}

    def preview_columns(self, preview: Batch) -> dict[str, torch.Tensor]:
        """Inputs and their reconstructions, then four columns of samples from the prior (a fixed z)."""
        images = preview["image"][:GRID_ROWS]
        columns = self.visuals({"image": images})
        samples = self.decode(self.fixed_z).view(4, GRID_ROWS, *images.shape[1:])[:, : len(images)]
        columns.update({f"sample {i + 1}": samples[i] * 2 - 1 for i in range(4)})
        return columns

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps.fill_(float(state["steps"]))


def _method(config: TrainConfig) -> VAEConfig:
    method = config.method
    if not isinstance(method, VAEConfig):
        raise ConfigError(f"expected VAE options, got {type(method).__name__}")
    return method
