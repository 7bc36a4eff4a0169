"""An exported generator as an ONNX Runtime session, with the metadata i2i writes into the model file.

No torch here: ONNX Runtime, NumPy and OpenCV are enough to translate images.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError
from ..fileio import finish_interrupted_replacements

if TYPE_CHECKING:
    import onnx
    import onnxruntime as ort

PREFIX = "i2i."
FORMAT_VERSION = 1


def statistics_inputs(layers: int) -> list[str]:
    """Names of the optional inputs that give the per-image norm layers their statistics, in order."""
    return [f"norm{k}_{kind}" for k in range(layers) for kind in ("mean", "var")]


@dataclass(frozen=True)
class ModelInfo:
    """What a program needs to run an exported generator; stored as ONNX metadata (``i2i.*`` keys).

    The input is ``(N, in_channels, H, W)`` float32 RGB (or grey) with pixels mapped linearly onto
    ``value_range`` ("-1,1": ``pixel / 127.5 - 1``; "0,1": ``pixel / 255``, as SR models take them); H and W
    must be multiples of ``size_multiple``. The output has the same layout and range, and is ``scale`` times
    larger in each dimension (super-resolution models; 1 for the others). ``train_size`` is the side of the
    generator's input during training.
    """

    task: str
    architecture: str
    in_channels: int
    out_channels: int
    size_multiple: int
    train_size: int
    direction: str = ""
    batch_norm_stats: str = "batch"
    precision: str = "fp32"
    i2i_version: str = ""
    value_range: str = "-1,1"
    normalisation: str = "x / 127.5 - 1, RGB, NCHW"
    network: str = ""  # JSON of the network spec that was exported
    norm_layers: int = 0  # per-image norm layers whose statistics can be given (tensors normK_mean, normK_var)
    scale: int = 1  # output side / input side (files written before SR models had none: 1)

    @property
    def range(self) -> tuple[float, float]:
        """``value_range`` as numbers: (low, high), onto which pixel values 0..255 map linearly."""
        low, high = (float(v) for v in self.value_range.split(","))
        return low, high

    def to_metadata(self) -> dict[str, str]:
        meta = {f"{PREFIX}{k}": str(v) for k, v in dataclasses.asdict(self).items()}
        meta[f"{PREFIX}format_version"] = str(FORMAT_VERSION)
        return meta

    @classmethod
    def from_metadata(cls, meta: dict[str, str], where: str) -> ModelInfo:
        if f"{PREFIX}format_version" not in meta:
            raise ModelError(f"{where}: has no i2i metadata (export it with `i2i export`, or import a .pth "
                             "with `i2i models import`)")
        kind = meta.get(f"{PREFIX}kind")
        if kind == "latent":
            raise ModelError(f"{where}: generates images from noise rather than translating them: use i2i sample "
                             "(or interpolate) with it")
        if kind == "encoder":
            raise ModelError(f"{where}: is a VAE's encoder: i2i reconstruct uses it with its decoder")
        values = {}
        for f in dataclasses.fields(cls):
            key = f"{PREFIX}{f.name}"
            if key in meta:
                values[f.name] = int(meta[key]) if f.type in (int, "int") else meta[key]
            elif f.default is dataclasses.MISSING:
                raise ModelError(f"{where}: its i2i metadata lacks '{key}'")
        return cls(**values)


def usable_cores() -> int:
    """Cores this process may run on (respects CPU affinity and container limits where visible)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def choose_providers(device: str) -> list[str]:
    """ONNX Runtime execution providers for 'cpu', 'cuda' or 'auto' (CUDA when onnxruntime-gpu sees a GPU)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise ModelError("--device cuda: this onnxruntime has no CUDA support (pip uninstall -y onnxruntime && "
                             "pip install onnxruntime-gpu; `i2i doctor` checks the set-up)")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "auto":
        return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    raise ModelError(f"--device {device}: choose cpu, cuda or auto")


def range_text(value_range: tuple[float, float]) -> tuple[str, str]:
    """The ``value_range`` and ``normalisation`` metadata of a generator working in ``value_range``."""
    low, high = value_range
    text = f"{low:g},{high:g}"
    if (low, high) == (-1.0, 1.0):
        return text, "x / 127.5 - 1, RGB, NCHW"
    step = 255 / (high - low)
    return text, f"x / {step:g}{f' + {low:g}' if low else ''}, RGB, NCHW"


def to_model_range(pixels: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """uint8 pixels -> float32 in ``value_range`` (for (-1, 1) exactly ``x / 127.5 - 1``, as the export checks)."""
    low, high = value_range
    return pixels.astype(np.float32) / np.float32(255 / (high - low)) + np.float32(low)


def from_model_range(values: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Model output in ``value_range`` -> uint8 pixels, rounded and clipped."""
    low, high = value_range
    return np.clip((values - np.float32(low)) * np.float32(255 / (high - low)) + 0.5, 0, 255).astype(np.uint8)


class OnnxModel:
    """An i2i generator in ONNX Runtime: ``model(batch)`` maps (N, C, H, W) float32 in its value range to the output.

    Models with per-image norm layers can also report the statistics they measure (``statistics``) and run
    with given ones (``model(batch, stats)``), which is how tiles of a large image share the whole image's.
    """

    def __init__(self, path: str | os.PathLike[str], device: str = "auto", threads: int | None = None,
                 name: str | None = None, prepack: bool = True, spin: bool = True) -> None:
        """``prepack=False`` skips repacking the weights for the CPU's matrix kernels: a large model opens
        about 0.25 s sooner and each run is a little slower, the better choice for one or two images.
        ``spin=False`` lets idle ONNX Runtime threads sleep instead of spin-waiting, which leaves the cores to
        other threads of the process (the live capture thread): measured 3-30% more frames/s there."""
        import onnxruntime as ort

        self.path = Path(path)
        self.name = name or self.path.stem
        finish_interrupted_replacements(self.path.parent)  # an export killed while moving its files: complete it
        if not self.path.is_file():
            raise ModelError(f"{self.path}: no such model file")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or usable_cores()
        options.log_severity_level = 3
        if not prepack:
            options.add_session_config_entry("session.disable_prepacking", "1")
        if not spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=choose_providers(device))
        except (RuntimeError, ValueError, ort.capi.onnxruntime_pybind11_state.Fail,
                ort.capi.onnxruntime_pybind11_state.InvalidGraph,
                ort.capi.onnxruntime_pybind11_state.InvalidProtobuf) as e:
            raise ModelError(f"{self.path}: not a loadable ONNX model ({str(e).splitlines()[0][:200]})") from None
        self.info = ModelInfo.from_metadata(self.session.get_modelmeta().custom_metadata_map, str(self.path))
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        self.input_name, self.output_name = inputs[0].name, outputs[0].name
        # The statistics of per-image norm layers: files of i2i 0.1 have them as optional inputs (with defaults)
        # and extra outputs; newer files keep them inside a plain one-input graph, exposed on first use.
        optional = {i.name for i in self.session.get_overridable_initializers()}
        self.norm_inputs = statistics_inputs(self.info.norm_layers)
        self.stat_outputs = [f"measured_{name}" for name in self.norm_inputs]
        self._options = options
        self._tiling = self.session if "use_given_stats" in optional else None
        self.provider = self.session.get_providers()[0]
        if device == "cuda" and self.provider != "CUDAExecutionProvider":  # ONNX Runtime fell back to the CPU
            raise ModelError("--device cuda: ONNX Runtime could not start its CUDA provider (no GPU, or the CUDA "
                             "and cuDNN libraries it needs are missing); `i2i doctor` checks the set-up")

    def __call__(self, batch: np.ndarray, stats: list[np.ndarray] | None = None) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        if self.provider == "CUDAExecutionProvider" and stats is None:
            # IO binding: the input is copied to the GPU, the output allocated there and copied back in one transfer
            binding = self.session.io_binding()
            binding.bind_cpu_input(self.input_name, batch)
            binding.bind_output(self.output_name, "cuda")
            self.session.run_with_iobinding(binding)
            return binding.copy_outputs_to_cpu()[0]
        if stats is None:
            return self.session.run([self.output_name], {self.input_name: batch})[0]
        feed = {self.input_name: batch, "use_given_stats": np.array(True)}
        feed.update(zip(self.norm_inputs, stats, strict=True))
        return self._statistics_session().run([self.output_name], feed)[0]

    def statistics(self, batch: np.ndarray) -> list[np.ndarray]:
        """The mean and variance each per-image norm layer measures on ``batch`` (empty when it has none)."""
        if not self.norm_inputs:
            return []
        batch = np.ascontiguousarray(batch, np.float32)
        return self._statistics_session().run(self.stat_outputs, {self.input_name: batch})

    def _statistics_session(self) -> ort.InferenceSession:
        """A session of the graph with its norm statistics exposed (built when tiling first needs it)."""
        if self._tiling is None:
            import onnx
            import onnxruntime as ort

            model = with_statistics_io(onnx.load(str(self.path)), self.norm_inputs, str(self.path))
            self._tiling = ort.InferenceSession(model.SerializeToString(), self._options,
                                                providers=self.session.get_providers())
        return self._tiling


def with_statistics_io(model: onnx.ModelProto, names: list[str], where: str) -> onnx.ModelProto:
    """Expose the statistics tensors ``names`` of an exported graph, as files of i2i 0.1 had them (in place).

    Each tensor becomes an optional input of that name (its value is used when ``use_given_stats`` is true)
    and an output ``measured_NAME`` (float32). Exported files keep the tensors inside the graph so that other
    programs see a plain image -> image model; only i2i's tiling needs this interface.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph, wanted = model.graph, set(names)
    produced = {out for node in graph.node for out in node.output}
    missing = [name for name in names if name not in produced]
    if missing:
        raise ModelError(f"{where}: its metadata promises norm statistics the graph lacks ({missing[0]})")
    for node in graph.node:  # every reader takes the chosen value (measured or given) ...
        for k, name in enumerate(node.input):
            if name in wanted:
                node.input[k] = f"{name}:used"
    nodes = []
    for node in graph.node:  # ... which is chosen right after the layer measures it
        nodes.append(node)
        for k, name in enumerate(node.output):
            if name in wanted:
                node.output[k] = measured = f"{name}:measured"
                nodes += [helper.make_node("CastLike", [name, measured], [f"{name}:given"]),
                          helper.make_node("Where", ["use_given_stats", f"{name}:given", measured], [f"{name}:used"]),
                          helper.make_node("Cast", [measured], [f"measured_{name}"], to=TensorProto.FLOAT)]
    del graph.node[:]
    graph.node.extend(nodes)
    for info in graph.value_info:
        if info.name in wanted:
            info.name = f"{info.name}:measured"
    graph.input.append(helper.make_tensor_value_info("use_given_stats", TensorProto.BOOL, []))
    graph.input.extend(helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in names)
    graph.initializer.append(numpy_helper.from_array(np.array(False), "use_given_stats"))
    graph.initializer.extend(numpy_helper.from_array(np.zeros((1, 1), np.float32), name) for name in names)
    graph.output.extend(helper.make_tensor_value_info(f"measured_{name}", TensorProto.FLOAT, None) for name in names)
    return model
