#!/usr/bin/env python3
"""Super-resolution benchmark: quality of bicubic / SRResNet / SRGAN on held-out photos, and speed.

quality  trains SRResNet (x4, MSRResNet: 16 blocks, 64 features, MSE) on datasets/kde-photos-sr/train for
         --srresnet-minutes, then fine-tunes it as SRGAN (VGG-style discriminator, 1e-3 adversarial) for
         --srgan-minutes, and scores bicubic (MATLAB's), SRResNet and SRGAN by PSNR-Y / SSIM-Y (4-pixel border
         crop, 8-bit levels) on photos never seen in training: the sample's val/ split (two other photographs),
         and OpenCV's sample photos when ../shared/data/get-debian-data.sh has unpacked them. SRGAN's perceptual
         loss needs torchvision's VGG19 file (--vgg-weights, or in I2I_HOME); without it SRGAN trains with
         adversarial + MSE loss, and the table says so.
speed    a training step (pixel loss, Adam) and inference (torch eager, ONNX Runtime fp32 and int8) of srresnet and
         rrdbnet at 128 -> 512 and 256 -> 1024, and of the live model (srresnet_4blocks, ngf 32, x2) at 240 -> 480,
         batch 1, random weights, with each run's FLOPs (counted by torch) and the achieved GFLOP/s next to a
         2048^3 fp32 matmul measured in the same run. On a GPU the torch forward is measured there too.

    .venv/bin/python bench/sr.py                                   # both (about 35 min on 2 CPU cores)
    .venv/bin/python bench/sr.py --only quality --srresnet-minutes 5 --srgan-minutes 1
    .venv/bin/python bench/sr.py --only speed --archs srresnet --sizes 128
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from hardware import cpu_description
from torch.utils.flop_counter import FlopCounterMode

from i2i.config import apply_overrides
from i2i.data.degradations import bicubic_downscale, imresize_torch
from i2i.deploy.export import ExportRequest, export_network, model_info
from i2i.deploy.onnx_export import inference_network
from i2i.engine.checkpoint import load_checkpoint
from i2i.engine.precision import Precision
from i2i.hub.weights import weights_folder
from i2i.images import list_images, read_image
from i2i.infer import OnnxModel
from i2i.metrics.sr import psnr_y, ssim_y
from i2i.models import spec_for
from i2i.tasks import default_config, task_class
from i2i.training.trainer import resume, train

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "datasets" / "kde-photos-sr"
OPENCV_PHOTOS = Path("~/.cache/i2i-data/opencv-samples").expanduser()
HELD_OUT_OPENCV = ("baboon.jpg", "fruits.jpg", "butterfly.jpg", "building.jpg", "home.jpg", "aero3.jpg")
SCALE = 4


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / best_time(lambda: a @ b, repeats) / 1e9


def best_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """The fastest of ``repeats`` runs after ``warmup``: on a shared machine, the run least slowed by others."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# --- quality --------------------------------------------------------------------------------------------------

def train_for(config: object, minutes: float, chunk_steps: int) -> tuple[Path, int, float]:
    """Train (resuming in chunks) until ``minutes`` of wall time are spent; (run folder, steps, minutes)."""
    start = time.perf_counter()
    result = train(apply_overrides(config, {"run": {"max_steps": 5}}), progress_bar=False)  # measures a step
    while time.perf_counter() - start < 60 * minutes and not result.finished:
        per_step = (time.perf_counter() - start) / result.progress.step
        left = 60 * minutes - (time.perf_counter() - start)
        more = max(1, min(chunk_steps, int(left / per_step)))
        result = resume(result.run_dir, {"run": {"max_steps": result.progress.step + more}}, progress_bar=False)
    return result.run_dir, result.progress.step, (time.perf_counter() - start) / 60


def held_out_sets() -> dict[str, list[np.ndarray]]:
    """HR photos never used in training: the sample's val/ tiles, and OpenCV's sample photos when unpacked."""
    sets = {"kde-photos-sr val/ (16 tiles of 2 photos)": [read_image(p, 3) for p in list_images(SAMPLE / "val")]}
    found = [OPENCV_PHOTOS / n for n in HELD_OUT_OPENCV if (OPENCV_PHOTOS / n).is_file()]
    if found:
        sets[f"OpenCV samples ({', '.join(p.stem for p in found)})"] = [read_image(p, 3) for p in found]
    return sets


@torch.no_grad()
def score(upscale: Callable[[torch.Tensor], torch.Tensor], images: list[np.ndarray]) -> tuple[float, float]:
    """Mean PSNR-Y and SSIM-Y of ``upscale`` over HR ``images`` (each cropped to a multiple of the scale)."""
    psnrs, ssims = [], []
    for hr in images:
        h, w = hr.shape[0] // SCALE * SCALE, hr.shape[1] // SCALE * SCALE
        hr = hr[:h, :w]
        lr = torch.from_numpy(bicubic_downscale(hr, SCALE)).permute(2, 0, 1)[None].float() / 255
        target = torch.from_numpy(hr).permute(2, 0, 1)[None].float() / 255
        out = upscale(lr).clamp(0, 1)
        psnrs.append(float(psnr_y(out, target, SCALE)))
        ssims.append(float(ssim_y(out, target, SCALE)))
    return statistics.fmean(psnrs), statistics.fmean(ssims)


def quality(args: argparse.Namespace) -> None:
    out = Path(tempfile.mkdtemp(prefix="i2i-bench-sr-"))
    base = {"data": {"root": str(SAMPLE), "crop_size": args.crop, "num_workers": 0, "val_images": 16},
            "run": {"out": str(out), "log_every": 50, "sample_every": 0, "save_every_epochs": 0}}
    sr_config = apply_overrides(default_config("srresnet"), {**base, "run": {**base["run"], "name": "srresnet"},
                                                             "method": {"scale": SCALE}})
    print(f"training SRResNet for {args.srresnet_minutes} min (x{SCALE}, HR patches {args.crop}, batch 16) ...",
          flush=True)
    sr_dir, sr_steps, sr_minutes = train_for(sr_config, args.srresnet_minutes, 60)
    vgg = args.vgg_weights or next((str(p) for p in weights_folder().glob("vgg19-*.pth")), "")
    gan_method = {"scale": SCALE, "init_from": str(sr_dir)}
    if vgg:
        gan_method["vgg_weights"] = vgg
        recipe = "VGG54 perceptual (L1, before activation) + 1e-3 adversarial"
    else:
        gan_method.update(lambda_perceptual=0.0, lambda_pixel=1.0, pixel_loss="mse")
        recipe = "MSE + 1e-3 adversarial: no VGG19 weights here (--vgg-weights), so no perceptual loss"
    gan_config = apply_overrides(default_config("srgan"), {**base, "run": {**base["run"], "name": "srgan"},
                                                           "method": gan_method})
    print(f"fine-tuning SRGAN for {args.srgan_minutes} min ({recipe}) ...", flush=True)
    gan_dir, gan_steps, gan_minutes = train_for(gan_config, args.srgan_minutes, 20)

    generators = {name: load_checkpoint(d / "checkpoints" / "latest.safetensors").build("G").eval()
                  for name, d in (("SRResNet", sr_dir), ("SRGAN", gan_dir))}
    methods: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], str]] = {
        "bicubic (MATLAB imresize)": (lambda lr: imresize_torch(lr, SCALE), "-"),
        "SRResNet (MSRResNet, MSE)": (generators["SRResNet"], f"{sr_minutes:.1f} min, {sr_steps} steps"),
        f"SRGAN ({recipe.split(':')[0]})": (generators["SRGAN"], f"+{gan_minutes:.1f} min, {gan_steps} steps"),
    }
    for title, images in held_out_sets().items():
        print(f"\nx{SCALE} on {title}, PSNR-Y / SSIM-Y (4-pixel border crop, 8-bit levels):")
        print("| method | training | PSNR-Y (dB) | SSIM-Y |\n| --- | --- | --- | --- |")
        bicubic_psnr = None
        for name, (fn, trained) in methods.items():
            p, s = score(fn, images)
            bicubic_psnr = p if bicubic_psnr is None else bicubic_psnr
            gain = "" if name.startswith("bicubic") else f" ({p - bicubic_psnr:+.2f})"
            print(f"| {name} | {trained} | {p:.2f}{gain} | {s:.4f} |", flush=True)
    print(f"\nruns kept in {out}")


# --- speed ----------------------------------------------------------------------------------------------------

def flops_of(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def speed(args: argparse.Namespace) -> None:
    peak = matmul_gflops()
    print(f"\nfp32 matmul 2048^3: {peak:.0f} GFLOP/s (this run); batch 1, random weights; best of {args.repeats} "
          "runs after one warm-up; GF/s are nominal FLOPs (counted by torch) per second")
    print("| network | LR -> HR | GFLOP | train step | torch eager | ORT fp32 | ORT int8 | int8 PSNR-Y vs fp32 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    calibration = [read_image(p, 3) for p in list_images(SAMPLE / "val")[:4]]
    rows = [(arch, 64, SCALE, size) for arch in args.archs for size in args.sizes]
    if args.compact:
        rows.append(("srresnet_4blocks", 32, 2, 240))  # the live path: 240 -> 480, the webcam view's height
    def rate(seconds: float, flops: float) -> str:
        return f"{seconds * 1000:.0f} ms ({flops / seconds:.0f} GF/s)"

    for arch, ngf, scale, size in rows:
        torch.manual_seed(0)
        config = apply_overrides(default_config("srresnet"), {"model": {"net_g": arch, "ngf": ngf},
                                                              "method": {"scale": scale},
                                                              "data": {"crop_size": size * scale}})
        task = task_class("srresnet")(config, torch.device("cpu"), Precision("fp32", torch.device("cpu")))
        task.init_weights()
        lr = torch.rand(1, 3, size, size)
        batch = {"LR": lr, "HR": torch.rand(1, 3, size * scale, size * scale)}
        net = inference_network(task.networks["G"])
        with torch.no_grad():
            forward_flops = flops_of(lambda: net(lr)) / 1e9  # noqa: B023
        if forward_flops <= args.max_train_gflop:
            step_flops = flops_of(lambda: task.train_step(batch)) / 1e9  # noqa: B023
            step = best_time(lambda: task.train_step(batch), max(1, args.repeats // 2))  # noqa: B023
            train_text = rate(step, step_flops)
        else:  # rrdbnet at 256 -> 1024 keeps over 20 GB of activations for the backward pass
            train_text = f"- (forward over {args.max_train_gflop:g} GFLOP)"
        with torch.no_grad():
            eager = best_time(lambda: net(lr), args.repeats)  # noqa: B023
        spec = spec_for(arch, in_channels=3, out_channels=3, ngf=ngf, scale=scale)
        # checked and calibrated at 128 pixels at most: calibration keeps every activation of every image
        info = model_info("srresnet", spec, net, min(size, 128) * scale, "", "running", (0.0, 1.0))
        with tempfile.TemporaryDirectory() as tmp:
            request = ExportRequest(arch, Path(tmp) / f"{arch}.onnx", int8=True, register=False)
            export_network(net, info, request, calibration, calibration, say=lambda _: None)
            threads = torch.get_num_threads()  # ONNX Runtime with as many threads as torch and the matmul had
            fp32 = OnnxModel(Path(tmp) / f"{arch}.onnx", "cpu", threads=threads)
            int8 = OnnxModel(Path(tmp) / f"{arch}.int8.onnx", "cpu", threads=threads)
            x = lr.numpy()
            ort_fp32 = best_time(lambda: fp32(x), args.repeats)  # noqa: B023
            ort_int8 = best_time(lambda: int8(x), args.repeats)  # noqa: B023
            quality_y = float(psnr_y(torch.from_numpy(int8(x)), torch.from_numpy(fp32(x))).mean())
        name = arch if ngf == 64 else f"{arch}, ngf {ngf}"
        print(f"| {name} | {size} -> {size * scale} (x{scale}) | {forward_flops:.1f} | {train_text} | "
              f"{rate(eager, forward_flops)} | {rate(ort_fp32, forward_flops)}, "
              f"{100 * forward_flops / ort_fp32 / peak:.0f}% of matmul | {ort_int8 * 1000:.0f} ms "
              f"({ort_fp32 / ort_int8:.2f}x fp32) | {quality_y:.1f} dB |", flush=True)
        if torch.cuda.is_available():
            gpu = net.cuda()
            x_gpu = lr.cuda()

            def run_gpu() -> None:
                with torch.no_grad():
                    gpu(x_gpu)  # noqa: B023
                torch.cuda.synchronize()

            cuda = rate(best_time(run_gpu, 10), forward_flops)
            print(f"|   (CUDA, {torch.cuda.get_device_name()}) | | | | {cuda} | | | |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("quality", "speed"))
    parser.add_argument("--srresnet-minutes", type=float, default=22.0)
    parser.add_argument("--srgan-minutes", type=float, default=6.0)
    parser.add_argument("--crop", type=int, default=96, help="HR training patch (default: 96, the SRGAN paper's)")
    parser.add_argument("--vgg-weights", help="torchvision's vgg19-dcbb9e9d.pth, for SRGAN's perceptual loss")
    parser.add_argument("--archs", nargs="*", default=["srresnet", "rrdbnet"])
    parser.add_argument("--sizes", nargs="*", type=int, default=[128, 256])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-train-gflop", type=float, default=1000.0,
                        help="time a training step only for networks whose forward pass is at most this many GFLOP "
                             "(default 1000: rrdbnet at 256 -> 1024 would need over 24 GB)")
    parser.add_argument("--no-compact", dest="compact", action="store_false",
                        help="leave out the live model (srresnet_4blocks, ngf 32, x2, 240 -> 480)")
    args = parser.parse_args()
    print(f"{cpu_description()}; torch {torch.__version__} and onnxruntime {ort.__version__}, "
          f"{torch.get_num_threads()} threads each (OMP_NUM_THREADS sets it)", flush=True)
    if args.only in (None, "quality"):
        quality(args)
    if args.only in (None, "speed"):
        speed(args)


if __name__ == "__main__":
    sys.exit(main())
