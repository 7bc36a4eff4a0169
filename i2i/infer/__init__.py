"""Inference without torch: exported generators in ONNX Runtime, tiling, files and folders."""

from .files import Job, Summary, plan, translate_files
from .model import ModelError, ModelInfo, OnnxModel
from .translate import Translator

__all__ = ["Job", "ModelError", "ModelInfo", "OnnxModel", "Summary", "Translator", "plan", "translate_files"]
