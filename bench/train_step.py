#!/usr/bin/env python3
"""Training-step benchmark: pix2pix (unet_256 + basic D) and CycleGAN (resnet_9blocks) at 256x256.

For each method and batch size it times one optimisation step (forward, backward, Adam, both networks):
  reference-style  the reference implementation's step: same networks and step order, torch's default Adam,
                   PyTorch's instance norm, contiguous tensors, cuDNN autotuner on (as the reference sets it)
  i2i              i2i's step as `i2i train` runs it (fused Adam; on CUDA channels-last where every network
                   keeps that layout, eager launches)
  i2i graph        on CUDA: the same step captured once in a CUDA graph and replayed (`i2i train`'s default)
  i2i bf16 ...     on CUDA: bf16 autocast, eager and graphed; `--compile` adds torch.compile variants
and prints time per step, images/s, the step's FLOPs (counted by torch) and the achieved rate next to a matmul
measured in the same run (fp32 on CPU; bf16 on CUDA, the tensor cores' peak). Variants are timed in turns,
so machine noise hits them alike. Numerics: one step of reference-style and i2i from the same weights and
random state (fp32: rounding only), and several steps of i2i graphed against eager.

    .venv/bin/python bench/train_step.py                       # everything (about 12 minutes on 2 CPU cores)
    .venv/bin/python bench/train_step.py --tasks pix2pix --batches 1 --steps 1 --rounds 5
    python bench/train_step.py --batches 1 8 16 --profile      # on a GPU: also the top kernels per variant
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from hardware import cpu_description
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from i2i.engine.graphs import GraphedStep
from i2i.engine.optimizers import make_capturable
from i2i.engine.precision import Precision
from i2i.nn import keeps_channels_last
from i2i.tasks import Task, default_config, task_class


@dataclass
class Variant:
    name: str
    precision: str = "fp32"
    reference: bool = False
    graph: bool = False
    compile: bool = False


def machine() -> str:
    text = f"{cpu_description()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name()}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
    return text


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_tflops(device: torch.device, dtype: torch.dtype, n: int = 4096, repeats: int = 10) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e12


def reference_norms(net: nn.Module) -> None:
    """Swap i2i's layout-keeping instance norm for PyTorch's (what the reference code uses)."""
    for module in net.modules():
        for name, child in module.named_children():
            if isinstance(child, nn.InstanceNorm2d) and type(child) is not nn.InstanceNorm2d:
                setattr(module, name, nn.InstanceNorm2d(child.num_features, eps=child.eps, affine=child.affine,
                                                        track_running_stats=child.track_running_stats))


def build(task_name: str, variant: Variant, device: torch.device, seed: int = 0) -> Task:
    torch.manual_seed(seed)
    config = default_config(task_name)
    task = task_class(task_name)(config, device, Precision(variant.precision, device))  # type: ignore[arg-type]
    task.init_weights()
    if variant.reference:  # torch's default Adam, as the reference constructs it
        for net in task.networks.values():
            reference_norms(net)
        for name, optimizer in task.optimizers.items():
            params = [p for group in optimizer.param_groups for p in group["params"]]
            task.optimizers[name] = torch.optim.Adam(params, lr=config.optim.lr,
                                                     betas=(config.optim.beta1, config.optim.beta2))
    elif device.type == "cuda" and channels_last(task):
        task.networks.to(memory_format=torch.channels_last)
    if variant.compile:
        task.call = {k: torch.compile(net) for k, net in task.networks.items()}
    return task


def channels_last(task: Task) -> bool:
    """The trainer's rule: channels-last when every network keeps that layout (see i2i.nn.keeps_channels_last)."""
    return all(keeps_channels_last(net) for net in task.networks.values())


def make_step(task: Task, batch: dict[str, torch.Tensor], variant: Variant) -> Callable[[], None]:
    if task.device.type == "cuda" and not variant.reference and channels_last(task):
        batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
    run: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] = task.train_step
    if variant.graph:
        run = GraphedStep(task.train_step, task.device,
                          before_capture=lambda: make_capturable(task.optimizers, task.device))

    def step() -> None:
        run(batch)
        task.precision.update()

    return step


def numerics(task_name: str, device: torch.device, batch: dict[str, torch.Tensor]) -> str:
    """One step of reference-style and i2i from identical weights and random state.

    The network stepped first differs by rounding only. A network stepped after it can differ by up to the
    learning rate: Adam's first update is lr * g / (|g| + eps), so a near-zero gradient whose last bit
    changes (the other network moved by a rounding error) can flip its sign.
    """
    results = []
    for variant in (Variant("reference-style", reference=True), Variant("i2i")):
        task = build(task_name, variant, device)
        torch.manual_seed(1)
        losses = task.train_step(batch)
        weights = {k: [p.detach().clone() for p in net.parameters()] for k, net in task.networks.items()}
        results.append((losses, weights))
    return "reference-style vs i2i, 1 step: " + _compare(*results)


def graph_numerics(task_name: str, device: torch.device, batch: dict[str, torch.Tensor], steps: int = 6) -> str:
    """i2i eager against i2i replayed from a CUDA graph, same start, ``steps`` steps."""
    results = []
    for variant in (Variant("i2i"), Variant("i2i graph", graph=True)):
        task = build(task_name, variant, device)
        step = make_step(task, batch, variant)
        torch.manual_seed(1)
        for _ in range(steps):
            step()
        last = make_last_losses(task, batch, variant)
        weights = {k: [p.detach().clone() for p in net.parameters()] for k, net in task.networks.items()}
        results.append((last, weights))
    return f"i2i eager vs graphed, {steps + 1} steps: " + _compare(*results)


def make_last_losses(task: Task, batch: dict[str, torch.Tensor], variant: Variant) -> dict[str, torch.Tensor]:
    if task.device.type == "cuda" and channels_last(task):
        batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
    return task.train_step(batch)  # eager, after the graphed steps: the state the graph left behind


def _compare(first: tuple, second: tuple) -> str:
    (losses_a, params_a), (losses_b, params_b) = first, second
    loss_diff = max(abs(float(losses_a[k]) - float(losses_b[k])) / max(1e-12, abs(float(losses_a[k])))
                    for k in losses_b)
    def max_diff(name: str) -> float:
        return max(float((a - b).abs().max()) for a, b in zip(params_a[name], params_b[name], strict=True))

    weights = ", ".join(f"{name} {max_diff(name):.1e}" for name in params_a)
    return f"relative loss difference {loss_diff:.1e}; max weight difference: {weights}"


def profile(step: Callable[[], None], device: torch.device, steps: int = 5, top: int = 12) -> str:
    """Top GPU kernels of ``steps`` steps, and how busy the GPU was (kernel time / wall time)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    sync(device)
    start = time.perf_counter()
    with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        sync(device)
    wall = time.perf_counter() - start
    kernels: dict[str, tuple[float, int]] = {}
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            total, count = kernels.get(event.name, (0.0, 0))
            kernels[event.name] = (total + event.time_range.elapsed_us(), count + 1)
    busy = sum(t for t, _ in kernels.values()) / 1e6
    if not busy:
        return "    no GPU activity recorded"
    lines = [f"    GPU busy {100 * busy / wall:.0f}% of {1000 * wall / steps:.1f} ms/step; "
             f"{sum(c for _, c in kernels.values()) / steps:.0f} kernels/step"]
    for name, (total, count) in sorted(kernels.items(), key=lambda kv: -kv[1][0])[:top]:
        share = 100 * total / 1e6 / busy
        lines.append(f"    {share:5.1f}%  {total / steps / 1000:7.3f} ms/step  x{count / steps:<5.0f} {name[:90]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["pix2pix", "cyclegan"])
    parser.add_argument("--batches", nargs="+", type=int, default=None, help="default: 1 4 (CPU), 1 8 16 (CUDA)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per variant (median reported)")
    parser.add_argument("--steps", type=int, default=None, help="steps per round (default 1 on CPU, 10 on CUDA)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--compile", action="store_true", help="CUDA: add torch.compile variants")
    parser.add_argument("--profile", nargs="*", type=int, metavar="BATCH",
                        help="CUDA: print the top kernels of each variant at these batch sizes (default 1 and 16)")
    parser.add_argument("--only", nargs="+", help="run only the variants with these names")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    batches = args.batches or ([1, 8, 16] if cuda else [1, 4])
    steps_per_round = args.steps or (10 if cuda else 1)
    torch.backends.cudnn.benchmark = True  # the reference sets it (fixed crop sizes); i2i's trainer too
    variants = [Variant("reference-style", reference=True), Variant("i2i")]
    if cuda:
        variants += [Variant("i2i graph", graph=True), Variant("i2i bf16", precision="bf16"),
                     Variant("i2i bf16 graph", precision="bf16", graph=True)]
        if args.compile:
            variants += [Variant("i2i bf16 compile", precision="bf16", compile=True)]
    if args.only:
        variants = [v for v in variants if v.name in (*args.only, "reference-style", "i2i")]
    peak_dtype = torch.bfloat16 if cuda else torch.float32
    peak = matmul_tflops(device, peak_dtype) * 1000
    print(f"machine: {machine()}; device {device}")
    print(f"{'bf16' if cuda else 'fp32'} matmul 4096^3: {peak:.0f} GFLOP/s; images {args.size}x{args.size}; "
          f"median of {args.rounds} rounds of {steps_per_round} step(s)\n")
    header = (f"{'method':<9} {'batch':>5}  {'variant':<18} {'ms/step':>9} {'img/s':>8} {'vs ref':>7} "
              f"{'GFLOP/step':>10} {'TFLOP/s':>8} {'% peak':>6}")
    header += f" {'peak GiB':>8}" if cuda else ""
    print(header)
    for task_name in args.tasks:
        for batch_size in batches:
            torch.manual_seed(0)
            batch = {k: torch.rand(batch_size, 3, args.size, args.size, device=device) * 2 - 1 for k in "AB"}
            tasks = {v.name: build(task_name, v, device) for v in variants}
            steps = {v.name: make_step(tasks[v.name], batch, v) for v in variants}
            with FlopCounterMode(display=False) as counter:
                tasks["i2i"].train_step(batch)
            gflop = counter.get_total_flops() / 1e9
            peaks: dict[str, float] = {}
            for name, step in steps.items():  # warm-up: autotuning, compilation, graph capture (after 3 eager steps)
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                for _ in range(5 if cuda else 1):
                    step()
                if cuda:  # a graph's memory pool is allocated at its capture, so the peak is taken here
                    peaks[name] = torch.cuda.max_memory_allocated() / 2**30
            times: dict[str, list[float]] = {name: [] for name in steps}
            for _ in range(args.rounds):
                for name, step in steps.items():
                    sync(device)
                    start = time.perf_counter()
                    for _ in range(steps_per_round):
                        step()
                    sync(device)
                    times[name].append((time.perf_counter() - start) / steps_per_round)
            base = statistics.median(times["reference-style"])
            for name, values in times.items():
                seconds = statistics.median(values)
                line = (f"{task_name:<9} {batch_size:>5}  {name:<18} {1000 * seconds:>9.2f} "
                        f"{batch_size / seconds:>8.1f} {base / seconds:>6.2f}x {gflop:>10.1f} "
                        f"{gflop / seconds / 1000:>8.3g} {100 * gflop / seconds / peak:>5.0f}%")
                print(line + (f" {peaks[name]:>8.2f}" if peaks else ""), flush=True)
            # printed as they come, so that a run stopped at a time limit keeps what it measured
            print(f"    numerics: {numerics(task_name, device, batch)}", flush=True)
            if cuda and any(v.graph for v in variants):
                print(f"    numerics: {graph_numerics(task_name, device, batch)}", flush=True)
            if args.profile is not None and cuda and batch_size in (args.profile or [1, 16]):
                for name, step in steps.items():
                    print(f"    where the GPU time goes, {name} (torch.profiler):\n{profile(step, device)}", flush=True)
            del tasks, steps
            if cuda:
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
