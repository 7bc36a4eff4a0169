"""CycleGAN (Zhu et al. 2017): two generators and two discriminators on unpaired domains A and B.

G_A: A -> B and G_B: B -> A are trained to fool D_A (judges B images) and D_B (judges A images), to
reconstruct their input through the other generator (cycle loss, weight 10 each way) and to leave
images already in their target domain unchanged (identity loss, 0.5 x the cycle weight). The
discriminators see a history of 50 past fakes. Defaults: ResNet 9 blocks, instance norm, no dropout,
LSGAN, Adam 2e-4 (beta1 0.5), 100 + 100 epochs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..config import GANMode, MethodConfig, ModelConfig, TrainConfig, option
from ..engine.precision import Precision
from ..errors import ConfigError
from ..losses import GANLoss, gradient_penalty
from ..models import NetworkSpec, spec_for
from ..nn import inference_mode
from .base import TASKS, Batch, backward_step
from .image_pool import ImagePool
from .unpaired import UnpairedTranslation


@dataclass(frozen=True)
class CycleGANConfig(MethodConfig):
    """CycleGAN options."""

    gan_mode: GANMode = option("lsgan", "GAN objective")
    lambda_a: float = option(10.0, "weight of the cycle loss A -> B -> A", flag="--lambda-A", minimum=0)
    lambda_b: float = option(10.0, "weight of the cycle loss B -> A -> B", flag="--lambda-B", minimum=0)
    lambda_identity: float = option(0.5, "weight of the identity loss, relative to the cycle weights "
                                         "(0: none; needs as many input as output channels)", minimum=0)
    pool_size: int = option(50, "generated images kept for the discriminators (0: no history)", minimum=0)
    lambda_gp: float = option(10.0, "weight of the gradient penalty (wgangp only)", minimum=0)


@TASKS.register("cyclegan")
class CycleGAN(UnpairedTranslation):
    """Unpaired translation with cycle consistency."""

    name = "cyclegan"
    imports_architectures = ("resnet_",)
    method_config = CycleGANConfig
    generators = ("G_A", "G_B")
    graph_capturable = True

    @classmethod
    def default_config(cls) -> TrainConfig:
        model = ModelConfig(net_g="resnet_9blocks", norm="instance", dropout=False)
        return TrainConfig(task=cls.name, model=model, method=CycleGANConfig())

    @classmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        m, d = config.model, config.data
        method: CycleGANConfig = config.method  # type: ignore[assignment]
        if method.lambda_identity > 0 and d.input_nc != d.output_nc:
            raise ConfigError(f"the identity loss needs --input-nc = --output-nc (got {d.input_nc} and "
                              f"{d.output_nc}); set --lambda-identity 0")

        def generator(in_nc: int, out_nc: int) -> NetworkSpec:
            return spec_for(m.net_g, in_channels=in_nc, out_channels=out_nc, ngf=m.ngf, norm=m.norm,
                            dropout=m.dropout)

        def discriminator(in_nc: int) -> NetworkSpec:
            return spec_for(m.net_d, in_channels=in_nc, ndf=m.ndf, n_layers=m.n_layers_d, norm=m.norm)

        return {"G_A": generator(d.input_nc, d.output_nc), "G_B": generator(d.output_nc, d.input_nc),
                "D_A": discriminator(d.output_nc), "D_B": discriminator(d.input_nc)}

    @classmethod
    def source_domain(cls, generator: str) -> str:
        """G_A translates A images, G_B the B images back."""
        return "A" if generator == "G_A" else "B"

    @staticmethod
    def probe(networks: Mapping[str, nn.Module], batch: Batch) -> None:
        fake_b, fake_a = networks["G_A"](batch["A"]), networks["G_B"](batch["B"])
        for name, images in (("G_B", fake_b), ("G_A", fake_a), ("D_A", fake_b), ("D_B", fake_a)):
            networks[name](images)

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        super().__init__(config, device, precision)
        self.method: CycleGANConfig = config.method  # type: ignore[assignment]
        self.gan = GANLoss(self.method.gan_mode)
        self.fake_a_pool = ImagePool(self.method.pool_size)  # each rank of a distributed run keeps its own
        self.fake_b_pool = ImagePool(self.method.pool_size)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam("G_A", "G_B"), "D": self.adam("D_A", "D_B")}

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        G_A, G_B, D_A, D_B = (self.call[k] for k in ("G_A", "G_B", "D_A", "D_B"))
        m = self.method
        losses: dict[str, torch.Tensor] = {}

        # 1. generators: translate both ways and back
        with self.precision.autocast():
            fake_b, fake_a = G_A(real_a), G_B(real_b)
            rec_a, rec_b = G_B(fake_b), G_A(fake_a)
        with self.frozen("D_A", "D_B"), self.precision.autocast():
            pred_fake_b, pred_fake_a = D_A(fake_b), D_B(fake_a)
        losses["G_A"] = self.gan.g_loss(pred_fake_b)
        losses["G_B"] = self.gan.g_loss(pred_fake_a)
        losses["cycle_A"] = F.l1_loss(rec_a.float(), real_a) * m.lambda_a
        losses["cycle_B"] = F.l1_loss(rec_b.float(), real_b) * m.lambda_b
        if m.lambda_identity > 0:
            with self.precision.autocast():
                idt_a, idt_b = G_A(real_b), G_B(real_a)  # G_A should leave B images unchanged, and G_B A images
            losses["idt_A"] = F.l1_loss(idt_a.float(), real_b) * m.lambda_b * m.lambda_identity
            losses["idt_B"] = F.l1_loss(idt_b.float(), real_a) * m.lambda_a * m.lambda_identity
        backward_step(self.precision, self.optimizers["G"], sum(losses.values()))

        # 2. discriminators: real vs a history of fakes
        losses["D_A"] = self._discriminator_loss(D_A, real_b, self.fake_b_pool.query(fake_b))
        losses["D_B"] = self._discriminator_loss(D_B, real_a, self.fake_a_pool.query(fake_a))
        backward_step(self.precision, self.optimizers["D"], losses["D_A"] + losses["D_B"])
        return {k: v.detach() for k, v in losses.items()}

    def _discriminator_loss(self, D: Any, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        with self.precision.autocast():
            pred_real, pred_fake = D(real), D(fake.detach())
        loss = self.gan.d_loss(pred_real, pred_fake)
        if self.gan.needs_gradient_penalty:
            loss = loss + gradient_penalty(D, real, fake, self.method.lambda_gp)
        return loss

    @torch.no_grad()
    def _translate(self, name: str, images: torch.Tensor) -> torch.Tensor:
        with inference_mode(self.networks[name], self.inference_stats), self.precision.autocast():
            return self.call[name](images).float()

    def _cycle(self, batch: Batch) -> dict[str, torch.Tensor]:
        fake_b, fake_a = self._translate("G_A", batch["A"]), self._translate("G_B", batch["B"])
        return {"real_A": batch["A"], "fake_B": fake_b, "rec_A": self._translate("G_B", fake_b),
                "real_B": batch["B"], "fake_A": fake_a, "rec_B": self._translate("G_A", fake_a)}

    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        v = self._cycle(batch)
        return {"cycle_L1_A": F.l1_loss(v["rec_A"], v["real_A"]), "cycle_L1_B": F.l1_loss(v["rec_B"], v["real_B"])}

    def visuals(self, batch: Batch) -> dict[str, torch.Tensor]:
        return self._cycle(batch)

    def state_dict(self) -> dict[str, Any]:
        return {"fake_a_pool": self.fake_a_pool.state_dict(), "fake_b_pool": self.fake_b_pool.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.fake_a_pool.load_state_dict(state["fake_a_pool"], self.device)
        self.fake_b_pool.load_state_dict(state["fake_b_pool"], self.device)
