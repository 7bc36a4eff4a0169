"""``i2i export`` and pretrained-model conversion: ONNX files, checked against PyTorch, with model cards.

Every export writes ``NAME.onnx`` and its card ``NAME.json`` (and ``NAME.fp16.onnx`` / ``NAME.int8.onnx`` when
asked), checks each against the PyTorch network on real images, and registers them in the model store as
``NAME``, ``NAME-fp16`` and ``NAME-int8`` so ``i2i translate --model NAME`` finds them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..compat import require_torch
from ..engine.checkpoint import load_checkpoint, resolve_checkpoint
from ..errors import ConfigError, DataError, I2IError, WriteError
from ..fileio import (
    atomic_write_text,
    replace_together,
    sha256_of,
    staged_files,
    writing,
)
from ..hub.store import NAME, ModelStore
from ..images import list_images, read_image
from ..infer.model import ModelInfo, OnnxModel, range_text
from ..metrics.sr import psnr_y
from ..models import NetworkSpec
from ..nn.modes import BatchNormStats, has_batch_norm
from ..tasks import config_from_dict, task_class
from .latent import export_latent
from .onnx_export import (
    OPSET,
    export_onnx,
    float64_errors,
    inference_network,
    model_input,
    parity,
    to_fp16,
    torch_output,
)
from .quantize import psnr, to_int8
from .subpixel import with_subpixel_upsampling

PACKAGE_IMAGE = Path(__file__).resolve().parent.parent / "assets" / "parity.jpg"
FP32_TOLERANCE = 1e-4
MAX_CHECK_IMAGES = 32


@dataclass
class Exported:
    """One written model: where it is, its card, and how it compared with PyTorch (or with fp32)."""

    name: str
    path: Path
    card: dict[str, Any]
    check: str
    registered: bool = False


@dataclass
class ExportRequest:
    """What to export and how."""

    name: str
    out: Path
    opset: int = OPSET
    fp16: bool = False
    int8: bool = False
    register: bool = True
    store: ModelStore | None = None
    card: dict[str, Any] = field(default_factory=dict)  # source, licence, ... merged into every card


def export_run(source: str | Path, which: str | None = None, out: str | Path | None = None, name: str | None = None,
               opset: int = OPSET, fp16: bool = False, int8: bool = False,
               batch_norm_stats: BatchNormStats | None = None, calibration: str | Path | None = None,
               register: bool = True, store: ModelStore | None = None,
               say: Callable[[str], None] = print) -> list[Exported]:
    """Export a generator of a training run (a run folder or a checkpoint file) to ONNX.

    ``batch_norm_stats``: how batch norms run in the file; None as the method runs its generators at test time
    (``Task.inference_stats``: each image's own statistics for the translation GANs, the running averages for a
    distilled student or SRResNet)."""
    require_torch()
    if name is not None and not NAME.match(name):
        raise ConfigError(f"--name '{name}': a model name is letters, digits, '_', '-' and '.', starting with a "
                          "letter or digit")
    source = Path(source)
    path = resolve_checkpoint(source)
    checkpoint = load_checkpoint(path, with_state=False)
    config = config_from_dict(checkpoint.config, str(path))
    task = task_class(config.task)
    if not task.generators:
        raise ConfigError(f"{source}: a {config.task} run has no generator to export (its checkpoint is used as it "
                          "is)")
    which = which or task.generators[0]
    if which not in task.generators:
        raise ConfigError(f"--which {which}: a {config.task} run has {', '.join(task.generators)}")
    run_name = path.parent.parent.name if path.parent.name == "checkpoints" else path.stem
    name = name or (run_name if which == task.generators[0] else f"{run_name}_{which}")
    spec = checkpoint.specs[which]
    net = checkpoint.build(which)
    plan = task.export_plan(config, which, net)
    # what the model was exported from: networks exported apart (a VAE's decoder and encoder) can be matched
    origin = {"source": str(path.resolve()), "step": checkpoint.progress.step, "checkpoint_sha256": sha256_of(path)}
    if plan is not None:  # not image to image: a generator from noise, an encoder
        target = Path(out) if out else Path("export") / f"{name}.onnx"
        card = {**origin, "licence": "as the training data allows"}
        written, card, check = export_latent(plan, name, target, opset, register, store, card, say)
        return [Exported(name, written, card, check, register)]
    info = model_info(config.task, spec, net, config.data.crop_size, task.generator_direction(config, which),
                      batch_norm_stats or task.inference_stats, task.value_range)
    images = _run_images(config, which, say)
    calibration_images = _folder_images(Path(calibration)) if calibration else images
    card = {**origin, "licence": "as the training data allows", **task.export_card(config, which)}
    request = ExportRequest(name, Path(out) if out else Path("export") / f"{name}.onnx", opset, fp16, int8, register,
                            store, card)
    return export_network(net, info, request, images, calibration_images, say)


def export_network(net: Any, info: ModelInfo, request: ExportRequest, images: list[np.ndarray],
                   calibration_images: list[np.ndarray], say: Callable[[str], None] = print) -> list[Exported]:
    """Write the fp32 model and the requested variants, check each, write cards, register them.

    Everything is written and checked in a hidden folder beside ``request.out`` and moved into place only when
    all of it is ready, so a failed check, a folder without write permission or a full disk leaves an earlier
    export at that path as it was; such write failures are a one-line ``WriteError`` naming the file.
    """
    test_net = inference_network(net, info.batch_norm_stats)  # type: ignore[arg-type]
    inputs = np.concatenate([model_input(im, info) for im in images[:MAX_CHECK_IMAGES]])
    out = request.out
    # staged beside `out`, named after this process, so that a killed export is completed (or removed) by the
    # next export into the folder or the next reader of the model (fileio.finish_interrupted_replacements)
    with staged_files(out) as stage:
        written: list[tuple[str, Path, ModelInfo, str]] = []  # name, final path, info, check
        fp32 = stage / out.name
        with writing(out):
            export_onnx(test_net, info, fp32, request.opset)
        model = OnnxModel(fp32, device="cpu")
        info = model.info  # as written, with the number of norm layers whose statistics tiling can share
        reference, expected = model(inputs), torch_output(test_net, inputs)
        error = parity(model, inputs, reference, expected)
        check = f"max |ONNX - PyTorch| = {error:.1e} on {len(inputs)} real images"
        if error > FP32_TOLERANCE:  # a faulty export, or a network that amplifies rounding? float64 tells
            onnx_error, torch_error = float64_errors(test_net, inputs, reference, expected)
            if onnx_error > max(FP32_TOLERANCE, 2 * torch_error):
                raise I2IError(f"{out}: ONNX Runtime and PyTorch differ by {error:.2e} (over {FP32_TOLERANCE:g}; "
                               f"against float64 {onnx_error:.1e} vs PyTorch's {torch_error:.1e}); the export was "
                               "discarded")
            check += (f" (this network amplifies fp32 rounding: against float64, ONNX is off by {onnx_error:.1e} "
                      f"and PyTorch fp32 by {torch_error:.1e})")
        written.append((request.name, out, info, check))
        if request.fp16:
            fp16, fp16_info = _variant(out, "fp16"), replace(info, precision="fp16")
            with writing(fp16):
                to_fp16(fp32, fp16_info, stage / fp16.name)
            half = OnnxModel(stage / fp16.name, device="cpu")(inputs).astype(np.float32)
            diff = float(np.abs(half - reference).max())
            written.append((f"{request.name}-fp16", fp16, fp16_info,
                            f"max |fp16 - fp32| = {diff:.1e}{_y_cost(half, reference, info)}"))
        if request.int8:
            int8, int8_info = _variant(out, "int8"), replace(info, precision="int8")
            calibration = [model_input(im, info) for im in calibration_images[:MAX_CHECK_IMAGES]]
            with writing(int8):  # quantize the all-Conv form (see deploy/subpixel.py)
                quantizable = stage / "subpixel.onnx"
                export_onnx(with_subpixel_upsampling(test_net), info, quantizable, request.opset)
                to_int8(quantizable, int8_info, stage / int8.name, calibration)
                quantizable.unlink()
            quantized = OnnxModel(stage / int8.name, device="cpu")(inputs)
            quality = psnr(quantized, reference, info.range)
            written.append((f"{request.name}-int8", int8, int8_info, f"PSNR against fp32 = {quality:.1f} dB on "
                            f"{len(inputs)} images{_y_cost(quantized, reference, info)}"))
        cards = []
        for name, path, variant_info, variant_check in written:
            cards.append(_card(request, name, stage / path.name, variant_info, variant_check))
            with writing(path.with_suffix(".json")):
                atomic_write_text(stage / f"{path.stem}.json", json.dumps(cards[-1], indent=2) + "\n")
        files = [path for _, path, _, _ in written] + [path.with_suffix(".json") for _, path, _, _ in written]
        with writing(out):  # the models first, then their cards, as one unit (a kill between is completed later)
            replace_together(stage, [(path.name, path) for path in files])
    return [_finish(request, name, path, variant_info, variant_check, card, say)
            for (name, path, variant_info, variant_check), card in zip(written, cards, strict=True)]


def _variant(path: Path, precision: str) -> Path:
    return path.with_name(f"{path.stem}.{precision}{path.suffix}")


def model_info(task: str, spec: NetworkSpec, net: Any, crop_size: int, direction: str,
               batch_norm_stats: BatchNormStats, value_range: tuple[float, float] = (-1.0, 1.0)) -> ModelInfo:
    """The metadata an exported generator carries (see ``ModelInfo``).

    ``crop_size`` is the side of the training images the generator produced; a network that upscales (its
    ``scale`` attribute, super-resolution) took inputs ``scale`` times smaller, which is its ``train_size``.
    """
    scale = int(getattr(net, "scale", 1))
    value_text, normalisation = range_text(value_range)
    return ModelInfo(task=task, architecture=spec.name, in_channels=int(spec.kwargs.get("in_channels", 3)),
                     out_channels=int(spec.kwargs.get("out_channels", 3)),
                     size_multiple=int(getattr(net, "size_multiple", 1)), train_size=max(1, crop_size // scale),
                     direction=direction, batch_norm_stats=batch_norm_stats if has_batch_norm(net) else "none",
                     i2i_version=__version__, value_range=value_text, normalisation=normalisation,
                     network=json.dumps(spec.to_dict()), scale=scale)


def _y_cost(variant: np.ndarray, reference: np.ndarray, info: ModelInfo) -> str:
    """' (PSNR-Y against fp32 = N dB)' for colour models (the SR literature's measure of a variant's cost)."""
    if info.out_channels != 3:
        return ""
    import torch

    low, high = info.range
    to01 = [torch.from_numpy((np.asarray(x, np.float32) - low) / (high - low)) for x in (variant, reference)]
    value = float(psnr_y(*to01).mean())
    return f" (PSNR-Y against fp32 = {value:.1f} dB)"


def _card(request: ExportRequest, name: str, path: Path, info: ModelInfo, check: str) -> dict[str, Any]:
    """The model card of the file ``path``: where it came from, what it is, how it was checked."""
    return {"name": name, **request.card, "task": info.task, "architecture": info.architecture,
            "direction": info.direction, "in_channels": info.in_channels, "out_channels": info.out_channels,
            "scale": info.scale, "value_range": info.value_range, "size_multiple": info.size_multiple,
            "train_size": info.train_size,
            "batch_norm_stats": info.batch_norm_stats, "precision": info.precision, "check": check,
            "sha256": sha256_of(path), "bytes": path.stat().st_size, "i2i_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def _finish(request: ExportRequest, name: str, path: Path, info: ModelInfo, check: str, card: dict[str, Any],
            say: Callable[[str], None]) -> Exported:
    """Register a written model (when asked) and report it."""
    if request.register:
        store = request.store or ModelStore()
        try:
            store.add(name, path, card)
        except OSError as e:
            raise WriteError(f"{path} is written, but registering it as '{name}' in {store.root} failed "
                             f"({e.strerror or e})", e.errno, e.strerror) from e
    say(f"{path}  ({card['bytes'] / 1e6:.1f} MB, {info.precision}): {check}"
        + (f"; registered as '{name}'" if request.register else ""))
    return Exported(name, path, card, check, request.register)


def _folder_images(folder: Path) -> list[np.ndarray]:
    paths = list_images(folder)[:MAX_CHECK_IMAGES]
    if not paths:
        raise DataError(f"{folder}: no images for calibration")
    return [read_image(p) for p in paths]


def _run_images(config: Any, which: str, say: Callable[[str], None]) -> list[np.ndarray]:
    """What the generator takes as input, from the run's data (its task knows where), or the package's sample."""
    try:
        images = task_class(config.task).export_inputs(config, which, MAX_CHECK_IMAGES)
    except DataError:
        images = []
    if not images:
        say(f"note: the run's data ({config.data.root}) is not readable here; checking on i2i's sample image instead")
        return [read_image(PACKAGE_IMAGE)]
    return images


def export_reference(pth: Path, architecture: str, norm: str, name: str, card: dict[str, Any], task: str,
                     direction: str = "", store: ModelStore | None = None,
                     say: Callable[[str], None] = print, scale: int | None = None) -> Exported:
    """Convert a reference ``.pth`` generator into a model in the store (checked on the sample image).

    The pix2pix / CycleGAN reference models were trained at 256x256; per-image batch-norm statistics reproduce
    their test mode. Super-resolution files (BasicSR, Real-ESRGAN; ``scale`` checked when given) take images in
    [0, 1], as those projects feed them, and were trained on 256-pixel HR patches.
    """
    from .reference import is_sr_architecture, load_reference_generator, load_sr_generator

    if is_sr_architecture(architecture):
        net, spec = load_sr_generator(pth, architecture, scale)
        info = model_info(task, spec, net, 256, direction, "running", (0.0, 1.0))
    else:
        net, spec = load_reference_generator(pth, architecture, norm)
        info = model_info(task, spec, net, 256, direction, "batch")
    store = store or ModelStore()
    staging = store.root / "staging" / f"{name}.onnx"
    source_sha256 = card.get("source_file_sha256") or sha256_of(pth)  # a download already knows it
    request = ExportRequest(name, staging, store=store, card={**card, "source_sha256": source_sha256})
    try:
        (result,) = export_network(net, info, request, [read_image(PACKAGE_IMAGE)], [], say)
    finally:
        for leftover in (staging, staging.with_suffix(".json")):
            leftover.unlink(missing_ok=True)
    stored = store.get(name)
    assert stored is not None
    return replace(result, path=stored.path)
