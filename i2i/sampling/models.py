"""A generator from noise (and a VAE's encoder) behind one interface, from an ONNX export or a training run.

ONNX models run in ONNX Runtime with NumPy only; a run's checkpoint needs torch and runs what its export
would contain (the task's ``export_plan``), so the two give the same images for the same z.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelError
from ..fileio import sha256_of
from ..images import resize_image, to_channels
from .grids import to_uint8


class _Described:
    """What the metadata says: latent size, classes, image size, channels, value range, interpolation."""

    def _describe(self, meta: dict[str, str], where: str, kind: str) -> None:
        if meta.get("kind") != kind:
            what = {"latent": "generates from noise", "encoder": "is a VAE's encoder"}.get(meta.get("kind", ""),
                                                                                          "translates images")
            wanted = "a generator from noise (i2i export of a dcgan or vae run)" if kind == "latent" else \
                "a VAE's encoder (i2i export RUN --which E)"
            raise ModelError(f"{where}: this model {what}; this command needs {wanted}")
        try:
            self.latent_dim = int(meta["latent_dim"])
            self.classes: list[str] = list(json.loads(meta.get("classes", "[]")))
            self.image_size, self.channels = int(meta["image_size"]), int(meta["channels"])
            low, high = (float(v) for v in meta["value_range"].split(","))
        except (KeyError, ValueError) as e:
            raise ModelError(f"{where}: incomplete i2i metadata ({e})") from None
        self.value_range = (low, high)
        self.interpolation = meta.get("interpolation", "slerp")
        self.task = meta.get("task", "")
        self.where = where
        # the checkpoint it was exported from (exports by i2i 0.1.0 before this was recorded: unknown)
        self.checkpoint_sha256, self.step = meta.get("checkpoint_sha256", ""), meta.get("step", "?")


class Generator(_Described, ABC):
    """``generate(z, labels)``: (N, latent_dim) float32 noise [and (N,) class indices] -> (N, H, W, C) uint8."""

    def generate(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ConfigError(f"{self.where}: expects z of shape (N, {self.latent_dim}), got {z.shape}")
        if self.classes and labels is None:
            raise ConfigError(f"{self.where}: a conditional model: give a class (--label; one of "
                              f"{', '.join(self.classes)})")
        labels = None if not self.classes else np.asarray(labels, np.int64)
        return to_uint8(self._run(z, labels), self.value_range)

    @abstractmethod
    def _run(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """(N, C, H, W) float images in the value range."""


class Encoder(_Described, ABC):
    """``encode(images)``: (H, W, C) uint8 images of any size -> (mean, log-variance), each (N, latent_dim)."""

    def prepare(self, images: list[np.ndarray]) -> np.ndarray:
        """Shorter side to the training size, centre crop, channels, value range: (N, C, S, S) float32."""
        size, batch = self.image_size, []
        for image in images:
            h, w = image.shape[:2]
            scale = size / min(h, w)
            image = resize_image(image, max(size, round(w * scale)), max(size, round(h * scale)))
            top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
            image = to_channels(image[top : top + size, left : left + size].reshape(size, size, -1), self.channels)
            batch.append(image.transpose(2, 0, 1))
        low, high = self.value_range
        return (np.stack(batch).astype(np.float32) / 255.0 * (high - low) + low).astype(np.float32)

    def encode(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return self._run(self.prepare(images))

    @abstractmethod
    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, log-variance) for a prepared batch."""


def _session(path: Path, device: str) -> Any:
    import onnxruntime as ort

    from ..infer.model import choose_providers, usable_cores

    options = ort.SessionOptions()
    options.intra_op_num_threads = usable_cores()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=choose_providers(device))
    except Exception as e:  # an unreadable or foreign file: ORT's own exception types vary by version
        detail = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise ModelError(f"{path}: not a model ONNX Runtime can load ({detail})") from None


def _metadata(session: Any) -> dict[str, str]:
    meta = session.get_modelmeta().custom_metadata_map
    return {k[4:]: v for k, v in meta.items() if k.startswith("i2i.")}


class OnnxGenerator(Generator):
    """An exported generator from noise in ONNX Runtime."""

    def __init__(self, path: Path, device: str = "auto") -> None:
        self.session = _session(path, device)
        self._describe(_metadata(self.session), str(path), "latent")

    def _run(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        feed = {"z": z} if labels is None else {"z": z, "label": labels}
        return self.session.run(["image"], feed)[0]


class OnnxEncoder(Encoder):
    """An exported VAE encoder in ONNX Runtime."""

    def __init__(self, path: Path, device: str = "auto") -> None:
        self.session = _session(path, device)
        self._describe(_metadata(self.session), str(path), "encoder")

    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, log_var = self.session.run(["mean", "log_var"], {"image": batch})
        return mean, log_var


class _CheckpointNetwork:
    """A network of a run, as its task would export it (needs torch)."""

    def __init__(self, source: Path, which: str) -> None:
        from ..engine.checkpoint import load_checkpoint, resolve_checkpoint
        from ..tasks import config_from_dict, task_class

        path = resolve_checkpoint(source)
        checkpoint = load_checkpoint(path, with_state=False)
        config = config_from_dict(checkpoint.config, str(path))
        task = task_class(config.task)
        if which not in task.generators:
            raise ConfigError(f"{source}: a {config.task} run has no network {which}")
        plan = task.export_plan(config, which, checkpoint.build(which))
        if plan is None:
            raise ModelError(f"{source}: this run translates images (i2i translate, after i2i export); this command "
                             "needs a generator from noise")
        origin = {"step": str(checkpoint.progress.step), "checkpoint_sha256": sha256_of(path)}  # as an export records
        self.plan, self.meta, self.where = plan, {**plan.metadata, **origin}, str(source)

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        import torch

        with torch.no_grad():
            out = self.plan.module(*(torch.from_numpy(np.ascontiguousarray(x)) for x in inputs))
        return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


class CheckpointGenerator(Generator):
    """The generator of a training run (its latest checkpoint, or a checkpoint file)."""

    def __init__(self, source: Path) -> None:
        self.network = _CheckpointNetwork(source, "G")
        self._describe(self.network.meta, self.network.where, "latent")

    def _run(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        return self.network.run(z, *(() if labels is None else (labels,)))[0]


class CheckpointEncoder(Encoder):
    """The encoder of a VAE run."""

    def __init__(self, source: Path) -> None:
        self.network = _CheckpointNetwork(source, "E")
        self._describe(self.network.meta, self.network.where, "encoder")

    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, log_var = self.network.run(batch)
        return mean, log_var


def _locate(spec: str) -> tuple[Path, bool]:
    """(path, is_onnx) for a run folder, a checkpoint file, an .onnx file or a stored model name."""
    path = Path(spec).expanduser()
    if path.is_dir() or path.suffix == ".safetensors":
        if not path.exists():
            raise ConfigError(f"{path}: no such checkpoint")
        return path, False
    if path.suffix == ".onnx" or path.is_file():
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        return path, True
    from ..hub.store import ModelStore

    stored = ModelStore().get(spec)
    if stored is None:
        raise ModelError(f"'{spec}' is neither a run folder, a checkpoint, an .onnx file nor a stored model "
                         "(i2i models list)")
    return stored.path, True


def open_generator(spec: str, device: str = "auto") -> Generator:
    """The generator from noise that ``spec`` names (run folder, checkpoint, .onnx file or stored model)."""
    path, is_onnx = _locate(spec)
    return OnnxGenerator(path, device) if is_onnx else CheckpointGenerator(path)


def open_encoder(spec: str, device: str = "auto") -> Encoder:
    """A VAE encoder: a VAE run's (E), or an exported encoder (stored as NAME_E by `i2i export --which E`)."""
    path, is_onnx = _locate(spec)
    return OnnxEncoder(path, device) if is_onnx else CheckpointEncoder(path)


def read_images(paths: list[Path], max_pixels: int | None = None) -> list[np.ndarray]:
    """RGB(A) or grey images as (H, W, C) uint8 (alpha dropped); files over ``max_pixels`` are refused undecoded."""
    from ..images import read_image

    out = []
    for path in paths:
        image = read_image(path, max_pixels=max_pixels)
        out.append(image[:, :, :3] if image.shape[2] == 4 else image)
    return out


def check_same_vae(decoder: Generator, encoder: Encoder) -> str:
    """Refuse (ConfigError) an encoder and a decoder that are not one VAE: another latent size, or exported from
    different checkpoints (the decoder re-exported after more training). Returns a note when that cannot be told
    (exports that do not record their checkpoint), else ''."""
    if encoder.latent_dim != decoder.latent_dim:
        raise ConfigError(f"{encoder.where} encodes to {encoder.latent_dim} dimensions, but {decoder.where} decodes "
                          f"{decoder.latent_dim}: not the same VAE")
    if not (encoder.checkpoint_sha256 and decoder.checkpoint_sha256):
        return (f"cannot tell whether {decoder.where} and {encoder.where} come from one checkpoint (an export that "
                "does not record it); export both again to be sure")
    if encoder.checkpoint_sha256 != decoder.checkpoint_sha256:
        raise ConfigError(f"{decoder.where} (step {decoder.step}, checkpoint {decoder.checkpoint_sha256[:12]}) and "
                          f"{encoder.where} (step {encoder.step}, checkpoint {encoder.checkpoint_sha256[:12]}) are not "
                          "the same checkpoint's decoder and encoder; export both from one checkpoint: i2i export RUN "
                          "and i2i export RUN --which E")
    return ""

