"""CUT and FastCUT (Park et al., ECCV 2020): unpaired translation with one generator and a patch-wise contrastive
loss instead of CycleGAN's second generator and cycle.

G translates A -> B and fools D (PatchGAN, LSGAN); PatchNCE keeps each output patch closer to the input patch at
the same position than to the input's other patches, in the features of G's own encoder (the input pixels, both
downsampling convolutions, the first and the fifth residual block), through a two-layer MLP head per layer
(network ``F``), 256 positions per layer, temperature 0.07. CUT adds the same loss on B images through G
(identity NCE: G should leave B images alone), lambda_NCE 1, 200 + 200 epochs. FastCUT drops the identity term,
weighs NCE by 10, flips the input half of the time and compares the flipped output's features flipped back
(flip-equivariance), 150 + 50 epochs. Both: ResNet 9 blocks, instance norm, Xavier init (gain 0.02), no image
pool, Adam 2e-4 (0.5, 0.999) for G, D and F, linear decay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import GANMode, MethodConfig, ModelConfig, OptimConfig, TrainConfig, option
from ..engine.precision import Precision
from ..errors import ConfigError
from ..losses import GANLoss, gradient_penalty, patch_nce_loss, sample_patches
from ..models import NetworkSpec, spec_for
from ..nn import inference_mode
from .base import TASKS, Batch, backward_step
from .unpaired import UnpairedTranslation

VALIDATION_SEED = 0  # validation draws its patch positions from its own generator: it never moves training's


@dataclass(frozen=True)
class CUTConfig(MethodConfig):
    """CUT / FastCUT options."""

    gan_mode: GANMode = option("lsgan", "GAN objective")
    lambda_gan: float = option(1.0, "weight of the generator's GAN loss", minimum=0)
    lambda_nce: float = option(1.0, "weight of the PatchNCE loss", flag="--lambda-NCE", minimum=0)
    nce_idt: bool = option(True, "also the PatchNCE loss of B images through G (identity NCE; CUT's, not FastCUT's)",
                           flag="--nce-idt")
    num_patches: int = option(256, "positions drawn per feature layer for PatchNCE", minimum=2)
    nce_temperature: float = option(0.07, "temperature of PatchNCE", flag="--nce-T", above=0)
    netf_nc: int = option(256, "width of the MLP heads that embed the sampled features", flag="--netF-nc", minimum=1)
    flip_equivariance: bool = option(False, "flip the input half of the time and compare the output's features "
                                            "flipped back (FastCUT)")
    lambda_gp: float = option(10.0, "weight of the gradient penalty (wgangp only)", minimum=0)


def nce_layers(generator: nn.Module, net_g: str) -> tuple[int, ...]:
    """The generator's PatchNCE layers; a one-line error for a generator that has none."""
    layers = getattr(generator, "nce_layers", None)
    if layers is None:
        raise ConfigError(f"--netG {net_g} has no NCE layers: CUT compares features of a ResNet generator's encoder "
                          "(resnet_<n>blocks, mobile_resnet_<n>blocks)")
    return tuple(layers())


@TASKS.register("cut")
class CUT(UnpairedTranslation):
    """Contrastive unpaired translation: G, D, and the PatchNCE heads F."""

    name = "cut"
    method_config = CUTConfig
    generators = ("G",)

    @classmethod
    def default_config(cls) -> TrainConfig:
        model = ModelConfig(net_g="resnet_9blocks", norm="instance", dropout=False, init="xavier")
        return TrainConfig(task=cls.name, model=model, optim=OptimConfig(n_epochs=200, n_epochs_decay=200),
                           method=CUTConfig())

    @classmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        """G, D, and F: one MLP head per NCE layer, sized from G's layers (G is built on the meta device to read
        them), so a checkpoint's spec rebuilds the heads without seeing a batch."""
        m, d = config.model, config.data
        method: CUTConfig = config.method  # type: ignore[assignment]
        if method.nce_idt and d.input_nc != d.output_nc:
            raise ConfigError(f"the identity NCE loss runs B images through G, which needs --input-nc = --output-nc "
                              f"(got {d.input_nc} and {d.output_nc}); use --no-nce-idt")
        generator = spec_for(m.net_g, in_channels=d.input_nc, out_channels=d.output_nc, ngf=m.ngf, norm=m.norm,
                             dropout=m.dropout)
        with torch.device("meta"):
            net = generator.build()
        channels = [net.layer_channels(i) for i in nce_layers(net, m.net_g)]
        return {"G": generator,
                "D": spec_for(m.net_d, in_channels=d.output_nc, ndf=m.ndf, n_layers=m.n_layers_d, norm=m.norm),
                "F": spec_for("patch_mlp", channels=channels, width=method.netf_nc)}

    @staticmethod
    def probe(networks: Mapping[str, nn.Module], batch: Batch) -> None:
        G = networks["G"]
        fake = G(batch["A"])
        networks["D"](fake)
        features = G(fake, taps=G.nce_layers(), encode_only=True)  # type: ignore[operator]
        networks["F"]([sample_patches(f, 4)[0] for f in features])

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        super().__init__(config, device, precision)
        self.method: CUTConfig = config.method  # type: ignore[assignment]
        self.gan = GANLoss(self.method.gan_mode)
        self.layers = nce_layers(self.networks["G"], config.model.net_g)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam("G"), "D": self.adam("D"), "F": self.adam("F")}

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        G, D, m = self.call["G"], self.call["D"], self.method
        count = real_a.shape[0]
        # 1. translate A (and B, for the identity term) in one pass; FastCUT flips the inputs half of the time
        real = torch.cat([real_a, real_b]) if m.nce_idt else real_a
        flipped = m.flip_equivariance and bool(torch.rand(()) < 0.5)
        with self.precision.autocast():
            fake = G(real.flip(3) if flipped else real)
        fake_b = fake[:count]

        # 2. D: real B images against G's outputs (no history of fakes)
        with self.precision.autocast():
            pred_real, pred_fake = D(real_b), D(fake_b.detach())
        loss_d = self.gan.d_loss(pred_real, pred_fake)
        if self.gan.needs_gradient_penalty:
            loss_d = loss_d + gradient_penalty(D, real_b, fake_b, m.lambda_gp)
        backward_step(self.precision, self.optimizers["D"], loss_d)

        # 3. G and F: fool D, and keep each output patch tied to its input patch
        with self.frozen("D"), self.precision.autocast():
            pred = D(fake_b)
        losses = {"G_GAN": self.gan.g_loss(pred) * m.lambda_gan,
                  "NCE": self.patch_nce(real_a, fake_b, flipped) * m.lambda_nce}
        total = losses["G_GAN"] + losses["NCE"]
        if m.nce_idt:
            losses["NCE_Y"] = self.patch_nce(real_b, fake[count:], flipped) * m.lambda_nce
            total = losses["G_GAN"] + 0.5 * (losses["NCE"] + losses["NCE_Y"])
        for name in ("G", "F"):
            self.optimizers[name].zero_grad(set_to_none=True)
        self.precision.backward(total)
        for name in ("G", "F"):
            self.precision.step(self.optimizers[name])
        losses["D"] = loss_d
        return {k: v.detach() for k, v in losses.items()}

    def patch_nce(self, source: torch.Tensor, output: torch.Tensor, flipped: bool = False,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """The PatchNCE loss of ``output`` (G's translation of ``source``, of its flipped copy when ``flipped``),
        averaged over the NCE layers; positions drawn from ``generator`` (default: torch's global one).

        The keys (the source's features and embeddings) carry no gradient, so they are computed without a graph.
        """
        G, heads, m = self.call["G"], self.call["F"], self.method
        with torch.no_grad(), self.precision.autocast():
            keys = G(source, taps=self.layers, encode_only=True)
            sampled = [sample_patches(f, m.num_patches, generator=generator) for f in keys]
            key_embeddings = heads([samples for samples, _ in sampled])
        with self.precision.autocast():
            queries = G(output, taps=self.layers, encode_only=True)
            if flipped:  # G saw the flipped source: flip its features back onto the source's positions
                queries = [q.flip(3) for q in queries]
            query_embeddings = heads([sample_patches(q, 0, positions)[0]
                                      for q, (_, positions) in zip(queries, sampled, strict=True)])
        per_layer = [patch_nce_loss(q, k, m.nce_temperature).mean()
                     for q, k in zip(query_embeddings, key_embeddings, strict=True)]
        return torch.stack(per_layer).mean()

    @torch.no_grad()
    def translate(self, images: torch.Tensor) -> torch.Tensor:
        """G at test time (dropout off, batch norm on the batch's statistics)."""
        with inference_mode(self.networks["G"], self.inference_stats), self.precision.autocast():
            return self.call["G"](images).float()

    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        """PatchNCE of the validation A images (positions from a fixed generator, the same at every validation), and
        how much G changes B images (L1 of G(B) to B: identity)."""
        real_a, real_b = batch["A"], batch["B"]
        positions = torch.Generator(device=real_a.device).manual_seed(VALIDATION_SEED)
        with inference_mode(self.networks["G"], self.inference_stats):
            nce = self.patch_nce(real_a, self.translate(real_a), generator=positions)
        return {"NCE": nce, "idt_L1": F.l1_loss(self.translate(real_b), real_b)}

    def visuals(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"real_A": batch["A"], "fake_B": self.translate(batch["A"]), "real_B": batch["B"],
                "idt_B": self.translate(batch["B"])}


@TASKS.register("fastcut")
class FastCUT(CUT):
    """CUT without the identity term, with NCE x10 and flip-equivariance: about half of CUT's step."""

    name = "fastcut"

    @classmethod
    def default_config(cls) -> TrainConfig:
        model = ModelConfig(net_g="resnet_9blocks", norm="instance", dropout=False, init="xavier")
        method = CUTConfig(lambda_nce=10.0, nce_idt=False, flip_equivariance=True)
        return TrainConfig(task=cls.name, model=model, optim=OptimConfig(n_epochs=150, n_epochs_decay=50),
                           method=method)
