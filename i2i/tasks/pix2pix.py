"""pix2pix (Isola et al. 2017): a conditional GAN on aligned pairs, plus an L1 loss to the target.

One step: D learns to tell (input, target) from (input, G(input)); then G learns to fool D while staying
within L1 of the target. Defaults are the paper's: U-Net 256 with batch norm and dropout, 70x70 PatchGAN,
vanilla GAN loss, L1 weight 100, Adam 2e-4 (beta1 0.5), 100 + 100 epochs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import DataConfig, GANMode, MethodConfig, ModelConfig, TrainConfig, option
from ..data import VAL_SPLITS, DataSplits, find_paired, load_pair, paired_data
from ..engine.precision import Precision
from ..losses import GANLoss, gradient_penalty
from ..metrics.paired import validation_metrics
from ..models import NetworkSpec, spec_for
from ..nn import inference_mode
from .base import TASKS, Batch, Comparison, Task, backward_step, paired_example_batch


@dataclass(frozen=True)
class Pix2PixConfig(MethodConfig):
    """pix2pix options."""

    gan_mode: GANMode = option("vanilla", "GAN objective")
    lambda_l1: float = option(100.0, "weight of the L1 loss to the target", minimum=0)
    lambda_gp: float = option(10.0, "weight of the gradient penalty (wgangp only)", minimum=0)


@TASKS.register("pix2pix")
class Pix2Pix(Task):
    """Paired translation: G (input -> output) and a conditional D on (input, output) pairs."""

    name = "pix2pix"
    imports_architectures = ("unet_",)
    method_config = Pix2PixConfig
    generators = ("G",)
    graph_capturable = True

    @classmethod
    def default_config(cls) -> TrainConfig:
        return TrainConfig(task=cls.name, data=DataConfig(), model=ModelConfig(), method=Pix2PixConfig())

    @classmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        m, d = config.model, config.data
        return {
            "G": spec_for(m.net_g, in_channels=d.input_nc, out_channels=d.output_nc, ngf=m.ngf, norm=m.norm,
                          dropout=m.dropout),
            "D": spec_for(m.net_d, in_channels=d.input_nc + d.output_nc, ndf=m.ndf, n_layers=m.n_layers_d,
                          norm=m.norm),
        }

    @classmethod
    def load_data(cls, config: TrainConfig, size_multiple: int, cache_file: Path | None,
                  report: Path | None) -> DataSplits:
        return paired_data(config.data, size_multiple, config.optim.batch_size, config.run.seed, cache_file, report)

    @staticmethod
    def probe(networks: Mapping[str, nn.Module], batch: Batch) -> None:
        fake = networks["G"](batch["A"])
        networks["D"](torch.cat([batch["A"], fake], 1))

    @classmethod
    def example_batch(cls, config: TrainConfig) -> dict[str, torch.Tensor]:
        return paired_example_batch(config)

    @classmethod
    def export_inputs(cls, config: TrainConfig, generator: str, limit: int) -> list[np.ndarray]:
        """Inputs of G: the A halves (B with --direction BtoA) of the validation (else training) pairs."""
        data = config.data
        sources = next((s for split in (*VAL_SPLITS, "train") if (s := find_paired(data.root, split))), [])
        return [load_pair(src, data.input_nc, data.output_nc, data.direction)[0] for src in sources[:limit]]

    @classmethod
    def generator_direction(cls, config: TrainConfig, generator: str) -> str:
        return config.data.direction

    @classmethod
    def comparisons(cls, config: TrainConfig) -> tuple[Comparison, ...]:
        """G's outputs against the targets of the same pairs: FID, KID, and LPIPS, PSNR, SSIM pair by pair."""
        return (Comparison("G", source="A", target="B", paired=True),)

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        super().__init__(config, device, precision)
        self.method: Pix2PixConfig = config.method  # type: ignore[assignment]
        self.gan = GANLoss(self.method.gan_mode)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam("G"), "D": self.adam("D")}

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        G, D = self.call["G"], self.call["D"]
        with self.precision.autocast():
            fake_b = G(real_a)
            # 1. D: real pairs -> real, generated pairs -> fake (G's output detached)
            pred_fake = D(torch.cat([real_a, fake_b.detach()], 1))
            pred_real = D(torch.cat([real_a, real_b], 1))
        loss_d = self.gan.d_loss(pred_real, pred_fake)
        if self.gan.needs_gradient_penalty:
            loss_d = loss_d + gradient_penalty(D, torch.cat([real_a, real_b], 1), torch.cat([real_a, fake_b], 1),
                                               self.method.lambda_gp)
        backward_step(self.precision, self.optimizers["D"], loss_d)

        # 2. G: fool D, and stay close to the target
        with self.frozen("D"), self.precision.autocast():
            pred_fake = D(torch.cat([real_a, fake_b], 1))
        loss_g_gan = self.gan.g_loss(pred_fake)
        loss_g_l1 = F.l1_loss(fake_b.float(), real_b) * self.method.lambda_l1
        backward_step(self.precision, self.optimizers["G"], loss_g_gan + loss_g_l1)
        return {"G_GAN": loss_g_gan.detach(), "G_L1": loss_g_l1.detach(), "D": loss_d.detach()}

    @torch.no_grad()
    def translate(self, real_a: torch.Tensor) -> torch.Tensor:
        """G at test time: dropout off, batch norm on the batch's statistics (the reference's test mode)."""
        with inference_mode(self.networks["G"], self.inference_stats), self.precision.autocast():
            return self.call["G"](real_a).float()

    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        return validation_metrics(self.translate(batch["A"]), batch["B"])

    def visuals(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"input": batch["A"], "output": self.translate(batch["A"]), "target": batch["B"]}
