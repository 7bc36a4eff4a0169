"""CUDA paths (bf16 / fp16 autocast, channels-last, fused Adam on the GPU); skipped where there is no GPU."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from conftest import SAMPLE, tiny_config
from test_task_contract import tiny

from i2i.config import apply_overrides
from i2i.engine.checkpoint import load_checkpoint
from i2i.engine.precision import Precision
from i2i.errors import ConfigError
from i2i.tasks import TASKS, task_class
from i2i.training.trainer import resume, train

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_fp16_needs_cuda() -> None:
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        Precision("fp16", torch.device("cpu"))


@cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_training_on_cuda(tmp_path: Path, precision: str) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, run={"device": "cuda", "precision": precision,
                                                           "max_steps": 20})
    result = train(config, progress_bar=False)
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(r["G_L1"]) for r in records if r["kind"] == "train")
    assert result.validation[-1]["L1"] < result.validation[0]["L1"]
    G = load_checkpoint(result.checkpoint).build("G")  # CUDA-trained weights load on the CPU
    assert next(G.parameters()).device.type == "cpu"


def g_l1(run_dir: Path) -> dict[int, float]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return {r["step"]: r["G_L1"] for r in map(json.loads, lines) if r["kind"] == "train"}


@cuda
@pytest.mark.parametrize("graphs", [False, True])
def test_cuda_resume_is_exact_when_deterministic(tmp_path: Path, graphs: bool) -> None:
    run = {"device": "cuda", "deterministic": True, "cuda_graphs": graphs}
    full = tiny_config("pix2pix", SAMPLE, tmp_path, run={**run, "name": "full", "max_steps": 12})
    part = tiny_config("pix2pix", SAMPLE, tmp_path, run={**run, "name": "part", "max_steps": 5})
    train(full, progress_bar=False)
    train(part, progress_bar=False)
    resume(tmp_path / "part", {"run": {"max_steps": 12}}, progress_bar=False)
    assert g_l1(tmp_path / "full") == g_l1(tmp_path / "part")


@cuda
@pytest.mark.parametrize("task", [t for t in TASKS.names() if task_class(t).graph_capturable])
def test_cuda_graphs_train_like_eager_steps(tmp_path: Path, unpaired_sample: Path, task: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Every task that opts in to CUDA graphs: replayed steps learn as eager ones do (same losses to rounding),
    with its state (CycleGAN's image pool) and the schedule on the GPU."""
    results = {}
    for graphs in (False, True):
        config = tiny(task, tmp_path, unpaired_sample)
        pool = {"pool_size": 3} if any(f.name == "pool_size" for f in dataclasses.fields(config.method)) else {}
        config = apply_overrides(config, {"method": pool, "data": {"val_images": 0},
                                          "optim": {"n_epochs": 1, "n_epochs_decay": 1},
                                          "run": {"device": "cuda", "deterministic": True, "cuda_graphs": graphs,
                                                  "name": f"graphs_{graphs}", "max_steps": 30}})
        train(config, progress_bar=False)
        out = capsys.readouterr().out
        assert ("CUDA graphs" in out) == graphs and "cannot be captured" not in out, out
        lines = (tmp_path / f"graphs_{graphs}" / "metrics.jsonl").read_text().splitlines()
        results[graphs] = {r["step"]: r for r in map(json.loads, lines) if r["kind"] == "train"}
    eager, graphed = results[False], results[True]
    last = max(graphed)  # 30, or the end of the run's 2 epochs
    assert sorted(eager) == sorted(graphed) == list(range(1, last + 1))
    assert graphed[last]["epoch"] > graphed[1]["epoch"]  # an epoch boundary (a smaller last batch) ...
    assert graphed[last]["lr"] < graphed[1]["lr"]  # ... and a new learning rate
    for step in eager:
        for key, value in eager[step].items():
            if key not in ("kind", "step", "epoch", "time", "steps_per_s"):
                assert graphed[step][key] == pytest.approx(value, rel=2e-3, abs=1e-4), (step, key)


@pytest.mark.skipif("CUDAExecutionProvider" not in __import__("onnxruntime").get_available_providers(),
                    reason="needs onnxruntime-gpu and a CUDA device")
def test_onnx_runtime_cuda_matches_cpu(tiny_models: dict[str, Path]) -> None:
    """The CUDA execution provider (with IO binding) gives the CPU's output."""
    import numpy as np

    from i2i.infer import OnnxModel

    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 64, 96)).astype(np.float32)
    gpu = OnnxModel(tiny_models["resnet"], "cuda")
    assert gpu.provider == "CUDAExecutionProvider"
    assert np.abs(gpu(x) - OnnxModel(tiny_models["resnet"], "cpu")(x)).max() < 1e-3
