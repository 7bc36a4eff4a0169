"""``i2i eval``: FID, KID, LPIPS, PSNR and SSIM of a run's checkpoint, an exported model or a folder of images.

Three entry points, one scorer:

- ``evaluate_folders(generated, real)``: two folders; paired metrics when the files pair up by name.
- ``evaluate_run(run_dir)``: a run's checkpoint translates its validation split (or ``split``), prepared as the
  run's validation prepares it, and is scored against the split's targets; recorded in ``RUN/eval.json``.
- ``evaluate_model(model, data, split)``: an exported or named model (ONNX) on a data folder's split, images
  resized to the model's training size as the reference test script does.

Generated images are quantised to uint8 before they are measured, as saved images would be. The FID variant is
described in ``FID_VARIANT`` (and in docs/evaluation.md), so numbers can be compared with published tables.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import platform
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import TrainConfig, apply_overrides
from ..engine.checkpoint import load_checkpoint, resolve_checkpoint
from ..engine.devices import resolve_device
from ..errors import ConfigError, DataError, DownloadError, WriteError, did_you_mean
from ..fileio import atomic_write_text
from ..images import MAX_PIXELS, list_images, to_channels
from ..metrics.backbones import LPIPS_MIN_SIDE, LPIPS_NETS, WeightsSource, inception, lpips_network
from ..metrics.comparison import Comparison
from ..metrics.distances import KID_SUBSETS, frechet_distance, kernel_distance, kid_subset_size
from ..metrics.paired import LPIPS, psnr, ssim
from ..nn import inference_mode
from ..tasks import config_from_dict, task_class
from .features import FeatureBatcher, FeatureCache, file_digest
from .image_sets import ImageRef, ImageSet, eval_images, prefetched

FID_VARIANT = ("Inception v3 pool3 (2048 features) with the TensorFlow 2015-12-05 weights (pt_inception-2015-12-05), "
               "torch-fidelity's network via torchmetrics; images quantised to uint8, resized to 299x299 with "
               "TensorFlow 1's bilinear filter (no antialiasing) and scaled as (x - 128) / 128, as torch-fidelity, "
               "clean-fid's legacy_tensorflow mode and the original TTUR code do (stock pytorch-fid uses the same "
               "weights but resizes with torch's bilinear filter and scales inputs as 2x-1, so its FIDs are not "
               "these)")
METRIC_ORDER = ("FID", "KID", "KID_std", "LPIPS", "PSNR", "SSIM")
METRICS = ("fid", "kid", "lpips", "psnr", "ssim")  # what --metrics chooses from
FEATURE_METRICS = frozenset({"fid", "kid"})  # those measured on Inception features (they need its weights)
NO_WEIGHTS_HINT = "--metrics psnr,ssim, which needs no weights"
Translate = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class EvalOptions:
    """How to score: device and batch size, KID's subsets, the LPIPS backbone, where weights and caches are."""

    device: str = "auto"
    batch_size: int = 32
    kid_subsets: int = KID_SUBSETS
    kid_subset_size: int | None = None  # None: min(1000, images)
    lpips_net: str = "alex"
    weights: tuple[str, ...] = ()  # files given with --weights (recognised by their tensors)
    mirror: str | None = None
    cache: bool = True
    seed: int = 0
    max_images: int | None = None
    progress: bool = False
    metrics: tuple[str, ...] = METRICS  # which of fid, kid, lpips, psnr, ssim to score (where they apply)
    max_pixels: int = MAX_PIXELS  # images with more pixels are refused before they are decoded

    def check(self) -> None:
        """One-line ConfigErrors for options that cannot work, before anything is loaded."""
        for flag, value, low in (("--batch-size", self.batch_size, 1), ("--kid-subsets", self.kid_subsets, 1),
                                 ("--kid-subset-size", self.kid_subset_size, 2), ("--max-images", self.max_images, 1),
                                 ("--max-pixels", self.max_pixels, 1)):
            if value is not None and value < low:
                raise ConfigError(f"{flag} {value}: must be at least {low}")
        if self.lpips_net not in LPIPS_NETS:
            raise ConfigError(f"--lpips-net {self.lpips_net}: choose {', '.join(LPIPS_NETS)}")
        _check_metric_names(self.metrics)

    def wants(self, *names: str) -> bool:
        """Whether any of the metrics ``names`` (fid, kid, lpips, psnr, ssim) is to be scored."""
        return any(name in self.metrics for name in names)


def parse_metrics(text: str | None) -> tuple[str, ...]:
    """``--metrics fid,kid,lpips,psnr,ssim`` (any case, spaces allowed) as a tuple, all of them for None; one-line
    errors otherwise."""
    if text is None:
        return METRICS
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    _check_metric_names(names)
    return names


def _check_metric_names(names: Iterable[str]) -> None:
    names = list(names)
    for name in names:
        if name not in METRICS:
            raise ConfigError(f"--metrics: unknown metric '{name}'{did_you_mean(name, METRICS)}; choose from "
                              f"{', '.join(METRICS)}")
    if not names:
        raise ConfigError(f"--metrics: choose at least one of {', '.join(METRICS)}")


def metric_family(key: str) -> str:
    """The --metrics name a score belongs to: 'PSNR_Y' -> 'psnr', 'KID_std' -> 'kid'."""
    return key.split("_", 1)[0].lower()


def check_pairing(options: EvalOptions, paired: bool, why: str) -> None:
    """A one-line error when only paired metrics were asked for and the images have no partners (``why``)."""
    if not paired and not options.wants(*FEATURE_METRICS):
        chosen = ",".join(options.metrics)
        raise DataError(f"--metrics {chosen}: compares each image with its partner of the same name, but {why}; "
                        "choose fid or kid")


@dataclass
class Score:
    """The metrics of one generator (or one folder of generated images) against its reference images."""

    name: str
    direction: str
    images: int
    references: int
    paired: bool
    metrics: dict[str, float]
    kid_subset_size: int = 0

    @property
    def title(self) -> str:
        return f"{self.name} ({self.direction})" if self.direction else self.name


@dataclass
class Evaluation:
    """Everything ``i2i eval`` measured, with what it measured and how (``to_dict`` for JSON)."""

    kind: str  # "folders", "run" or "model"
    source: str
    references: str
    split: str
    scores: list[Score]
    settings: dict[str, Any]
    step: int | None = None
    seconds: float = 0.0
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; an infinite PSNR (identical images) is written as the string 'inf'."""
        return _json_safe(dataclasses.asdict(self))

    def table(self) -> str:
        """The scores as an aligned text table, one row per generator."""
        names = [m for m in METRIC_ORDER if m != "KID_std" and any(m in s.metrics for s in self.scores)]
        names += sorted({m for s in self.scores for m in s.metrics} - set(METRIC_ORDER))
        header = ["", "images", *names]
        rows = [[s.title, f"{s.images}/{s.references}", *[_show(s, m) for m in names]] for s in self.scores]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                         for row in [header, *rows])


def _show(score: Score, name: str) -> str:
    value = score.metrics.get(name)
    if value is None:
        return "-"
    if name == "KID":
        return f"{value:.4f} ± {score.metrics.get('KID_std', 0.0):.4f}"
    if metric_family(name) in ("fid", "psnr"):  # PSNR_Y too
        return f"{value:.2f}"
    return f"{value:.4f}"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else "-inf" if value < 0 else "nan"
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


@dataclass
class Output:
    """A generated image, with the target of the same scene when the data are paired, and a name for errors."""

    image: np.ndarray
    target: np.ndarray | None
    name: str


class Scorer:
    """Holds the measuring networks (loaded once) and scores sets of generated images against references."""

    def __init__(self, options: EvalOptions, say: Callable[[str], None] = print) -> None:
        options.check()
        self.options, self.say = options, say
        self.device = resolve_device(options.device)
        self.weights = WeightsSource.from_files(options.weights, options.mirror, say)
        self.files: dict[str, str] = {}
        self.inception: nn.Module | None = None
        self.extractor = ""
        if options.wants(*FEATURE_METRICS):
            try:
                net, path = inception(self.weights)
            except DownloadError as e:  # an offline machine: say how to score without it
                raise DownloadError(f"{e} (FID and KID need the Inception weights: give --weights FILE, or score "
                                    f"without them with {NO_WEIGHTS_HINT})") from None
            self.inception = net.to(self.device)
            self.files["inception"] = str(path)
            self.extractor = f"inception-v3-compat pool3, tf1x bilinear, weights sha256 {file_digest(path)}"
        self.cache = FeatureCache(enabled=options.cache)
        self._lpips: LPIPS | None = None

    def lpips(self) -> LPIPS:
        """The LPIPS network, loaded on first use (only paired data need it)."""
        if self._lpips is None:
            try:
                net, path = lpips_network(self.options.lpips_net, self.weights)
            except DownloadError as e:
                raise DownloadError(f"{e} (LPIPS needs these weights: give --weights FILE, or leave LPIPS out of "
                                    f"--metrics, e.g. {NO_WEIGHTS_HINT})") from None
            self._lpips = LPIPS(net).to(self.device)
            self.files["lpips"] = str(path)
        return self._lpips

    def settings(self) -> dict[str, Any]:
        """How the numbers were made: the metrics, FID variant, KID's subsets, LPIPS, the weights files, the machine."""
        options = self.options
        settings: dict[str, Any] = {"metrics": list(options.metrics)}
        if options.wants("fid"):
            settings["fid"] = FID_VARIANT
        if options.wants("kid"):
            settings.update(kid_subsets=options.kid_subsets, kid_seed=options.seed)
        if options.wants("lpips"):
            settings["lpips"] = f"LPIPS v0.1, {options.lpips_net} backbone (torchmetrics)"
        if options.wants("psnr", "ssim"):
            settings["psnr_ssim"] = "kornia, RGB, data range 1, SSIM 11x11 Gaussian window (sigma 1.5)"
        return {**settings, "weights": dict(self.files), "device": str(self.device), "versions": versions(),
                "machine": platform.platform()}

    def _batcher(self) -> FeatureBatcher:
        assert self.inception is not None, "Inception is loaded when FID or KID is scored"
        return FeatureBatcher(self.inception, self.device, self.options.batch_size)

    def _bar(self, items: Iterable[Any], total: int, what: str) -> Iterator[Any]:
        from tqdm import tqdm

        yield from tqdm(items, total=total, desc=what, unit="img", leave=False, disable=not self.options.progress,
                        file=sys.stderr, dynamic_ncols=True)

    def reference_features(self, images: ImageSet) -> np.ndarray:
        """Inception features of a reference set: from the cache when its contents were scored before."""
        if not len(images):
            raise DataError(f"{images.label}: no reference images")
        key = self.cache.key(images, self.extractor)
        cached = self.cache.load(key, len(images))
        if cached is not None:
            return cached
        batcher = self._batcher()
        for image in self._bar(prefetched(images.load, len(images)), len(images), "reference images"):
            batcher.add(image)
        features = batcher.result()
        self.cache.save(key, features)
        return features

    def score(self, name: str, direction: str, outputs: Iterable[Output], count: int, references: ImageSet,
              extra_metrics: Mapping[str, Callable[[Any, Any], Any]] | None = None) -> Score:
        """FID and KID of ``outputs`` against ``references``, and the per-image paired metrics where targets exist."""
        if count == 0:
            raise DataError(f"{name or references.label}: no images to score")
        options = self.options
        if options.wants("kid"):
            kid_subset_size(len(references), count, options.kid_subset_size)  # before any network runs
        features = options.wants(*FEATURE_METRICS)
        real = self.reference_features(references) if features else None
        batcher = self._batcher() if features else None
        per_image: dict[str, list[float]] = defaultdict(list)
        scored = 0
        for output in self._bar(outputs, count, name or "generated images"):
            scored += 1
            if batcher is not None:
                batcher.add(output.image)
            if output.target is not None:
                for key, value in self._paired(output, extra_metrics or {}).items():
                    per_image[key].append(value)
        metrics: dict[str, float] = {}
        subset_size = 0
        if batcher is not None and real is not None:
            fake = batcher.result()
            if options.wants("fid"):
                metrics["FID"] = frechet_distance(real, fake)
            if options.wants("kid"):
                kid = kernel_distance(real, fake, options.kid_subsets, options.kid_subset_size, options.seed)
                metrics.update(KID=kid.mean, KID_std=kid.std)
                subset_size = kid.subset_size
        metrics.update({key: float(np.mean(values)) for key, values in per_image.items()})
        return Score(name, direction, scored, len(references), bool(per_image), metrics, subset_size)

    @torch.no_grad()
    def _paired(self, output: Output, extra: Mapping[str, Callable[[Any, Any], Any]]) -> dict[str, float]:
        image, target = output.image, output.target
        assert target is not None
        if image.shape[:2] != target.shape[:2]:
            raise DataError(f"{output.name}: {image.shape[1]}x{image.shape[0]}, but its target is "
                            f"{target.shape[1]}x{target.shape[0]}; paired images must have one size")
        options = self.options
        if options.wants("lpips") and min(image.shape[:2]) < LPIPS_MIN_SIDE[options.lpips_net]:
            raise DataError(f"{output.name}: {image.shape[1]}x{image.shape[0]} is too small for LPIPS "
                            f"({options.lpips_net}: at least {LPIPS_MIN_SIDE[options.lpips_net]} pixels a side); "
                            "leave LPIPS out of --metrics")
        channels = 3 if image.shape[2] >= 3 or target.shape[2] >= 3 else 1  # grey vs colour: compared as colour
        out, tgt = (torch.from_numpy(np.ascontiguousarray(to_channels(x, channels).transpose(2, 0, 1)))[None]
                    .to(self.device).float().div_(255) for x in (image, target))
        values: dict[str, float] = {}
        if options.wants("psnr"):
            values["PSNR"] = float(psnr(out, tgt)[0])
        if options.wants("ssim"):
            values["SSIM"] = float(ssim(out, tgt)[0])
        if options.wants("lpips"):
            values["LPIPS"] = float(self.lpips()(out * 2 - 1, tgt * 2 - 1)[0])
        values.update({key: float(fn(out, tgt)[0]) for key, fn in extra.items() if options.wants(metric_family(key))})
        return values


def versions() -> dict[str, str]:
    """Versions of what the numbers depend on."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    found = {"i2i": __version__, "python": platform.python_version()}
    for package in ("torch", "torchvision", "torchmetrics", "torch-fidelity", "kornia"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def torch_translator(net: nn.Module, value_range: tuple[float, float], device: torch.device) -> Translate:
    """A generator as (H, W, C) uint8 -> uint8 at test time: per-image batch-norm statistics, no dropout, as the
    exported model runs; its outputs are rounded as ``Translator`` rounds them."""
    low, high = value_range
    scale = (high - low) / 255

    def translate(image: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(device).float()
        with torch.no_grad(), inference_mode(net, "batch"):
            y = net(x.mul_(scale).add_(low)).float()
        y = ((y - low) / scale + 0.5).floor_().clamp_(0, 255).to(torch.uint8)
        return y[0].permute(1, 2, 0).cpu().numpy()

    return translate


def translated(inputs: ImageSet, targets: ImageSet | None, translate: Translate) -> Iterator[Output]:
    """Each input translated, with its target when ``targets`` pairs with ``inputs`` (decoding runs ahead)."""
    def load(index: int) -> tuple[np.ndarray, np.ndarray | None]:
        return inputs.load(index), (targets.load(index) if targets is not None else None)

    for index, (image, target) in enumerate(prefetched(load, len(inputs))):
        yield Output(translate(image), target, inputs.refs[index].describe())


def score_comparison(scorer: Scorer, comparison: Comparison, direction: str, inputs: ImageSet, targets: ImageSet,
                     translate: Translate) -> Score:
    """Translate ``inputs`` and score the outputs against ``targets`` (pair by pair too when paired)."""
    outputs = translated(inputs, targets if comparison.paired else None, translate)
    return scorer.score(comparison.generator, direction, outputs, len(inputs), targets, comparison.extra_metrics)


def score_baselines(scorer: Scorer, comparison: Comparison, direction: str, inputs: ImageSet,
                    targets: ImageSet) -> list[Score]:
    """The comparison's baselines (bicubic upscaling for super-resolution) scored as its generator is, one row each."""
    return [score_comparison(scorer, dataclasses.replace(comparison, generator=f"{name} (baseline)"), direction,
                             inputs, targets, make) for name, make in comparison.baselines.items()]


# --- two folders ----------------------------------------------------------------------------------------------
def _by_name(folder: Path) -> tuple[list[Path], dict[str, Path]]:
    images = list_images(folder)
    names: dict[str, Path] = {}
    for path in images:
        names.setdefault(path.relative_to(folder).with_suffix("").as_posix(), path)
    return images, names


def evaluate_folders(generated: str | Path, real: str | Path, options: EvalOptions | None = None,
                     paired: bool | None = None, say: Callable[[str], None] = print) -> Evaluation:
    """Score the images in ``generated`` against those in ``real``.

    ``paired`` None: LPIPS, PSNR and SSIM too when every file pairs up by name (``a.png`` with ``a.jpg``); True:
    pairing is required (an error names the first file without a partner); False: FID and KID only.
    """
    options = options or EvalOptions()
    options.check()
    started = time.perf_counter()
    folders = []
    for folder in (Path(generated), Path(real)):
        if not folder.is_dir():
            raise DataError(f"{folder}: no such folder")
        images, names = _by_name(folder)
        if not images:
            raise DataError(f"{folder}: no images")
        folders.append((folder, images, names))
    (gen_dir, gen_images, gen_names), (real_dir, real_images, real_names) = folders
    pairs = _pairs(gen_dir, gen_images, gen_names, real_dir, real_images, real_names, paired)
    if pairs is not None and options.max_images:
        pairs = pairs[: options.max_images]
    gen_images, real_images = gen_images[: options.max_images], real_images[: options.max_images]
    if pairs is not None:
        gen_images, real_images = [g for g, _ in pairs], [r for _, r in pairs]
    check_pairing(options, pairs is not None, f"{gen_dir} and {real_dir} do not pair up by name")
    scorer = Scorer(options, say)
    references = ImageSet([ImageRef(p) for p in real_images], label=str(real_dir), max_pixels=options.max_pixels)
    generated_set = ImageSet([ImageRef(p) for p in gen_images], label=str(gen_dir), max_pixels=options.max_pixels)
    targets = references if pairs is not None else None
    outputs = translated(generated_set, targets, lambda image: image)
    score = scorer.score(str(gen_dir), "", outputs, len(generated_set), references)
    return Evaluation("folders", str(gen_dir), str(real_dir), "", [score], scorer.settings(),
                      seconds=round(time.perf_counter() - started, 2))


def _pairs(gen_dir: Path, gen_images: list[Path], gen_names: dict[str, Path], real_dir: Path,
           real_images: list[Path], real_names: dict[str, Path], paired: bool | None) -> list[tuple[Path, Path]] | None:
    """(generated, real) files matched by name, or None when they are not to be (or cannot be) paired."""
    if paired is False:
        return None
    unique = len(gen_names) == len(gen_images) and len(real_names) == len(real_images)
    if unique and gen_names.keys() == real_names.keys():
        return [(gen_names[k], real_names[k]) for k in sorted(gen_names)]
    if not paired:
        return None
    if len(gen_images) != len(real_images):
        raise DataError(f"{gen_dir} has {len(gen_images)} images and {real_dir} {len(real_images)}: pairing needs "
                        "one real image per generated one (leave out --paired for FID and KID only)")
    if not unique:
        raise DataError(f"{gen_dir if len(gen_names) < len(gen_images) else real_dir}: two files share a name "
                        "(a.jpg and a.png), so images cannot be paired by name")
    first = sorted(gen_names.keys() - real_names.keys())[0]
    raise DataError(f"{gen_names[first]}: no image of the same name in {real_dir}")


# --- a run's checkpoint ---------------------------------------------------------------------------------------
def find_checkpoint(source: str | Path) -> tuple[Path, Path | None]:
    """(checkpoint file, run folder or None) for a run folder or a checkpoint file."""
    path = resolve_checkpoint(source, hint="; to compare two image folders give both: i2i eval GENERATED REAL")
    return path, (path.parent.parent if path.parent.name == "checkpoints" else None)


def evaluate_run(source: str | Path, options: EvalOptions | None = None, split: str | None = None,
                 data: str | Path | None = None, which: Iterable[str] | None = None, record: bool = True,
                 say: Callable[[str], None] = print) -> Evaluation:
    """Score a run's checkpoint (its latest, or the given file) on its validation split or ``split``.

    ``data`` replaces the run's data folder (moved data); ``which`` limits the generators scored. The result is
    also recorded in the run folder's ``eval.json`` (``record``), where ``i2i report`` finds it.
    """
    options = options or EvalOptions()
    options.check()
    started = time.perf_counter()
    path, run_dir = find_checkpoint(source)
    checkpoint = load_checkpoint(path, with_state=False)
    config = config_from_dict(checkpoint.config, str(path))
    if data is not None:
        config = apply_overrides(config, {"data": {"root": str(data)}}, "--data")
    if not Path(config.data.root).is_dir():
        raise DataError(f"{config.data.root}: the run's data folder is not here; give --data FOLDER")
    task_cls = task_class(config.task)
    chosen = _chosen(task_cls.comparisons(config), which, config)
    multiple = task_cls.check_config(config)
    for comparison in chosen:
        check_pairing(options, comparison.paired, f"a {config.task} run's {comparison.generator} has no paired targets")
    sets = [(c, *eval_images(config, c, split, options.max_images, multiple, options.max_pixels))
            for c in chosen]  # data errors first
    scorer = Scorer(options, say)
    scores = []
    for comparison, inputs, targets, _ in sets:
        net = checkpoint.build(comparison.generator).to(scorer.device)
        translate = torch_translator(net, task_cls.value_range, scorer.device)
        direction = task_cls.generator_direction(config, comparison.generator)
        scores.append(score_comparison(scorer, comparison, direction, inputs, targets, translate))
        scores += score_baselines(scorer, comparison, direction, inputs, targets)
        del net
    evaluation = Evaluation("run", str(path), f"{config.data.root}", sets[0][3], scores, scorer.settings(),
                            step=checkpoint.progress.step, seconds=round(time.perf_counter() - started, 2))
    if record and run_dir is not None:
        try:
            record_evaluation(run_dir, evaluation)
        except WriteError as e:  # a read-only run folder is still scored; only the report's copy is missing
            say(f"note: {e}: the result was not recorded for i2i report")
    return evaluation


def _chosen(found: tuple[Comparison, ...], which: Iterable[str] | None, config: TrainConfig) -> list[Comparison]:
    if not found:
        raise ConfigError(f"a {config.task} run declares nothing for i2i eval to compare (a generator from noise "
                          "is scored during training with --classifier RUN; or write samples with i2i sample --folder "
                          "SAMPLES and score them against real images: i2i eval SAMPLES/ REAL/)")
    if which is None:
        return list(found)
    wanted = list(which)
    names = [c.generator for c in found]
    for name in wanted:
        if name not in names:
            raise ConfigError(f"--which {name}: a {config.task} run has {', '.join(names)}")
    return [c for c in found if c.generator in wanted]


def record_evaluation(run_dir: Path, evaluation: Evaluation) -> Path:
    """Add ``evaluation`` to ``RUN/eval.json`` (replacing one of the same checkpoint step, split and data)."""
    path = run_dir / "eval.json"
    entries = load_evaluations(run_dir)
    new = evaluation.to_dict()
    same = ("step", "split", "references", "source")
    entries = [e for e in entries if any(e.get(k) != new.get(k) for k in same)] + [new]
    atomic_write_text(path, json.dumps({"evaluations": entries}, indent=1) + "\n")
    return path


def load_evaluations(run_dir: Path) -> list[dict[str, Any]]:
    """The evaluations recorded in ``RUN/eval.json`` (none if it is missing or unreadable)."""
    try:
        data = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = data.get("evaluations") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


# --- an exported model on a data folder ---------------------------------------------------------------------
def evaluate_model(model: str, data: str | Path, split: str | None = None, options: EvalOptions | None = None,
                   direction: str | None = None, size: int | None = None,
                   say: Callable[[str], None] = print) -> Evaluation:
    """Score an exported or named model (ONNX) on a data folder's ``split`` (default: its validation split).

    Images are resized to ``size`` x ``size`` (default: the model's training size), as the reference test script
    does, then translated with ONNX Runtime. ``direction`` says which way the model translates when its
    metadata does not (the reference pretrained models).
    """
    from ..deploy.resolve import resolve_model
    from ..infer import OnnxModel, Translator

    options = options or EvalOptions()
    options.check()
    if size is not None and size < 1:
        raise ConfigError(f"--size {size}: give a positive number of pixels")
    if size is not None and size * size > options.max_pixels:
        raise ConfigError(f"--size {size}: {size}x{size} is {size * size / 1e6:.0f} megapixels, over the limit of "
                          f"{options.max_pixels / 1e6:.0f} (--max-pixels)")
    if direction not in (None, "AtoB", "BtoA"):
        raise ConfigError(f"--direction {direction}: choose AtoB or BtoA")
    started = time.perf_counter()
    path, name = resolve_model(model, mirror=options.mirror, say=say)
    device = "cpu" if options.device == "cpu" else "cuda" if options.device.startswith("cuda") else "auto"
    onnx = OnnxModel(path, device, name=name)
    info = onnx.info
    task_cls = task_class(info.task)
    direction = direction or info.direction
    defaults = task_cls.default_config()
    if not direction and any(task_cls.generator_direction(defaults, g) for g in task_cls.generators):
        raise ConfigError(f"model {name} does not record which way it translates; give --direction AtoB or BtoA")
    config = task_cls.config_for_model(str(data), info, direction, size)
    found = [c for c in task_cls.comparisons(config)
             if task_cls.generator_direction(config, c.generator) == direction]
    if not found:
        raise ConfigError(f"model {name}: its task ({info.task}) declares nothing to compare"
                          + (f" for {direction}" if direction else ""))
    comparison = found[0]
    check_pairing(options, comparison.paired, f"a {info.task} model's outputs have no paired targets")
    lpips_side = LPIPS_MIN_SIDE[options.lpips_net]
    if comparison.paired and options.wants("lpips") and size is not None and size < lpips_side:
        raise ConfigError(f"--size {size}: LPIPS ({options.lpips_net}) needs images of at least {lpips_side} pixels; "
                          "give a larger --size, or leave LPIPS out of --metrics")
    inputs, targets, used_split = eval_images(config, comparison, split, options.max_images, info.size_multiple,
                                              options.max_pixels)
    scorer = Scorer(options, say)
    translator = Translator(onnx, tile=0)
    score = score_comparison(scorer, dataclasses.replace(comparison, generator=name), direction, inputs, targets,
                             translator)
    baselines = score_baselines(scorer, comparison, direction, inputs, targets)
    return Evaluation("model", str(path), str(data), used_split, [score, *baselines], scorer.settings(),
                      seconds=round(time.perf_counter() - started, 2))


def save_json(path: str | Path, evaluation: Evaluation) -> Path:
    """Write an evaluation as JSON, atomically."""
    atomic_write_text(path, json.dumps(evaluation.to_dict(), indent=1) + "\n")
    return Path(path)


# --- during training ------------------------------------------------------------------------------------------
class TrainingEvaluator:
    """``--eval-every``: FID and KID (and LPIPS, PSNR, SSIM on paired data) of the live generators on the run's
    validation images. Built before training starts, so missing weights stop the run at once, not hours later."""

    def __init__(self, config: TrainConfig, device: torch.device, say: Callable[[str], None] = print) -> None:
        task_cls = task_class(config.task)
        self.value_range, self.device = task_cls.value_range, device
        self.comparisons = _chosen(task_cls.comparisons(config), None, config)
        multiple = task_cls.check_config(config)
        self.sets = [(c, task_cls.generator_direction(config, c.generator),
                      *eval_images(config, c, None, config.data.val_images, multiple)[:2]) for c in self.comparisons]
        with random_state_kept(device):  # building networks draws initial weights from the global generators
            self.scorer = Scorer(EvalOptions(device=str(device)), say)
            if any(c.paired for c in self.comparisons):
                self.scorer.lpips()

    def __call__(self, networks: Mapping[str, nn.Module]) -> dict[str, float]:
        """Metrics by name (suffixed with the generator when a task has several), for the metrics log."""
        with random_state_kept(self.device):
            return self._score(networks)

    def _score(self, networks: Mapping[str, nn.Module]) -> dict[str, float]:
        values: dict[str, float] = {}
        for comparison, direction, inputs, targets in self.sets:
            translate = torch_translator(networks[comparison.generator], self.value_range, self.scorer.device)
            score = score_comparison(self.scorer, comparison, direction, inputs, targets, translate)
            suffix = f"_{comparison.generator}" if len(self.sets) > 1 else ""
            values.update({f"{key}{suffix}": value for key, value in score.metrics.items()})
        return values


@contextlib.contextmanager
def random_state_kept(device: torch.device) -> Iterator[None]:
    """Inside the block, the global random generators (Python, NumPy, torch on the CPU and ``device``) may be used;
    afterwards they are as before, so evaluating during training leaves its exact resume intact."""
    python, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        try:
            yield
        finally:
            random.setstate(python)
            np.random.set_state(numpy_state)

