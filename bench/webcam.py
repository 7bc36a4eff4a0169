#!/usr/bin/env python3
"""Live-pipeline benchmark: a video through `i2i webcam`'s full pipeline, headless, against the model alone.

Generators: unet_256 (per-image batch norm), resnet_9blocks and the compact mobile_resnet_9blocks at each
--compact-ngf (instance norm); random weights, exported as `i2i export` does. For each and each size, the video
goes through LiveSession (capture thread, fit, ONNX Runtime, compose, on-screen text; no window) as a camera
would deliver it: decoded and paced at 60 frames/s (or twice the model's rate if that is higher), stale
frames dropped. It prints the FPS, the latency from frame read to picture ready (p50 / p95), and the
efficiency: pipeline FPS divided by the model-only frames/s of the same ONNX session on the same frames,
measured in the same run (before and after the pipeline, averaged). The video is OpenCV's sample vtest.avi
(768x576, from `../shared/data/get-debian-data.sh`) when present, else one made from the bundled sample.

    .venv/bin/python bench/webcam.py                         # CPU: 256x256, about 5 minutes on 2 cores
    .venv/bin/python bench/webcam.py --sizes 256 512 --device cuda
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch
from hardware import cpu_description

from i2i.deploy.export import ExportRequest, export_network, model_info
from i2i.images import list_images, read_image
from i2i.infer import OnnxModel
from i2i.live import LiveOptions, LiveSession, open_source
from i2i.live.view import fit
from i2i.models import NETWORKS, spec_for
from i2i.nn.init import init_weights

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_VIDEO = Path(os.environ.get("I2I_DATA", "~/.cache/i2i-data")).expanduser() / "opencv-samples" / "vtest.avi"


def machine() -> str:
    return f"{cpu_description()}; onnxruntime {ort.__version__}"


def bundled_video(path: Path, frames: int = 120) -> Path:
    """A 640x360 video panning across the bundled sample pictures (when vtest.avi is not here)."""
    pictures = [read_image(p) for p in list_images(ROOT / "datasets" / "gnome-day2night" / "val")]
    strip = np.concatenate([cv2.resize(p, (640, 320)) for p in pictures], axis=1)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 320))
    for i in range(frames):
        x = (i * 24) % (strip.shape[1] - 640)
        writer.write(cv2.cvtColor(strip[:, x:x + 640], cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def export(arch: str, ngf: int, folder: Path) -> Path:
    norm = "batch" if arch.startswith("unet") else "instance"
    torch.manual_seed(0)
    spec = spec_for(arch, norm=norm, ngf=ngf)
    net = init_weights(spec.build())  # random weights: the speed does not depend on them
    info = model_info("pix2pix" if norm == "batch" else "cyclegan", spec, net, 256, "AtoB", "batch")
    image = read_image(ROOT / "i2i" / "assets" / "parity.jpg")
    path = folder / f"{arch}-ngf{ngf}.onnx"
    export_network(net, info, ExportRequest(path.stem, path, register=False), [image], [], say=lambda _: None)
    return path


def model_only_fps(model: OnnxModel, frames: list[np.ndarray], size: int, seconds: float) -> float:
    """Frames/s of the model alone on fitted frames of the video (batch 1), for about ``seconds``."""
    inputs = [fit(f, size, "crop").image.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1 for f in frames]
    model(inputs[0])
    count, start = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - start < seconds:
        model(inputs[count % len(inputs)])
        count += 1
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["mobile_resnet_9blocks", "unet_256", "resnet_9blocks"])
    parser.add_argument("--compact-ngf", type=int, nargs="+", default=[16, 32],
                        help="widths of the compact generator to run (default: 16 32)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[256])
    parser.add_argument("--seconds", type=float, default=12.0, help="pipeline time per model and size (default: 12)")
    parser.add_argument("--video", type=Path, help="default: OpenCV's vtest.avi, else one made from the sample")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    print(f"machine: {machine()}; device {args.device}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = args.video or (SAMPLE_VIDEO if SAMPLE_VIDEO.is_file() else bundled_video(folder / "sample.avi"))
        capture = cv2.VideoCapture(str(video))
        sample = [cv2.cvtColor(capture.read()[1], cv2.COLOR_BGR2RGB) for _ in range(8)]
        print(f"video: {video} ({sample[0].shape[1]}x{sample[0].shape[0]}), fit crop, view side, no window\n")
        print(f"{'model':28s} {'size':>5s} {'FPS':>7s} {'latency p50':>12s} {'p95':>7s} {'model-only':>11s} "
              f"{'efficiency':>10s} {'frames':>7s}")
        runs = [(arch, ngf) for arch in args.archs
                for ngf in (args.compact_ngf if arch.startswith("mobile") else [64])]
        for arch, ngf in runs:
            if arch not in NETWORKS:
                print(f"{arch}: not a registered network, skipped")
                continue
            path = export(arch, ngf, folder)
            model = OnnxModel(path, args.device, spin=False)  # as the live session opens it
            for size in args.sizes:
                before = model_only_fps(model, sample, size, 3.0)
                frames = max(10, min(600, round(before * args.seconds)))
                camera_fps = max(60.0, 2 * before)  # faster than the model, so the model is the bound
                options = LiveOptions(size=size, window=False, frames=frames, loop=True, device=args.device,
                                      realtime=camera_fps)
                report = LiveSession([(path.stem, path)], open_source(str(video)), str(video), options).run()
                after = model_only_fps(model, sample, size, 3.0)
                bound = statistics.fmean([before, after])
                print(f"{path.stem:28s} {size:5d} {report.fps:7.1f} {report.latency_ms['p50']:10.0f}ms "
                      f"{report.latency_ms['p95']:5.0f}ms {bound:11.1f} {report.fps / bound:10.2f} {report.frames:7d}")


if __name__ == "__main__":
    main()
