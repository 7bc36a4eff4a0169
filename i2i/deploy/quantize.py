"""int8 models: ONNX Runtime static quantization, calibrated on real images.

Weights are quantized per output channel to int8, activations to uint8 with ranges measured on calibration
images; on AVX2 CPUs without VNNI the weights use 7 bits (``reduce_range``) to avoid the saturation of the
u8 x s8 multiply instruction.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

from ..infer.model import ModelInfo
from .onnx_export import write_onnx


class _Images(CalibrationDataReader):
    def __init__(self, inputs: list[np.ndarray], input_name: str) -> None:
        self.items: Iterator[dict[str, np.ndarray]] = iter({input_name: x} for x in inputs)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.items, None)


def to_int8(source: Path, info: ModelInfo, path: Path, calibration: list[np.ndarray]) -> None:
    """Quantize the fp32 model ``source`` into ``path``, calibrating activations on ``calibration`` inputs."""
    with tempfile.TemporaryDirectory(prefix=".i2i-int8.", dir=path.parent) as tmp, _quiet_quantizer():
        out = Path(tmp) / "int8.onnx"
        quantize_static(str(source), str(out), _Images(calibration, "input"), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
        write_onnx(onnx.load(str(out)), info, path)


class _FromQuantizer(logging.Filter):
    """Drops the records ONNX Runtime's quantizer logs on the root logger (its pre-processing advice, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.pathname.startswith(_QUANTIZER)


_QUANTIZER = str(Path(quantize_static.__code__.co_filename).parent)


class _AsIfUnconfigured(logging.Handler):
    """What logging does with a record when the root logger has no handler: hand it to ``logging.lastResort``."""

    def emit(self, record: logging.LogRecord) -> None:
        last = logging.lastResort
        if last is not None and record.levelno >= last.level:
            last.handle(record)


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """For the block, drop the quantizer's log records, and nobody else's; the root logger is as it was after.

    The quantizer calls ``logging.warning()``, which would give an unconfigured root logger a stderr handler for
    good; a handler that behaves like having none, present for the block only, prevents that.
    """
    root = logging.getLogger()
    quiet, stand_in = _FromQuantizer(), None if root.handlers else _AsIfUnconfigured()
    root.addFilter(quiet)
    if stand_in is not None:
        root.addHandler(stand_in)
    try:
        yield
    finally:
        root.removeFilter(quiet)
        if stand_in is not None:
            root.removeHandler(stand_in)


def psnr(a: np.ndarray, b: np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)) -> float:
    """PSNR in dB of two model outputs in ``value_range`` (its width is the peak-to-peak signal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    peak = value_range[1] - value_range[0]
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)
