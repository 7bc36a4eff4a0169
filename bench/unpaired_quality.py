#!/usr/bin/env python3
"""Quality at equal minutes: CycleGAN, CUT and FastCUT trained on day -> night *as unpaired*, scored against the
true night images.

datasets/gnome-day2night is truly paired. datasets/make_gnome_unpaired.py turns it into an unpaired view (day and
night halves shuffled and renamed independently, in a cache folder); each method trains on that view with each
seed for the same CPU minutes (`i2i train METHOD ...`, each in its own process; once the process has used its budget
of CPU time, read from /proc, the bench stops it as Ctrl-C does: the step finishes and the run saves), so that on a
machine shared with other work every method gets the same computation, whatever the load when it ran; a method's
seeds may run side by side (--parallel)), is exported
(`i2i export`), and translates the 14 held-out day images of val/, whose outputs are scored against their real
night images (PSNR, SSIM; see bench/pairs.py). "identity" scores the day inputs themselves, the floor to beat.
The learning rate stays at its initial value (the constant phase of each method's schedule), since no run reaches
its decay within a budget of minutes. The issue's target: CUT at least matches CycleGAN's PSNR and SSIM.

    .venv/bin/python bench/unpaired_quality.py                        # 3 methods x 2 seeds x 5 CPU minutes, 128x128
    .venv/bin/python bench/unpaired_quality.py --threads 1 --parallel # what docs/unpaired-and-distillation.md ran
    .venv/bin/python bench/unpaired_quality.py --weights pt_inception-2015-12-05-6726825d.pth --weights alexnet.pth
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from hardware import cpu_description
from pairs import ROOT, Pairs, compare, eval_folders, held_out_pairs, score_model, write_pngs

sys.path.insert(0, str(ROOT / "datasets"))
from make_gnome_unpaired import DEFAULT_OUT, make_unpaired

from i2i.deploy.export import export_run
from i2i.engine.checkpoint import latest_checkpoint, load_checkpoint

METHODS = ("cyclegan", "cut", "fastcut")


def train_flags(args: argparse.Namespace) -> list[str]:
    load = round(args.size * 286 / 256)  # the recipes' 286 -> 256 margin for random crops
    return ["--netG", args.netG, "--ngf", str(args.ngf), "--ndf", str(args.ndf), "--load-size", str(load),
            "--crop-size", str(args.size), "--n-epochs", "100000", "--n-epochs-decay", "0", "--num-workers", "0",
            "--val-images", "4", "--log-every", "50", "--sample-every", "0", "--save-every-epochs", "0",
            "--no-progress"]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a running process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def train_runs(method: str, seeds: list[int], data: Path, args: argparse.Namespace) -> list[tuple[Path, float, float]]:
    """Train one method's seeds, each in its own process (`i2i train`, as a user would), one after the other or at
    the same time (--parallel). A run is stopped as Ctrl-C stops it (SIGINT: it finishes the step and saves) once its
    process has used the CPU budget; returns each run's folder, wall minutes and CPU minutes (its own usage)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)} if args.threads else dict(os.environ)
    finished, pending = [], []
    for seed in seeds:
        name = f"{method}-s{seed}"
        run = args.out / name
        if latest_checkpoint(run).is_file():
            print(f"  {name}: kept from an earlier session ({run})", flush=True)
            finished.append((seed, (run, float("nan"), float("nan"))))
            continue
        pending.append((seed, run, [sys.executable, "-m", "i2i", "train", method, "--data", str(data), "--out",
                                    str(args.out), "--name", name, "--seed", str(seed), *train_flags(args)]))
    batches = [pending] if args.parallel else [[item] for item in pending]
    for batch in batches:
        running = []
        for seed, run, command in batch:
            run.parent.mkdir(parents=True, exist_ok=True)
            log = open(run.parent / f"{run.name}.log", "w")  # noqa: SIM115  (closed when the process ends)
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            running.append((seed, run, time.monotonic(), log, process))
        done: dict[int, tuple[Path, float, float]] = {}
        signalled: set[int] = set()
        while len(done) < len(running):
            for seed, run, start, log, process in running:
                if seed in done:
                    continue
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)  # reaped here, with its resource usage
                if pid:
                    process.returncode = os.waitstatus_to_exitcode(status)
                    log.close()
                    if process.returncode not in (0, 130):  # 130: stopped by the budget's SIGINT, and saved
                        raise SystemExit(f"error: training {run.name} failed; see {log.name}")
                    done[seed] = (run, (time.monotonic() - start) / 60, (usage.ru_utime + usage.ru_stime) / 60)
                elif process.pid not in signalled and cpu_seconds(process.pid) >= 60 * args.cpu_minutes:
                    process.send_signal(signal.SIGINT)
                    signalled.add(process.pid)
            time.sleep(0.5)
        finished += list(done.items())
    return [result for _, result in sorted(finished, key=lambda item: seeds.index(item[0]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--cpu-minutes", type=float, default=5.0, help="CPU minutes each run's process may use "
                        "(default: 5)")
    parser.add_argument("--size", type=int, default=128, help="training and scoring side (default: 128)")
    parser.add_argument("--netG", default="resnet_9blocks")
    parser.add_argument("--ngf", type=int, default=16)
    parser.add_argument("--ndf", type=int, default=32)
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of each run (default: torch's choice)")
    parser.add_argument("--parallel", action="store_true", help="train a method's seeds at the same time (each with "
                        "--threads threads), so that they share the machine's conditions")
    parser.add_argument("--data", type=Path, default=DEFAULT_OUT, help=f"the unpaired view (made if missing; "
                                                                       f"default: {DEFAULT_OUT})")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-unpaired", help="where the runs go; a "
                        "run already there is kept (delete the folder to retrain)")
    parser.add_argument("--weights", action="append", default=[], metavar="FILE",
                        help="Inception / LPIPS weights: also score with `i2i eval` (FID, KID, LPIPS)")
    args = parser.parse_args()
    data = make_unpaired(args.data)
    print(f"machine: {cpu_description()}, torch {torch.__version__}, OMP_NUM_THREADS {args.threads or 'default'}; "
          f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    side = f"{args.size}x{args.size}"
    print(f"settings: unpaired view {data} (98 + 98 training images), {side} crops of "
          f"{round(args.size * 286 / 256)}, {args.netG} ngf {args.ngf}, basic D ndf {args.ndf}, each method's recipe "
          "otherwise (batch 1, "
          f"Adam 2e-4 constant), {args.cpu_minutes:g} CPU minutes per run"
          f"{' (seeds in parallel)' if args.parallel else ''}; "
          f"scored on the 14 val pairs at {side}")
    print(f"each run: i2i train METHOD --data {data} --seed S {' '.join(train_flags(args))}\n")
    runs = []
    for method in args.methods:
        for seed, (run, wall, cpu) in zip(args.seeds, train_runs(method, args.seeds, data, args), strict=True):
            steps = load_checkpoint(latest_checkpoint(run), with_state=False).progress.step
            runs.append((method, seed, run, steps, wall, cpu))
            print(f"  {method} seed {seed}: {steps} steps in {wall:.1f} min ({cpu:.1f} CPU min)", flush=True)
    pairs = held_out_pairs(args.size)
    baseline = compare(pairs.inputs, pairs.targets)
    print(f"\n{'method':10s} {'seed':>4s} {'steps':>6s} {'wall min':>9s} {'CPU min':>8s} {'PSNR dB':>8s} {'SSIM':>7s}")
    print(f"{'identity':10s} {'-':>4s} {'-':>6s} {'-':>9s} {'-':>8s} {baseline.psnr:8.2f} {baseline.ssim:7.4f}")
    results: dict[str, list[tuple[float, float]]] = {}
    folders = []
    for method, seed, run, steps, wall, cpu in runs:
        (exported,) = export_run(run, out=args.out / "exports" / f"{run.name}.onnx", register=False, say=lambda _: None)
        scores = score_model(exported.path, pairs)
        results.setdefault(method, []).append((scores.psnr, scores.ssim))
        print(f"{method:10s} {seed:4d} {steps:6d} {wall:9.1f} {cpu:8.1f} {scores.psnr:8.2f} {scores.ssim:7.4f}")
        if args.weights:
            folders.append((run.name, write_pngs(args.out / "outputs" / run.name, pairs.names, scores.outputs)))
    print()
    means = {m: (statistics.fmean(p for p, _ in v), statistics.fmean(s for _, s in v)) for m, v in results.items()}
    for method, (p, s) in means.items():
        print(f"{method:10s} mean of {len(results[method])} seed(s): PSNR {p:.2f} dB, SSIM {s:.4f}")
    if "cut" in means and "cyclegan" in means:
        met = means["cut"][0] >= means["cyclegan"][0] and means["cut"][1] >= means["cyclegan"][1]
        print(f"target (CUT at least matches CycleGAN's PSNR and SSIM): {'met' if met else 'NOT met'}")
    if args.weights:
        report_eval(folders, pairs, args)
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def report_eval(folders: list[tuple[str, Path]], pairs: Pairs, args: argparse.Namespace) -> None:
    """Every run's outputs through `i2i eval`'s two-folder mode against the true night images."""
    targets = write_pngs(args.out / "outputs" / "targets", pairs.names, pairs.targets)
    for _, folder in folders:
        weights = " ".join(f"--weights {w}" for w in args.weights)
        print(f"\ni2i eval {folder} {targets} {weights}\n{eval_folders(folder, targets, args.weights)}")


if __name__ == "__main__":
    main()
