"""Super-resolution: SRResNet (pixel loss), SRGAN (adversarial + perceptual), and the ESRGAN / Real-ESRGAN recipes.

srresnet    G learns LR -> HR with a pixel loss (MSE, the SRGAN paper's SRResNet; or L1). The PSNR-oriented model,
            and the starting point of the GANs (``--init-from``).
srgan       Ledig et al. 2017: a VGG-style discriminator, 1e-3 x adversarial loss + a VGG19 perceptual loss (here
            on features before the activation of conv5_4, as ESRGAN found better), G initialised from an
            SRResNet run.
esrgan      Wang et al. 2018: RRDBNet, the relativistic average GAN (5e-3), perceptual loss (L1, conv5_4) and
            1e-2 x L1 pixel loss.
realesrgan  Wang et al. 2021: RRDBNet trained on the second-order "real" degradation, U-Net discriminator with
            spectral norm, perceptual loss on five VGG layers, GAN weight 0.1.

Networks work on images in [0, 1] (``value_range``), as the published SR weights expect. Validation scores
PSNR and SSIM on the Y channel with ``scale`` pixels cropped at the borders (the literature's convention),
next to bicubic upscaling (MATLAB's) measured the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import DataConfig, MethodConfig, ModelConfig, OptimConfig, TrainConfig, apply_overrides, option
from ..data import DataSplits, SRDataset, SRLayout, SRSource, find_sr, scan_sources
from ..data.degradations import Degradation, bicubic_upscale, imresize_torch
from ..data.layouts import images_in
from ..engine.checkpoint import load_checkpoint, resolve_checkpoint
from ..engine.precision import Precision
from ..errors import CheckpointError, ConfigError, DataError, I2IError
from ..hub.weights import weights_path
from ..losses import AdversarialLoss, PerceptualLoss, SRGANMode, parse_layers
from ..metrics.sr import psnr_y, ssim_y
from ..models import NetworkSpec, spec_for
from ..nn import inference_mode
from ..nn import init_weights as init_network
from .base import TASKS, Batch, Comparison, EvalData, Task, backward_step

PixelLoss = Literal["mse", "l1"]
# MATLAB's bicubic kernel reads 2 pixels either side, folded back once at the borders: an LR side of 1 pixel has
# nothing to fold onto (the baseline and the sample grids upscale LR patches with it)
MIN_LR_SIDE = 2
SR_GENERATORS = "srresnet, srresnet_<n>blocks, rrdbnet, rrdbnet_<n>blocks"


@dataclass(frozen=True)
class SRConfig(MethodConfig):
    """Super-resolution options (srresnet)."""

    scale: int = option(4, "upscaling factor (rrdbnet: 2, 4 or 8; srresnet: 2, 3, 4 or 8)", choices=(2, 3, 4, 8))
    layout: SRLayout = option("folder", "folder: HR images, LR made on the fly; div2k: HR/ and LR_bicubic/X<scale>/ "
                                        "pairs as given")
    degradation: Degradation = option("bicubic", "how LR inputs are made from HR images: bicubic (MATLAB's, "
                                                 "antialiased: the literature's) or real (Real-ESRGAN's blur, "
                                                 "resize, noise and JPEG, twice)")
    patches_per_image: int = option(16, "random HR patches taken from each image per epoch", minimum=1)
    rotate: bool = option(True, "random vertical flips and 90-degree rotations of training patches")
    val_crop: int = option(0, "score validation images on their central NxN HR pixels (0: whole images)", minimum=0,
                           metavar="N")
    pixel_loss: PixelLoss = option("mse", "pixel loss: mse (the SRGAN paper's SRResNet) or l1 (BasicSR's)")
    lambda_pixel: float = option(1.0, "weight of the pixel loss", minimum=0)
    init_from: str = option("", "start the generator from the weights of this run folder or checkpoint "
                                "(new runs only; the networks must match)", metavar="RUN|CHECKPOINT", resumable=True)


@dataclass(frozen=True)
class SRGANConfig(SRConfig):
    """Super-resolution GAN options (srgan, esrgan, realesrgan)."""

    gan_loss: SRGANMode = option("vanilla", "adversarial objective: vanilla, lsgan, hinge, or ragan (ESRGAN's "
                                            "relativistic average GAN)")
    lambda_adv: float = option(1e-3, "weight of the generator's adversarial loss", minimum=0)
    lambda_perceptual: float = option(1.0, "weight of the VGG19 perceptual loss (0: none)", minimum=0)
    perceptual_layers: str = option("conv5_4", "VGG19 layers of the perceptual loss, features before the "
                                               "activation, optionally weighted: conv5_4 or conv3_4:0.5,conv5_4:1",
                                    metavar="LAYERS")
    perceptual_loss: PixelLoss = option("l1", "distance between VGG features: l1 (ESRGAN) or mse (SRGAN)")
    vgg_weights: str = option("", "torchvision's VGG19 weights file (vgg19-dcbb9e9d.pth); default: fetched once "
                                  "into I2I_HOME (a mirror set by I2I_MODEL_MIRROR applies)", metavar="FILE",
                              resumable=True)


def sr_model(net_g: str = "srresnet", net_d: str = "srgan", norm: Literal["batch", "instance", "none"] = "batch",
             ) -> ModelConfig:
    """Networks of an SR recipe; init kaiming x 0.1 (BasicSR's); ``norm`` is the discriminator's."""
    return ModelConfig(net_g=net_g, net_d=net_d, ngf=64, ndf=64, norm=norm, dropout=False, init="kaiming",
                       init_gain=0.1)


def sr_data(crop_size: int = 128) -> DataConfig:
    """HR patches cropped from the images as they are (never rescaled: that would remove the detail to learn)."""
    return DataConfig(preprocess="crop", load_size=crop_size, crop_size=crop_size)


def init_sr_weights(net: nn.Module, kind: str, gain: float) -> None:
    """The configured init; ``kaiming`` is BasicSR's: Kaiming-normal weights times ``gain`` (0.1), zero biases.

    Spectral-normalised layers are initialised through their ``weight_orig`` (the normalised weight is derived).
    """
    init_network(net, kind, gain)  # type: ignore[arg-type]
    for module in net.modules():
        if isinstance(module, nn.Conv2d) and hasattr(module, "weight_orig"):
            nn.init.kaiming_normal_(module.weight_orig) if kind == "kaiming" else nn.init.normal_(
                module.weight_orig, 0.0, gain)
        elif kind == "kaiming" and isinstance(module, (nn.Conv2d, nn.Linear)):
            module.weight.data.mul_(gain)


@TASKS.register("srresnet")
class SRResNet(Task):
    """PSNR-oriented super-resolution: G (LR -> HR) trained with a pixel loss."""

    name = "srresnet"
    imports_architectures = ("srresnet",)
    method_config = SRConfig
    inference_stats = "running"  # SRResNet's batch norms run on their averages at test time (the paper's eval mode)
    generators = ("G",)
    value_range = (0.0, 1.0)
    # HR patches are cropped from the images as they are: no loading size, no direction, no U-Net dropout
    unused_options = frozenset({"data.direction", "data.load_size", "model.n_layers_d", "model.dropout"})

    @classmethod
    def default_config(cls) -> TrainConfig:
        optim = OptimConfig(n_epochs=200, n_epochs_decay=0, batch_size=16, lr=2e-4, beta1=0.9, beta2=0.99,
                            lr_policy="cosine")
        return TrainConfig(task=cls.name, data=sr_data(), model=sr_model(), optim=optim, method=SRConfig())

    @classmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        m, d = config.model, config.data
        scale = config.method.scale  # type: ignore[attr-defined]
        return {"G": spec_for(m.net_g, in_channels=d.input_nc, out_channels=d.output_nc, ngf=m.ngf, scale=scale)}

    @classmethod
    def check_config(cls, config: TrainConfig) -> int:
        """The options fit together, G upscales by --scale, patches fit the networks, --init-from exists."""
        d, m = config.data, config.model
        method: SRConfig = config.method  # type: ignore[assignment]
        s = method.scale
        if d.output_nc != d.input_nc:
            raise ConfigError(f"--output-nc {d.output_nc}: super-resolution keeps the channels of its input "
                              f"(--input-nc {d.input_nc})")
        if d.preprocess != "crop":
            raise ConfigError(f"--preprocess {d.preprocess}: super-resolution crops HR patches from the images as "
                              "they are (--preprocess crop); rescaling them would remove the detail to learn")
        if method.layout == "div2k" and method.degradation != "bicubic":
            raise ConfigError(f"--degradation {method.degradation} makes LR images from HR ones, but --layout div2k "
                              "uses the LR images it is given")
        if d.crop_size % s:
            raise ConfigError(f"--crop-size {d.crop_size} (the HR patch) is not a multiple of --scale {s}")
        for flag, side in (("--crop-size", d.crop_size), ("--val-crop", method.val_crop)):
            if side and side // s < MIN_LR_SIDE:
                raise ConfigError(f"{flag} {side}: its LR patch would be {side // s}x{side // s} pixels at --scale "
                                  f"{s}; bicubic upscaling needs at least {MIN_LR_SIDE}: give at least "
                                  f"{MIN_LR_SIDE * s}")
        if cls is SRResNet and method.lambda_pixel == 0:
            raise ConfigError("--lambda-pixel 0: srresnet learns from the pixel loss alone")
        if method.init_from:
            resolve_checkpoint(method.init_from, "--init-from")
        with torch.device("meta"):
            networks = {k: spec.build() for k, spec in cls.network_specs(config).items()}
        generator = networks["G"]
        if "D" in networks and d.crop_size % getattr(networks["D"], "size_multiple", 1):
            raise ConfigError(f"--crop-size {d.crop_size}: --netD {m.net_d} judges HR patches whose sides are "
                              f"multiples of {networks['D'].size_multiple}")
        if getattr(generator, "scale", 1) != s:
            raise ConfigError(f"--netG {m.net_g} does not upscale by --scale {s}: choose {SR_GENERATORS}")
        multiple = int(getattr(generator, "size_multiple", 1))
        for flag, side in (("--crop-size", d.crop_size), ("--val-crop", method.val_crop)):
            if side and side % (s * multiple):
                raise ConfigError(f"{flag} {side}: must be a multiple of {s * multiple} (--scale {s} times the "
                                  f"{multiple} that --netG {m.net_g} needs at LR)")
        return super().check_config(config)

    @classmethod
    def load_data(cls, config: TrainConfig, size_multiple: int, cache_file: Path | None,
                  report: Path | None) -> DataSplits:
        d = config.data
        method: SRConfig = config.method  # type: ignore[assignment]
        s, seed = method.scale, config.run.seed
        found = find_sr(d.root, method.layout, s, d.val_images)
        train = found.train[: d.max_dataset_size] if d.max_dataset_size else found.train
        multiple = s * size_multiple
        min_val = method.val_crop or max(multiple, 2 * s + 11)  # SSIM's 11x11 window inside the border crop
        infos = scan_sources(found, s, d.crop_size, min_val, cache_file, report)

        def dataset(sources: list, crop: int | None, train_set: bool = False) -> SRDataset:
            return SRDataset(sources, s, crop, train_set, d.input_nc, method.degradation, seed,
                             method.patches_per_image if train_set else 1, d.flip, method.rotate, multiple)

        val = dataset(found.val, method.val_crop or None) if found.val else None
        big = [src for src in found.val if min(infos[src.hr].width, infos[src.hr].height) >= d.crop_size]
        return DataSplits(dataset(train, d.crop_size, True), val, dataset((big or train)[:8], d.crop_size))

    @classmethod
    def comparisons(cls, config: TrainConfig) -> tuple[Comparison, ...]:
        """G's outputs against the HR images, with PSNR and SSIM on Y (``scale`` border pixels cropped), next to
        bicubic upscaling scored the same way: what validation logs."""
        s = config.method.scale  # type: ignore[attr-defined]
        return (Comparison("G", source="LR", target="HR", paired=True,
                           extra_metrics={"PSNR_Y": partial(psnr_y, crop_border=s),
                                          "SSIM_Y": partial(ssim_y, crop_border=s)},
                           baselines={"bicubic": partial(bicubic_upscale, scale=s)}),)

    @classmethod
    def eval_data(cls, config: TrainConfig, split: str | None, size_multiple: int) -> EvalData:
        """The validation images (``split`` None), prepared as validation prepares them, or those of ``split``."""
        d, method = config.data, config.method
        s = method.scale  # type: ignore[attr-defined]
        sources, used = _eval_sources(Path(d.root), method.layout, s, split)  # type: ignore[attr-defined]
        crop = method.val_crop or None  # type: ignore[attr-defined]
        dataset = SRDataset(sources, s, crop, False, d.input_nc, method.degradation,  # type: ignore[attr-defined]
                            config.run.seed, multiple=s * size_multiple)
        recipe = {"super_resolution": "HR images", "crop": crop, "multiple": s * size_multiple, "channels": d.input_nc}
        return EvalData(dataset, [src.hr for src in sources], used, recipe)

    @classmethod
    def config_for_model(cls, data_root: str, info: Any, direction: str, size: int | None) -> TrainConfig:
        """The model's scale and channels; whole images, as validation scores them (no --size)."""
        if size is not None:
            raise ConfigError(f"--size {size}: a super-resolution model is scored on whole images (LR made from each "
                              "HR image, or given), as its validation scores them")
        root = Path(data_root)
        div2k = any((root / sub).is_dir() for sub in ("HR", "train/HR", "val/HR", "DIV2K_train_HR", "DIV2K_valid_HR"))
        return apply_overrides(cls.default_config(), {
            "data": {"root": data_root, "input_nc": info.in_channels, "output_nc": info.out_channels},
            "method": {"scale": info.scale, "layout": "div2k" if div2k else "folder"}}, "--data")

    @staticmethod
    def probe(networks: Mapping[str, nn.Module], batch: Batch) -> None:
        sr = networks["G"](batch["LR"])
        if sr.shape != batch["HR"].shape:
            raise ValueError(f"G maps {tuple(batch['LR'].shape)} to {tuple(sr.shape)}, not {tuple(batch['HR'].shape)}")
        if "D" in networks:
            networks["D"](sr)

    @classmethod
    def example_batch(cls, config: TrainConfig) -> dict[str, torch.Tensor]:
        d, b = config.data, config.optim.batch_size
        lr_side = d.crop_size // config.method.scale  # type: ignore[attr-defined]
        return {"LR": torch.empty(b, d.input_nc, lr_side, lr_side), "HR": torch.empty(b, d.output_nc, d.crop_size,
                                                                                      d.crop_size)}

    @classmethod
    def export_inputs(cls, config: TrainConfig, generator: str, limit: int) -> list[np.ndarray]:
        """LR inputs of G: the validation (else training) images, degraded as in training (or as given)."""
        d = config.data
        method: SRConfig = config.method  # type: ignore[assignment]
        found = find_sr(d.root, method.layout, method.scale, max(limit, 1))
        sources = (found.val or found.train)[:limit]
        data = SRDataset(sources, method.scale, None, False, d.input_nc, method.degradation, config.run.seed)
        return [data.load(i, i)[0] for i in range(len(sources))]

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        super().__init__(config, device, precision)
        self.method: SRConfig = config.method  # type: ignore[assignment]
        self.pixel = F.mse_loss if self.method.pixel_loss == "mse" else F.l1_loss

    def notes(self) -> list[str]:
        """Where validation images come from, and how LR inputs are made."""
        d, method = self.config.data, self.method
        try:
            found = find_sr(d.root, method.layout, method.scale, d.val_images)
        except (I2IError, OSError):
            return []
        made = ("given (LR_bicubic)" if method.layout == "div2k"
                else f"made from the HR images by the {method.degradation} degradation")
        return [f"x{method.scale}: LR inputs {made}; validation: {found.val_note}, scored on Y with "
                f"{method.scale}-pixel borders cropped, next to bicubic"]

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam("G")}

    def init_weights(self) -> None:
        """BasicSR's init (see ``init_sr_weights``), then G's weights from ``--init-from`` when given."""
        for net in self.networks.values():
            init_sr_weights(net, self.config.model.init, self.config.model.init_gain)
        if self.method.init_from:
            self.load_generator(self.method.init_from)

    def load_generator(self, source: str) -> None:
        """Copy G's weights from a run folder or checkpoint whose G has the same architecture."""
        path = resolve_checkpoint(source, "--init-from")
        checkpoint = load_checkpoint(path, with_state=False)
        theirs, ours = checkpoint.specs.get("G"), self.network_specs(self.config)["G"]
        if theirs is None:
            raise CheckpointError(f"--init-from {source}: {path} has no generator G (it has "
                                  f"{', '.join(checkpoint.specs)})")
        if theirs != ours:
            raise CheckpointError(f"--init-from {source}: its G is {theirs.name} {theirs.kwargs}, this run's is "
                                  f"{ours.name} {ours.kwargs}; give the same --netG, --ngf and --scale")
        self.networks["G"].load_state_dict(checkpoint.weights["G"])

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        lr, hr = batch["LR"], batch["HR"]
        with self.precision.autocast():
            sr = self.call["G"](lr)
        loss = self.pixel(sr.float(), hr) * self.method.lambda_pixel
        backward_step(self.precision, self.optimizers["G"], loss)
        return {"pixel": loss.detach()}

    @torch.no_grad()
    def upscale(self, lr: torch.Tensor) -> torch.Tensor:
        """G at test time (eval mode), in [0, 1]."""
        with inference_mode(self.networks["G"], self.inference_stats), self.precision.autocast():
            return self.call["G"](lr).float().clamp(0, 1)

    def bicubic(self, lr: torch.Tensor) -> torch.Tensor:
        """MATLAB's bicubic upscaling of ``lr``, the baseline every SR result is reported against."""
        return imresize_torch(lr, self.method.scale).clamp(0, 1)

    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        """PSNR / SSIM on Y (8-bit levels, ``scale`` border pixels cropped) of G and of bicubic upscaling."""
        lr, hr = batch["LR"], batch["HR"]
        sr, bicubic, border = self.upscale(lr), self.bicubic(lr), self.method.scale
        return {"PSNR_Y": psnr_y(sr, hr, border).mean(), "SSIM_Y": ssim_y(sr, hr, border).mean(),
                "bicubic_PSNR_Y": psnr_y(bicubic, hr, border).mean(),
                "bicubic_SSIM_Y": ssim_y(bicubic, hr, border).mean()}

    def visuals(self, batch: Batch) -> dict[str, torch.Tensor]:
        lr = batch["LR"]
        columns = {"LR (bicubic)": self.bicubic(lr), "SR": self.upscale(lr), "HR": batch["HR"]}
        return {title: images * 2 - 1 for title, images in columns.items()}


@TASKS.register("srgan")
class SRGAN(SRResNet):
    """Perceptual super-resolution: G against a discriminator, with a VGG feature loss."""

    name = "srgan"
    method_config = SRGANConfig

    @classmethod
    def default_config(cls) -> TrainConfig:
        optim = OptimConfig(n_epochs=200, n_epochs_decay=0, batch_size=16, lr=1e-4, beta1=0.9, beta2=0.99,
                            lr_policy="step", lr_decay_epochs=100)
        return TrainConfig(task=cls.name, data=sr_data(), model=sr_model(), optim=optim,
                           method=SRGANConfig(lambda_pixel=0.0))

    @classmethod
    def network_specs(cls, config: TrainConfig) -> dict[str, NetworkSpec]:
        m, d = config.model, config.data
        return {**super().network_specs(config),
                "D": spec_for(m.net_d, in_channels=d.output_nc, ndf=m.ndf, norm=m.norm)}

    @classmethod
    def check_config(cls, config: TrainConfig) -> int:
        """As srresnet's, and the perceptual loss's layers and VGG19 weights (fetched now if needed)."""
        method: SRGANConfig = config.method  # type: ignore[assignment]
        if method.lambda_perceptual > 0:
            parse_layers(method.perceptual_layers)
        multiple = super().check_config(config)
        if method.lambda_perceptual > 0:
            weights_path("vgg19", method.vgg_weights or None)
        return multiple

    def __init__(self, config: TrainConfig, device: torch.device, precision: Precision | None = None) -> None:
        super().__init__(config, device, precision)
        self.method: SRGANConfig = config.method  # type: ignore[assignment]
        self.adversarial = AdversarialLoss(self.method.gan_loss)
        self.perceptual: PerceptualLoss | None = None
        if self.method.lambda_perceptual > 0:
            self.perceptual = PerceptualLoss(parse_layers(self.method.perceptual_layers),
                                             self.method.vgg_weights or None, self.method.perceptual_loss).to(device)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam("G"), "D": self.adam("D")}

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        lr, hr = batch["LR"], batch["HR"]
        G, D, m = self.call["G"], self.call["D"], self.method
        with self.precision.autocast():
            sr = G(lr)
        # 1. G: fool D (relative to the real images' scores, for ragan), stay close in VGG features and pixels
        losses: dict[str, torch.Tensor] = {}
        with self.frozen("D"), self.precision.autocast():
            pred_fake = D(sr)
            pred_real = D(hr).detach() if self.adversarial.relativistic else None
        losses["G_adv"] = self.adversarial.g_loss(pred_real, pred_fake) * m.lambda_adv
        if self.perceptual is not None:
            with self.precision.autocast():
                losses["perceptual"] = self.perceptual(sr, hr) * m.lambda_perceptual
        if m.lambda_pixel > 0:
            losses["pixel"] = self.pixel(sr.float(), hr) * m.lambda_pixel
        backward_step(self.precision, self.optimizers["G"], sum(losses.values()))  # type: ignore[arg-type]

        # 2. D: real HR patches -> real, G's outputs (detached) -> fake
        with self.precision.autocast():
            pred_real, pred_fake = D(hr), D(sr.detach())
        losses["D"] = self.adversarial.d_loss(pred_real, pred_fake)
        backward_step(self.precision, self.optimizers["D"], losses["D"])
        return {k: v.detach() for k, v in losses.items()}


@TASKS.register("esrgan")
class ESRGAN(SRGAN):
    """ESRGAN's recipe: RRDBNet, relativistic average GAN 5e-3, L1 perceptual (conv5_4), 1e-2 x L1 pixel loss."""

    name = "esrgan"
    imports_architectures = ("rrdbnet",)

    @classmethod
    def default_config(cls) -> TrainConfig:
        base = SRGAN.default_config()
        method = SRGANConfig(gan_loss="ragan", lambda_adv=5e-3, lambda_pixel=1e-2, pixel_loss="l1")
        return TrainConfig(task=cls.name, data=base.data, model=sr_model("rrdbnet"), optim=base.optim, method=method)


@TASKS.register("realesrgan")
class RealESRGAN(SRGAN):
    """Real-ESRGAN's recipe: the real degradation, RRDBNet against a U-Net discriminator with spectral norm,
    perceptual loss on conv1_2 ... conv5_4, GAN weight 0.1, L1 pixel loss, 256-pixel HR patches."""

    name = "realesrgan"

    @classmethod
    def default_config(cls) -> TrainConfig:
        base = SRGAN.default_config()
        method = SRGANConfig(degradation="real", gan_loss="vanilla", lambda_adv=0.1, lambda_pixel=1.0,
                             pixel_loss="l1", perceptual_layers="conv1_2:0.1,conv2_2:0.1,conv3_4:1,conv4_4:1,conv5_4:1")
        return TrainConfig(task=cls.name, data=sr_data(256), model=sr_model("rrdbnet", "unet_sn", "none"),
                           optim=base.optim, method=method)


def _eval_sources(root: Path, layout: SRLayout, scale: int, split: str | None) -> tuple[list[SRSource], str]:
    """The sources ``i2i eval`` scores and the split's name: the validation images (as training holds them out:
    val/ or test/, or every tenth image of a flat folder; all of a flat folder of fewer than ten, such as Set5),
    or ``split``'s."""
    found = find_sr(root, layout, scale, 10**9)
    flat = layout == "folder" and not (root / "train").is_dir()
    if split == "train":
        if not found.train:
            raise DataError(f"{root}: no training images")
        return found.train, "train"
    if layout == "div2k" and split not in (None, "val"):
        raise DataError(f"--split {split}: {root} is a DIV2K folder, whose splits are train and valid (--split "
                        "train, or leave out --split for valid)")
    if split is None or layout == "div2k":
        if found.val:
            return found.val, "val"
        if flat:
            return found.train, "all"  # fewer than ten images: none were held out, so all of them are the test set
        raise DataError(f"{root}: no validation images (val/, valid/ or test/); give --split train to score the "
                        "training images")
    if flat:
        raise DataError(f"--split {split}: {root} is one folder, whose validation images are every tenth (leave out "
                        "--split)")
    folders = [root / name for name in ((split, "valid") if split == "val" else (split,))]
    folder = next((f for f in folders if f.is_dir()), None)
    if folder is None:
        raise DataError(f"{root}: has no {split} split (no {folders[0].name}/ folder)")
    return [SRSource(path) for path in images_in(folder)], split
