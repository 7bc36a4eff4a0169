#!/usr/bin/env python3
"""Distillation benchmark: a compact student against its teacher, in quality and in live frames per second.

The student is trained by `i2i distill TEACHER` for the given minutes at the constant learning rate
(mobile_resnet_9blocks, ngf 16, batch norm, 4 images a step: the command's defaults), then resumed with `i2i train
--resume` to finish that epoch and decay the rate linearly to its end over --decay-epochs more epochs. Both are
exported as `i2i export` does (the student on its batch norms' running statistics, folded into the convolutions by
ONNX Runtime); the teacher is the one the student's run records. Both translate the 14 held-out
day images of datasets/gnome-day2night/val at the teacher's training size and are scored against the true night
images (PSNR, SSIM; bench/pairs.py), and the student against the teacher's outputs. Then each runs through the
whole `i2i webcam` pipeline in its own process at 256x256 (headless, `--report`; a video from the bundled sample,
or --video, delivered as a 60 frames/s camera would be), next to the model alone on the same frames.
Targets (issue 17): the student at least 30 FPS through the pipeline on 2 CPU cores, and within 1.0 dB PSNR of its
teacher against the true targets.

    .venv/bin/python bench/distill.py --teacher runs/bench-unpaired/cut-s1  # 15 minutes, then 20 epochs of decay
    .venv/bin/python bench/distill.py --teacher runs/h2z --which G_A --minutes 30 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hardware import cpu_description
from pairs import ROOT, compare, held_out_pairs, score_model
from webcam import bundled_video, model_only_fps

from i2i.deploy.export import export_run
from i2i.engine.checkpoint import latest_checkpoint, load_checkpoint, resolve_checkpoint
from i2i.images import read_image
from i2i.infer import OnnxModel
from i2i.models.macs import count_macs


def distill(args: argparse.Namespace) -> Path:
    """Train the student with `i2i distill` in its own process (kept if the folder already holds one)."""
    run = args.out / args.name
    if latest_checkpoint(run).is_file():
        print(f"student: kept from an earlier session ({run})")
        return run
    command = [sys.executable, "-m", "i2i", "distill", str(args.teacher), "--name", args.name, "--out", str(args.out),
               "--max-minutes", f"{args.minutes:g}", "--n-epochs", "100000", "--n-epochs-decay", "0",
               "--num-workers", "0", "--val-images", "4", "--log-every", "50", "--sample-every", "0",
               "--save-every-epochs", "0", "--no-progress", *([f"--which={args.which}"] if args.which else [])]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)} if args.threads else dict(os.environ)
    print("student: " + " ".join(command[2:]), flush=True)
    run.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(args.out / f"{args.name}.log", "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, env=env)
        progress = load_checkpoint(latest_checkpoint(run), with_state=False).progress
        print(f"  {progress.step} steps at the constant rate in {(time.monotonic() - start) / 60:.1f} min",
              flush=True)
        if args.decay_epochs:
            # the rate stays for the epoch in progress, then falls linearly over the decay epochs
            constant = progress.epoch + (1 if progress.batch else 0)
            decay = [sys.executable, "-m", "i2i", "train", "--resume", str(run), "--n-epochs", str(constant),
                     "--n-epochs-decay", str(args.decay_epochs), "--no-progress"]
            print("student: " + " ".join(decay[2:]), flush=True)
            subprocess.run(decay, check=True, stdout=log, stderr=subprocess.STDOUT, env=env)
    print(f"  trained {load_checkpoint(latest_checkpoint(run), with_state=False).progress.step} steps in "
          f"{(time.monotonic() - start) / 60:.1f} min", flush=True)
    return run


def webcam_fps(model: Path, video: Path, size: int, frames: int, folder: Path) -> dict:
    """The whole `i2i webcam` pipeline in a fresh process, headless: its --report."""
    report = folder / f"{model.stem}-webcam.json"
    command = [sys.executable, "-m", "i2i", "webcam", "--model", str(model), "--source", str(video), "--no-window",
               "--size", str(size), "--frames", str(frames), "--loop", "--realtime", "60", "--device", "cpu",
               "--report", str(report)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(report.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", type=Path, default=ROOT / "runs" / "bench-unpaired" / "cut-s0")
    parser.add_argument("--which", help="the teacher's generator (default: its first)")
    parser.add_argument("--minutes", type=float, default=15.0, help="distillation minutes (default: 15)")
    parser.add_argument("--decay-epochs", type=int, default=20, help="epochs of linear learning-rate decay after "
                        "the minutes (default: 20; 0: none)")
    parser.add_argument("--name", default="student")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-distill")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the distillation run (default: torch's)")
    parser.add_argument("--size", type=int, default=256, help="side of the live pipeline's frames (default: 256)")
    parser.add_argument("--seconds", type=float, default=15.0, help="pipeline time per model (default: 15)")
    parser.add_argument("--video", type=Path, help="default: a video made from the bundled sample")
    args = parser.parse_args()
    print(f"machine: {cpu_description()}, torch {torch.__version__}; load average before: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    student_run = distill(args)
    exports = args.out / "exports"
    (student,) = export_run(student_run, out=exports / "student.onnx", register=False, say=lambda _: None)
    teacher_run = Path(student.card["teacher"]["source"])  # the student's own teacher, also when it was kept
    teacher_checkpoint = load_checkpoint(resolve_checkpoint(teacher_run), with_state=False)
    which = args.which or student.card["teacher"]["generator"]
    (teacher,) = export_run(teacher_run, which=which, out=exports / "teacher.onnx", register=False, say=lambda _: None)
    side = int(teacher.card["train_size"])
    pairs = held_out_pairs(side)
    teacher_scores, student_scores = score_model(teacher.path, pairs), score_model(student.path, pairs)
    imitation = compare(student_scores.outputs, teacher_scores.outputs)
    print(f"\nquality on the 14 held-out pairs at {side}x{side} (teacher: {teacher_run}, step "
          f"{teacher_checkpoint.progress.step}):")
    teacher_spec = teacher_checkpoint.specs[which]
    student_spec = load_checkpoint(latest_checkpoint(student_run), with_state=False).specs["G"]
    labels = {"teacher": f"teacher {teacher_spec.name} ngf {teacher_spec.kwargs.get('ngf')}",
              "student": f"student {student_spec.name} ngf {student_spec.kwargs.get('ngf')}, "
                         f"{student_spec.kwargs.get('norm')} norm"}
    print(f"{'model':48s} {'PSNR vs truth':>14s} {'SSIM vs truth':>14s} {'PSNR vs teacher':>16s}")
    print(f"{labels['teacher']:48s} {teacher_scores.psnr:14.2f} {teacher_scores.ssim:14.4f} {'-':>16s}")
    print(f"{labels['student']:48s} {student_scores.psnr:14.2f} {student_scores.ssim:14.4f} {imitation.psnr:16.2f}")
    gap = teacher_scores.psnr - student_scores.psnr
    print(f"PSNR gap to the teacher: {gap:+.2f} dB (target: within 1.0 dB: {'met' if gap <= 1.0 else 'NOT met'})")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = args.video or bundled_video(folder / "sample.avi")
        frames = [read_image(ROOT / "i2i" / "assets" / "parity.jpg")]
        print(f"\nlive pipeline at {args.size}x{args.size}: i2i webcam --model MODEL.onnx --source {video.name} "
              f"--no-window --size {args.size} --loop --realtime 60 --device cpu --report FILE")
        print(f"{'model':48s} {'GMAC':>6s} {'params':>8s} {'pipeline FPS':>13s} {'latency p50/p95':>16s} "
              f"{'model alone':>12s}")
        results = {}
        for label, exported, spec in (("teacher", teacher, teacher_spec), ("student", student, student_spec)):
            net = spec.build()
            macs = count_macs(net, (1, 3, args.size, args.size)) / 1e9
            params = sum(p.numel() for p in net.parameters()) / 1e6
            alone = model_only_fps(OnnxModel(exported.path, device="cpu", spin=False), frames, args.size, 3.0)
            count = int(np.clip(alone * args.seconds, 10, 900))
            report = webcam_fps(exported.path, video, args.size, count, folder)
            results[label] = report["fps"]
            latency = report["latency_ms"]
            print(f"{labels[label]:48s} {macs:6.2f} {params:7.2f}M {report['fps']:13.1f} "
                  f"{latency['p50']:7.0f}/{latency['p95']:<4.0f} ms {alone:12.1f}")
    met = results["student"] >= 30
    print(f"student through the pipeline: {results['student']:.1f} FPS (target: at least 30: "
          f"{'met' if met else 'NOT met'}); speed-up over the teacher {results['student'] / results['teacher']:.1f}x")
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
