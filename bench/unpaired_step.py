#!/usr/bin/env python3
"""Training-step benchmark of the unpaired methods: CycleGAN against CUT and FastCUT, side by side.

Each method's step as `i2i train` runs it (fp32, fused Adam, the task's own train_step) at the same resolution,
networks (ResNet generator(s), basic PatchGAN(s), instance norm) and batch, on random images. Steps are timed in
rounds, each round one step of every method in turn, so machine noise hits them alike; the table gives the median
time per step, its ratio to CycleGAN's with the issue's targets (CUT <= 0.65x, FastCUT <= 0.45x; the paper
measured 0.60x and 0.38x on a GPU), and the FLOPs of one step counted by torch (forward, backward, Adam).

    .venv/bin/python bench/unpaired_step.py                        # 256x256, resnet_9blocks, batch 1: ~6 min, 2 cores
    .venv/bin/python bench/unpaired_step.py --size 128 --ngf 32 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from hardware import cpu_description
from torch.utils.flop_counter import FlopCounterMode

from i2i.config import apply_overrides
from i2i.tasks import default_config, task_class

METHODS = ("cyclegan", "cut", "fastcut")
TARGETS = {"cut": 0.65, "fastcut": 0.45}


def build(task: str, size: int, net_g: str, ngf: int, batch: int, device: torch.device) -> tuple[object, dict]:
    config = apply_overrides(default_config(task), {"data": {"crop_size": size, "load_size": size},
                                                    "model": {"net_g": net_g, "ngf": ngf},
                                                    "optim": {"batch_size": batch}})
    method = task_class(task)(config, device)
    method.init_weights()
    generator = torch.Generator(device="cpu").manual_seed(0)
    images = {k: (torch.rand(batch, 3, size, size, generator=generator) * 2 - 1).to(device) for k in "AB"}
    return method, images


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--netG", default="resnet_9blocks")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="timed steps of each method (default: 3)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"machine: {cpu_description()}, torch {torch.__version__} ({torch.get_num_threads()} threads), device "
          f"{device}; load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"settings: {args.size}x{args.size}, {args.netG} ngf {args.ngf}, basic D ndf 64, instance norm, batch "
          f"{args.batch}, fp32; CUT/FastCUT: 5 NCE layers x 256 patches, 256-wide heads; {args.rounds} timed "
          "rounds after one warm-up step\n")
    methods = {task: build(task, args.size, args.netG, args.ngf, args.batch, device) for task in METHODS}
    flops = {}
    for task, (method, images) in methods.items():
        method.train_step(images)  # warm-up (allocations, oneDNN primitive caches)
        with FlopCounterMode(display=False) as counter:
            method.train_step(images)
        flops[task] = counter.get_total_flops()
    times: dict[str, list[float]] = {task: [] for task in METHODS}
    for _ in range(args.rounds):
        for task, (method, images) in methods.items():
            sync(device)
            start = time.perf_counter()
            method.train_step(images)
            sync(device)
            times[task].append(time.perf_counter() - start)
    base = statistics.median(times["cyclegan"])
    print(f"{'method':10s} {'s/step (median)':>16s} {'min-max':>15s} {'vs CycleGAN':>12s} {'target':>15s} "
          f"{'GFLOP/step':>12s} {'GFLOP vs CycleGAN':>18s}")
    for task in METHODS:
        median = statistics.median(times[task])
        target = TARGETS.get(task)
        verdict = "" if target is None else f"<= {target:.2f} {'met' if median / base <= target else 'NOT met'}"
        print(f"{task:10s} {median:16.3f} {min(times[task]):7.3f}-{max(times[task]):<7.3f} {median / base:11.2f}x "
              f"{verdict:>15s} {flops[task] / 1e9:12.1f} {flops[task] / flops['cyclegan']:17.2f}x")
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
