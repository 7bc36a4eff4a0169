"""Export of networks that do not map an image to an image: generators from noise and a VAE's encoder.

The task says how (``Task.export_plan``): the module to trace, example inputs, the input and output names, and
the metadata. The graph takes any batch size; ONNX Runtime is checked against PyTorch on fresh random inputs;
the file gets its ``i2i.*`` metadata and a model card, and is registered by name like the other exports.
"""

from __future__ import annotations

import datetime
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from .. import __version__
from ..errors import I2IError
from ..fileio import atomic_write_text, replace_together, sha256_of, staged_files, writing
from ..hub.store import ModelStore
from ..tasks.base import ExportPlan
from .onnx_export import OPSET

TOLERANCE = 1e-4
MAX_BATCH = 4096
ORIGIN = ("step", "checkpoint_sha256")  # card entries also written into the file's metadata (see sampling/models.py)


def _random_like(example: torch.Tensor, batch: int, generator: torch.Generator) -> torch.Tensor:
    """A new input of ``batch`` rows like ``example``: Gaussian floats, or integers within its range (labels)."""
    shape = (batch, *example.shape[1:])
    if example.dtype.is_floating_point:
        return torch.randn(shape, generator=generator)
    return torch.randint(0, int(example.max()) + 1, shape, generator=generator, dtype=example.dtype)


def export_latent(plan: ExportPlan, name: str, out: Path, opset: int = OPSET, register: bool = True,
                  store: ModelStore | None = None, card: dict[str, Any] | None = None,
                  say: Callable[[str], None] = print) -> tuple[Path, dict[str, Any], str]:
    """Write ``plan``'s network to ``out`` (ONNX, metadata, card), check it, register it; (path, card, check)."""
    import onnxruntime as ort

    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    dynamic = tuple({0: batch} for _ in plan.example)
    with torch.no_grad(), warnings.catch_warnings():
        # z and the label share one batch dimension on purpose; the exporter remarks on it
        warnings.filterwarnings("ignore", message=r".*axis name: batch will not be used.*")
        program = torch.onnx.export(plan.module, plan.example, None, dynamo=True, opset_version=opset,
                                    input_names=plan.input_names, output_names=plan.output_names,
                                    dynamic_shapes=dynamic, verbose=False)
    model = program.model_proto
    origin = {k: str((card or {})[k]) for k in ORIGIN if k in (card or {})}  # in the file too: cards get separated
    meta = {**plan.metadata, **origin, "i2i_version": __version__, "precision": "fp32", "format_version": "1"}
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=f"i2i.{key}", value=str(value))
    onnx.checker.check_model(model)
    card_path = out.with_suffix(".json")
    with staged_files(out) as stage:  # the model and its card replace an earlier export together, or not at all
        staged = stage / out.name
        with writing(out):
            onnx.save_model(model, str(staged))
        # parity on inputs the trace never saw, at another batch size
        generator = torch.Generator().manual_seed(0)
        inputs = tuple(_random_like(x, 5, generator) for x in plan.example)
        with torch.no_grad():
            expected = plan.module(*inputs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        session = ort.InferenceSession(str(staged), providers=["CPUExecutionProvider"])
        got = session.run(plan.output_names, {n: x.numpy() for n, x in zip(plan.input_names, inputs, strict=True)})
        del session
        error = max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))
        if error > TOLERANCE:
            raise I2IError(f"{out}: ONNX Runtime and PyTorch differ by {error:.2e} (over {TOLERANCE:g}); nothing "
                           "was written")
        check = f"max |ONNX - PyTorch| = {error:.1e} on 5 random inputs"
        card = {"name": name, **(card or {}), **{k: v for k, v in plan.metadata.items() if k != "classes"},
                "classes": json.loads(plan.metadata.get("classes", "[]")), "inputs": plan.input_names,
                "outputs": plan.output_names, "check": check, "sha256": sha256_of(staged),
                "bytes": staged.stat().st_size, "i2i_version": __version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        with writing(out):
            atomic_write_text(stage / card_path.name, json.dumps(card, indent=2) + "\n")
            replace_together(stage, [(out.name, out), (card_path.name, card_path)])
    if register:
        (store or ModelStore()).add(name, out, card)
    say(f"{out}  ({out.stat().st_size / 1e6:.1f} MB): {check}" + (f"; registered as '{name}'" if register else ""))
    return out, card, check
