"""int8 models: ONNX Runtime static quantization, calibrated on real images.

Weights are quantized per output channel to int8, activations to uint8 with ranges measured on calibration
images; on AVX2 CPUs without VNNI the weights use 7 bits (``reduce_range``) to avoid the saturation of the
u8 x s8 multiply instruction.
"""

from __future__ import annotations

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
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # the calibration sessions would warn about the optional inputs
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_static logs its pre-processing advice as a warning on every call
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "int8.onnx"
            quantize_static(str(source), str(out), _Images(calibration, "input"), quant_format=QuantFormat.QDQ,
                            per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8)
            write_onnx(onnx.load(str(out)), info, path)
    finally:
        root.setLevel(level)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two model outputs in [-1, 1] (peak-to-peak range 2)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(4.0 / mse)
