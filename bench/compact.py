#!/usr/bin/env python3
"""Compact-generator benchmark: parameters, multiply-adds and ONNX Runtime CPU latency per image.

Each generator is randomly initialised, exported through i2i's own exporter (``inference_network`` then
``export_onnx``, as ``i2i export`` does), checked against PyTorch, and timed in ONNX Runtime on the CPU at
batch 1: warm-up runs, then the median of ``--repeats`` runs. Models are timed in turns, a block of runs each per
round (interleaving single runs would time each session against the still-spinning threads of the previous
one), so machine noise hits them alike. Norm variants:
  instance      per-image instance norm (CycleGAN's default; the export keeps the norms as graph ops)
  batch         batch norm on each image's statistics (pix2pix's reference test mode; also per-image norms)
  running       batch norm on running averages (eval mode; ONNX Runtime folds it into the convs)

    .venv/bin/python bench/compact.py                               # the default table (about 4 minutes)
    .venv/bin/python bench/compact.py --models mobile_resnet_6blocks:24 --norms running --repeats 50
    .venv/bin/python bench/compact.py --keep /tmp/compact    # export once; later runs only time (a quiet moment)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from i2i.deploy.onnx_export import export_onnx, inference_network, parity, torch_output
from i2i.infer.model import ModelInfo, OnnxModel, usable_cores
from i2i.models import create_model
from i2i.models.macs import count_macs
from i2i.nn import init_weights
from i2i.nn.modes import has_batch_norm

DEFAULT_MODELS = "mobile_resnet_9blocks:32,mobile_resnet_9blocks:64,resnet_9blocks:64"


def build(name: str, ngf: int, norm: str) -> torch.nn.Module:
    """A randomly initialised generator; batch norms get running statistics measured on random images."""
    torch.manual_seed(0)
    net = init_weights(create_model(name, ngf=ngf, norm="batch" if norm == "running" else norm), "normal", 0.02)
    if norm == "running":  # realistic running stats: the defaults (0, 1) would shrink activations layer by layer
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.momentum = None  # cumulative average
        with torch.no_grad():
            net.train()(torch.rand(4, 3, 64, 64) * 2 - 1)
    return net


def export(net: torch.nn.Module, name: str, norm: str, size: int, path: Path) -> float:
    """Export ``net`` to ``path``; returns the largest |ONNX - PyTorch| on two random images."""
    stats = "running" if norm == "running" else "batch"
    test_net = inference_network(net, stats)  # type: ignore[arg-type]
    info = ModelInfo(task="pix2pix", architecture=name, in_channels=3, out_channels=3, size_multiple=4,
                     train_size=size, batch_norm_stats=stats if has_batch_norm(net) else "none")
    export_onnx(test_net, info, path)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 3, size, size)).astype(np.float32)
    model = OnnxModel(path, "cpu")
    return parity(model, x, model(x), torch_output(test_net, x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated NAME:NGF (default: %(default)s)")
    parser.add_argument("--norms", default="instance,running", help="instance, batch and/or running")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per model (after warm-up)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs per model first")
    parser.add_argument("--rounds", type=int, default=4, help="timed blocks per model, in turns (spreads noise)")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: cores)")
    parser.add_argument("--keep", metavar="FOLDER", help="keep the exports here and reuse them on later runs "
                        "(reused ones are not re-checked: |onnx-pt| shows nan)")
    args = parser.parse_args()
    models = [(n, int(g)) for n, g in (m.split(":") for m in args.models.split(","))]
    norms = args.norms.split(",")
    threads = args.threads or usable_cores()
    print(f"{args.size}x{args.size}, batch 1, ONNX Runtime CPU, {threads} threads; median of {args.repeats} runs")
    rows, sessions = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name, ngf in models:
            with torch.device("meta"):
                macs = count_macs(create_model(name, ngf=ngf), (1, 3, args.size, args.size))
            for norm in norms:
                path = folder / f"{name}_{ngf}_{norm}_{args.size}.onnx"
                net = build(name, ngf, norm)
                params = sum(p.numel() for p in net.parameters())
                error = float("nan") if path.is_file() else export(net, name, norm, args.size, path)
                rows.append((name, ngf, norm, params, macs, error))
                sessions.append(OnnxModel(path, device="cpu", threads=threads))
        x = np.random.default_rng(1).uniform(-1, 1, (1, 3, args.size, args.size)).astype(np.float32)
        load = [os.getloadavg()[0]]
        times: list[list[float]] = [[] for _ in sessions]
        for r in range(args.rounds):
            for i, session in enumerate(sessions):  # a block per model: other sessions' threads have gone idle
                for _ in range(args.warmup if r == 0 else 1):
                    session(x)
                for _ in range(args.repeats // args.rounds):
                    start = time.perf_counter()
                    session(x)
                    times[i].append(time.perf_counter() - start)
        load.append(os.getloadavg()[0])
    print(f"1-minute load average {load[0]:.2f} before timing, {load[1]:.2f} after (this benchmark adds ~1-2)")
    print(f"{'model':<24}{'ngf':>4}  {'norm':<9}{'params':>12}{'GMACs':>8}{'|onnx-pt|':>11}{'median ms':>11}"
          f"{'min ms':>8}{'FPS':>7}")
    for (name, ngf, norm, params, macs, error), t in zip(rows, times, strict=True):
        median = statistics.median(t) * 1e3
        print(f"{name:<24}{ngf:>4}  {norm:<9}{params:>12,}{macs / 1e9:>8.2f}{error:>11.1e}{median:>11.1f}"
              f"{min(t) * 1e3:>8.1f}{1e3 / median:>7.1f}")


if __name__ == "__main__":
    main()
