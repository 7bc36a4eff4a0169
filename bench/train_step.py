#!/usr/bin/env python3
"""Training-step benchmark: pix2pix (unet_256 + basic D) and CycleGAN (resnet_9blocks) at 256x256.

For each method and batch size it times one optimisation step (forward, backward, Adam, both networks):
  reference-style  the reference implementation's step: same networks, same step order, torch's default Adam
  i2i              i2i's step as `i2i train` runs it (fused Adam; on CUDA also channels-last)
  i2i bf16 ...     on CUDA only: bf16 autocast, then bf16 + torch.compile
and prints seconds per step, images/s, the step's FLOPs (counted by torch) and the achieved GFLOP/s next to an
fp32 matmul measured in the same run. Variants are timed in turns, so machine noise hits them alike. It also
runs one step of reference-style and i2i from the same weights and random state and prints how far their
losses and weights differ (fp32: rounding only).

    .venv/bin/python bench/train_step.py                       # everything (about 12 minutes on 2 CPU cores)
    .venv/bin/python bench/train_step.py --tasks pix2pix --batches 1 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from hardware import cpu_description
from torch.utils.flop_counter import FlopCounterMode

from i2i.engine.precision import Precision
from i2i.tasks import Task, default_config, task_class


@dataclass
class Variant:
    name: str
    precision: str = "fp32"
    reference_adam: bool = False
    compile: bool = False


def machine() -> str:
    text = f"{cpu_description()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name()}"
    return text


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def build(task_name: str, variant: Variant, device: torch.device, seed: int = 0) -> Task:
    torch.manual_seed(seed)
    config = default_config(task_name)
    task = task_class(task_name)(config, device, Precision(variant.precision, device))  # type: ignore[arg-type]
    task.init_weights()
    if variant.reference_adam:  # torch's default Adam, as the reference constructs it
        for name, optimizer in task.optimizers.items():
            params = [p for group in optimizer.param_groups for p in group["params"]]
            task.optimizers[name] = torch.optim.Adam(params, lr=config.optim.lr,
                                                     betas=(config.optim.beta1, config.optim.beta2))
    elif device.type == "cuda":
        task.networks.to(memory_format=torch.channels_last)
    if variant.compile:
        task.call = {k: torch.compile(net) for k, net in task.networks.items()}
    return task


def make_step(task: Task, batch: dict[str, torch.Tensor], variant: Variant) -> Callable[[], None]:
    if task.device.type == "cuda" and not variant.reference_adam:
        batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}

    def step() -> None:
        task.train_step(batch)
        task.precision.update()

    return step


def numerics(task_name: str, device: torch.device, batch: dict[str, torch.Tensor]) -> str:
    """One step of reference-style and i2i from identical weights and random state.

    The network stepped first differs by rounding only. A network stepped after it can differ by up to the
    learning rate: Adam's first update is lr * g / (|g| + eps), so a near-zero gradient whose last bit
    changes (the other network moved by a rounding error) can flip its sign.
    """
    results = []
    for variant in (Variant("reference-style", reference_adam=True), Variant("i2i")):
        task = build(task_name, variant, device)
        torch.manual_seed(1)
        losses = task.train_step(batch)
        weights = {k: [p.detach().clone() for p in net.parameters()] for k, net in task.networks.items()}
        results.append((losses, weights))
    (ref_losses, ref_params), (losses, params) = results
    loss_diff = max(abs(float(ref_losses[k]) - float(losses[k])) / max(1e-12, abs(float(ref_losses[k])))
                    for k in losses)
    weights = ", ".join(f"{name} {max(float((a - b).abs().max()) for a, b in zip(ref, params[name], strict=True)):.1e}"
                        for name, ref in ref_params.items())
    return f"relative loss difference {loss_diff:.1e}; max weight difference after the step: {weights}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["pix2pix", "cyclegan"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per variant (median reported)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    variants = [Variant("reference-style", reference_adam=True), Variant("i2i")]
    if device.type == "cuda":
        variants += [Variant("i2i bf16", precision="bf16"), Variant("i2i bf16 compile", precision="bf16", compile=True)]
    peak = matmul_gflops(device)
    print(f"machine: {machine()}; device {device}")
    print(f"fp32 matmul 2048^3: {peak:.0f} GFLOP/s; images {args.size}x{args.size}; median of {args.repeats} steps\n")
    header = (f"{'method':<9} {'batch':>5}  {'variant':<18} {'s/step':>8} {'img/s':>7} {'GFLOP/step':>10} "
              f"{'GFLOP/s':>8} {'% matmul':>8}")
    header += f" {'peak GiB':>8}" if device.type == "cuda" else ""
    print(header)
    notes = []
    for task_name in args.tasks:
        for batch_size in args.batches:
            torch.manual_seed(0)
            batch = {k: torch.rand(batch_size, 3, args.size, args.size, device=device) * 2 - 1 for k in "AB"}
            tasks = {v.name: build(task_name, v, device) for v in variants}
            steps = {v.name: make_step(tasks[v.name], batch, v) for v in variants}
            with FlopCounterMode(display=False) as counter:
                steps["i2i"]()
            gflop = counter.get_total_flops() / 1e9
            for step in steps.values():  # warm-up (and compilation)
                step()
            times: dict[str, list[float]] = {name: [] for name in steps}
            peaks: dict[str, float] = {}
            for _ in range(args.repeats):
                for name, step in steps.items():
                    if device.type == "cuda":
                        torch.cuda.reset_peak_memory_stats()
                    sync(device)
                    start = time.perf_counter()
                    step()
                    sync(device)
                    times[name].append(time.perf_counter() - start)
                    if device.type == "cuda":
                        peaks[name] = torch.cuda.max_memory_allocated() / 2**30
            for name, values in times.items():
                seconds = statistics.median(values)
                line = (f"{task_name:<9} {batch_size:>5}  {name:<18} {seconds:>8.3f} {batch_size / seconds:>7.2f} "
                        f"{gflop:>10.1f} {gflop / seconds:>8.1f} {100 * gflop / seconds / peak:>7.0f}%")
                print(line + (f" {peaks[name]:>8.2f}" if peaks else ""), flush=True)
            base, ours = statistics.median(times["reference-style"]), statistics.median(times["i2i"])
            notes.append(f"{task_name} batch {batch_size}: i2i {base / ours:.2f}x the reference-style step; "
                         + numerics(task_name, device, batch))
            del tasks, steps
    print()
    print("\n".join(notes))


if __name__ == "__main__":
    main()
