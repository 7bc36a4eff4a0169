#!/usr/bin/env python3
"""Inference benchmark: PyTorch eager vs ONNX Runtime (fp32 and int8), `i2i translate` cold start, folders.

For each generator (unet_256 with per-image batch norm, resnet_9blocks with instance norm; random weights,
and the generator of a trained run with --run) it exports fp32 and int8 ONNX models the way
`i2i export --int8` does (calibrated on the bundled day/night sample) and prints:

  latency   per-image milliseconds at each size, batch 1: torch eager (CPU; CUDA too when present), ONNX
            Runtime fp32 and int8 (CPU; CUDA fp32 when onnxruntime-gpu sees a GPU), int8 PSNR against fp32
  cold      whole-process wall time of `python -m i2i translate one.png --model NAME` with the model already in
            the store (the first unet model), next to a bare `python -c pass`
  folder    images/s translating a folder of 256x256 JPEGs through the `i2i translate` pipeline (read, translate,
            write, overlapped) against the model alone on the same images (the model-only bound)

Variants are timed in turns so machine noise hits them alike; medians are printed.

    .venv/bin/python bench/translate.py                                  # everything (about 10 min, 2 CPU cores)
    .venv/bin/python bench/translate.py --archs unet_256 --sizes 256 --repeats 10
    .venv/bin/python bench/translate.py --run runs/demo --archs --sizes 256   # a trained run only
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch
from hardware import cpu_description

from i2i.data.datasets import split_side_by_side
from i2i.deploy.export import ExportRequest, export_network, export_run, model_info
from i2i.deploy.onnx_export import inference_network
from i2i.deploy.quantize import psnr
from i2i.hub.store import ModelStore
from i2i.images import list_images, read_image, write_image
from i2i.infer import OnnxModel, Translator, plan, translate_files
from i2i.models import spec_for
from i2i.models.macs import count_macs
from i2i.nn.init import init_weights

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "datasets" / "gnome-day2night"
DEFAULT_NORM = {"unet": "batch", "resnet": "instance", "mobile": "instance"}
WEIGHT_STD = 0.02  # random weights as training starts them


def machine() -> str:
    text = (f"{cpu_description()}; torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"onnxruntime {ort.__version__} ({', '.join(ort.get_available_providers())})")
    if torch.cuda.is_available():
        text += f"; {torch.cuda.get_device_name()}"
    return text


def sample_images() -> list[np.ndarray]:
    """Both halves (day and night) of every bundled sample pair, 256x256 RGB."""
    halves = []
    for path in list_images(SAMPLE / "train") + list_images(SAMPLE / "val"):
        halves.extend(split_side_by_side(read_image(path)))
    return halves


def median_ms(times: list[float]) -> float:
    return 1000 * statistics.median(times)


def timed_in_turns(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median milliseconds of each callable, after one warm-up call each, calling them in turns."""
    for run in runs.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: median_ms(t) for name, t in times.items()}


class Exports:
    """A generator, its test-time PyTorch network and its fp32 / int8 ONNX exports."""

    def __init__(self, label: str, net: torch.nn.Module, fp32: Path, int8: Path, batch_norm_stats: str) -> None:
        self.label, self.fp32, self.int8 = label, fp32, int8
        self.torch_net = inference_network(net, batch_norm_stats)  # type: ignore[arg-type]


def export_architecture(arch: str, folder: Path, images: list[np.ndarray]) -> Exports:
    norm = DEFAULT_NORM[arch.split("_")[0]]
    torch.manual_seed(0)
    spec = spec_for(arch, norm=norm)
    net = init_weights(spec.build(), "normal", WEIGHT_STD)
    info = model_info("pix2pix" if norm == "batch" else "cyclegan", spec, net, 256, "AtoB", "batch")
    request = ExportRequest(arch, folder / f"{arch}.onnx", int8=True, register=False)
    results = export_network(net, info, request, images[:8], images[::6][:32], say=lambda line: None)
    print(f"  {arch} ({norm} norm, random weights): {results[0].check}; int8 {results[1].check}")
    return Exports(f"{arch} (random)", net, results[0].path, results[1].path, info.batch_norm_stats)


def export_trained(run: Path, folder: Path) -> Exports:
    from i2i.engine.checkpoint import latest_checkpoint, load_checkpoint

    results = export_run(run, out=folder / "run.onnx", int8=True, register=False, say=lambda line: None)
    checkpoint = load_checkpoint(latest_checkpoint(run), with_state=False)
    name = next(iter(checkpoint.specs))
    print(f"  {run} ({checkpoint.specs[name].name}, trained): {results[0].check}; int8 {results[1].check}")
    return Exports(f"{run.name} ({checkpoint.specs[name].name})", checkpoint.build(name), results[0].path,
                   results[1].path, "batch")


def latency_table(exports: list[Exports], sizes: list[int], repeats: int, images: list[np.ndarray]) -> None:
    cuda = torch.cuda.is_available()
    ort_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    heads = ["torch CPU", "ORT fp32", "ORT int8"]
    heads += (["torch CUDA"] if cuda else []) + (["ORT CUDA"] if ort_cuda else [])
    print(f"\n{'model':28s} {'size':>5s} {'GMAC':>6s} " + " ".join(f"{h:>10s}" for h in heads)
          + f" {'fp32 GFLOP/s':>12s} {'int8/fp32':>9s} {'int8 PSNR':>9s}   (ms per image, batch 1)")
    for e in exports:
        sessions = {"ORT fp32": OnnxModel(e.fp32, "cpu"), "ORT int8": OnnxModel(e.int8, "cpu")}
        if ort_cuda:
            sessions["ORT CUDA"] = OnnxModel(e.fp32, "cuda")
        for size in sizes:
            image = cv2.resize(images[0], (size, size), interpolation=cv2.INTER_CUBIC)
            x = image.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0
            tx = torch.from_numpy(x)
            runs: dict[str, Callable[[], object]] = {name: (lambda s=s, x=x: s(x)) for name, s in sessions.items()}
            runs["torch CPU"] = lambda net=e.torch_net, tx=tx: net(tx)
            if cuda:
                gpu_net, gx = e.torch_net.to("cuda"), tx.to("cuda")
                runs["torch CUDA"] = lambda net=gpu_net, gx=gx: (net(gx), torch.cuda.synchronize())
            count = max(2, repeats if size <= 256 else repeats // 2 if size <= 512 else repeats // 4)
            with torch.inference_mode():
                ms = timed_in_turns(runs, count)
                if cuda:
                    e.torch_net.to("cpu")
            quality = psnr(sessions["ORT int8"](x), sessions["ORT fp32"](x))
            gmac = count_macs(e.torch_net, (1, 3, size, size)) / 1e9
            print(f"{e.label:28s} {size:5d} {gmac:6.1f} " + " ".join(f"{ms[h]:10.1f}" for h in heads)
                  + f" {2 * gmac / ms['ORT fp32'] * 1000:12.0f} {ms['ORT int8'] / ms['ORT fp32']:9.2f} "
                    f"{quality:8.1f}dB")


def cold_start(model: Path, folder: Path, repeats: int) -> None:
    """Whole-process wall time of `i2i translate` on one 256x256 image, the model cached in the store."""
    home = folder / "home"
    ModelStore(home).add("bench-model", model, {"source": "bench/translate.py"})
    image = folder / "one.png"
    write_image(image, sample_images()[0])
    env = {**os.environ, "I2I_HOME": str(home)}
    translate = [sys.executable, "-m", "i2i", "translate", str(image), "--model", "bench-model", "-o",
                 str(folder / "one_out.png"), "--device", "cpu"]
    bare = [sys.executable, "-c", "pass"]
    imports = [sys.executable, "-c", "import onnxruntime, cv2, numpy"]

    def process(command: list[str]) -> Callable[[], object]:
        return lambda: subprocess.run(command, env=env, check=True, capture_output=True)

    ms = timed_in_turns({"translate": process(translate), "imports": process(imports), "bare": process(bare)},
                        repeats)
    print(f"\ncold start, whole process (median of {repeats}): `i2i translate one.png` {ms['translate']:.0f} ms;"
          f" of which python start {ms['bare']:.0f} ms and importing onnxruntime+cv2+numpy "
          f"{ms['imports'] - ms['bare']:.0f} ms")


def folder_throughput(model_path: Path, folder: Path, count: int) -> None:
    """Images/s of the translate pipeline on a folder against the model alone (batch 1, same images)."""
    source, out = folder / "images", folder / "out"
    source.mkdir()
    images = sample_images()
    for i in range(count):
        write_image(source / f"{i:04d}.jpg", images[i % len(images)])
    model = OnnxModel(model_path, "cpu")
    inputs = [im.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0 for im in images[:count]]
    model(inputs[0])
    start = time.perf_counter()
    for i in range(count):
        model(inputs[i % len(inputs)])
    model_only = count / (time.perf_counter() - start)
    translator = Translator(model)
    start = time.perf_counter()
    summary = translate_files(plan([str(source)], "out", str(out)), translator, None, 95)
    pipeline = len(summary.done) / (time.perf_counter() - start)
    assert not summary.failed, summary.failed
    print(f"\nfolder of {count} 256x256 JPEGs ({model_path.stem}): pipeline {pipeline:.2f} images/s, model only "
          f"{model_only:.2f} images/s, efficiency {pipeline / model_only:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="*", default=["unet_256", "resnet_9blocks"])
    parser.add_argument("--run", type=Path, help="also benchmark the generator of this training run")
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=8, help="timed calls per variant at 256 (fewer when larger)")
    parser.add_argument("--folder-images", type=int, default=100)
    parser.add_argument("--skip", nargs="*", default=[], choices=("latency", "cold", "folder"))
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    print(f"machine: {machine()}")
    images = sample_images()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("exporting (fp32 parity against PyTorch on real images; int8 calibrated on them):")
        exports = [export_architecture(arch, folder, images) for arch in args.archs]
        if args.run:
            exports.append(export_trained(args.run, folder))
        if "latency" not in args.skip:
            latency_table(exports, args.sizes, args.repeats, images)
        if exports and "cold" not in args.skip:
            cold_start(exports[0].fp32, folder, max(3, args.repeats // 2))
        if exports and "folder" not in args.skip:
            folder_throughput(exports[0].fp32, folder, args.folder_images)


if __name__ == "__main__":
    main()
