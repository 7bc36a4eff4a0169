#!/usr/bin/env python3
"""Generation from noise on equal terms: seven models, the same data and the same minutes each, one table.

Trains a domain classifier on Fashion-MNIST (or takes `--classifier RUN`), then DCGAN (non-saturating), DCGAN with
LSGAN, WGAN (weight clipping), WGAN-GP, conditional DCGAN (a label channel in D, or a projection discriminator)
and the VAE, each for `--minutes` of training at 32x32, and scores every model against the test images in the
classifier's feature space: FID and KID (KID's subsets of 1000), precision and recall (k=3), classes covered (a
class counts with at least 2% of the samples) and, for the conditional model, how often a sample is classified as
the class it was asked for; for the VAE also its reconstructions of the test images. Each model is also scored
before training (same seed), so the table shows how far the minutes took it.

    python bench/generation.py                          # Fashion-MNIST from ../shared/data/get-debian-data.sh
    python bench/generation.py --minutes 2 --data datasets/fashion-mnist-sample   # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hardware import cpu_description

from i2i.config import apply_overrides
from i2i.engine.checkpoint import latest_checkpoint, load_checkpoint
from i2i.metrics.generation import SampleMetrics, image_batches, sample_metrics, score
from i2i.tasks import config_from_dict, default_config, task_class
from i2i.tasks.labelled import DomainClassifier
from i2i.training.trainer import train

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "i2i-data" / "fashion-mnist"
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "DCGAN": ("dcgan", {}),
    "DCGAN, LSGAN": ("dcgan", {"gan_mode": "lsgan"}),
    "WGAN (clipping)": ("dcgan", {"gan_mode": "wgan"}),
    "WGAN-GP": ("dcgan", {"gan_mode": "wgangp"}),
    "conditional DCGAN": ("dcgan", {"conditional": True}),
    "cDCGAN, projection": ("dcgan", {"conditional": True, "projection": True}),
    "VAE": ("vae", {"latent_dim": 32}),
}


def config_for(task: str, data: Path, out: Path, name: str, method: dict[str, Any], **run: Any) -> Any:
    width = {"ngf": 64, "ndf": 64} if task != "classifier" else {}
    return apply_overrides(default_config(task), {
        "data": {"root": str(data), "num_workers": 2, "val_images": 0},
        "model": width,
        "optim": {"n_epochs": 1000},
        "method": {"image_size": 32, "channels": 1, **method},
        "run": {"out": str(out), "name": name, "log_every": 200, "sample_every": 0, "save_every_epochs": 0,
                "seed": 0, **run},
    })


def quiet(function: Any, *args: Any, **kwargs: Any) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args, **kwargs)


def scores(task_name: str, config: Any, networks: dict[str, torch.nn.Module], judge: DomainClassifier,
           test: Any, real: np.ndarray, count: int) -> tuple[SampleMetrics, SampleMetrics | None]:
    """Samples (and, for the VAE, reconstructions) of the given networks against the test images (``real``:
    their features)."""
    task = task_class(task_name)(config, torch.device("cpu"))
    for name, net in networks.items():
        task.networks[name].load_state_dict(net.state_dict())
    noise = torch.Generator().manual_seed(1)
    conditional = bool(getattr(task, "num_classes", 0))

    def generate(n: int, labels: torch.Tensor | None) -> torch.Tensor:
        z = torch.randn(n, config.method.latent_dim, generator=noise)
        return task.decode(z) * 2 - 1 if task_name == "vae" else task.generate(z, labels)

    samples = sample_metrics(judge, real, generate, count, conditional=conditional)
    if task_name != "vae":
        return samples, None
    recons = (task.decode(task.encode((b + 1) / 2)[0]) * 2 - 1 for b in image_batches(test))
    return samples, score(judge, real, recons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(CACHE if CACHE.is_dir() else ROOT / "datasets" / "fashion-mnist-sample"))
    parser.add_argument("--minutes", type=float, default=10.0, help="training minutes per model")
    parser.add_argument("--classifier", help="a classifier run to score with (default: train one)")
    parser.add_argument("--classifier-epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=5000, help="samples scored per model")
    parser.add_argument("--only", nargs="+", choices=list(MODELS), help="run only these models")
    parser.add_argument("--seed", type=int, default=0, help="the training seed of every model")
    parser.add_argument("--out", help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        print(f"machine: {cpu_description()}, torch {torch.__version__} ({torch.get_num_threads()} threads); data "
              f"{data}; 32x32 grey; {args.minutes:g} training minutes per model; seed {args.seed}; {args.samples} "
              "samples scored\n")
        if args.classifier:
            judge_run = Path(args.classifier)
        else:
            start = time.perf_counter()
            config = config_for("classifier", data, out, "classifier", {}, max_steps=None)
            config = apply_overrides(config, {"optim": {"n_epochs": args.classifier_epochs, "n_epochs_decay": 0},
                                              "data": {"val_images": 10000}})
            result = quiet(train, config, progress_bar=False)
            judge_run = result.run_dir
            print(f"domain classifier: {result.validation[-1]['accuracy']:.1%} test accuracy after "
                  f"{args.classifier_epochs} epochs ({time.perf_counter() - start:.0f} s)")
        judge = DomainClassifier(judge_run)
        test_config = config_for("classifier", data, out, "test", {})
        test = task_class("classifier").load_data(apply_overrides(test_config, {"data": {"val_images": 10000}}), 1,
                                                  None, None).val
        real, _ = judge.describe(image_batches(test))
        print(f"{len(test)} test images\n")
        header = (f"{'model':<18} {'steps':>6} {'img/s':>7} {'FID 0':>7} {'FID':>7} {'KID':>7} {'prec.':>6} "
                  f"{'recall':>6} {'classes':>7} {'cond. acc.':>10}")
        print(header)
        for label, (task_name, method) in MODELS.items():
            if args.only and label not in args.only:
                continue
            name = label.lower().replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
            config = config_for(task_name, data, out, name, method, max_minutes=args.minutes, seed=args.seed)
            torch.manual_seed(config.run.seed)
            initial = task_class(task_name)(config, torch.device("cpu"))
            initial.init_weights()
            before, _ = scores(task_name, config, dict(initial.networks.items()), judge, test, real, args.samples)
            start = time.perf_counter()
            quiet(train, config, progress_bar=False)
            seconds = time.perf_counter() - start  # set-up and the final save included
            checkpoint = load_checkpoint(latest_checkpoint(out / name), with_state=False)
            trained = {k: checkpoint.build(k) for k in checkpoint.specs}
            after, recon = scores(task_name, config_from_dict(checkpoint.config), trained, judge, test, real,
                                   args.samples)
            rate = checkpoint.progress.step * task_class(task_name).loader_batch_size(config) / seconds
            accuracy = f"{after.conditional_accuracy:.1%}" if after.conditional_accuracy is not None else "-"
            print(f"{label:<18} {checkpoint.progress.step:>6} {rate:>7.0f} {before.fid:>7.1f} {after.fid:>7.1f} "
                  f"{after.kid:>7.3f} {after.precision:>6.2f} {after.recall:>6.2f} {after.classes_covered:>4}/10 "
                  f"{accuracy:>10}", flush=True)
            if recon is not None:
                print(f"{'  reconstructions':<18} {'':>6} {'':>7} {'':>7} {recon.fid:>7.1f} {recon.kid:>7.3f} "
                      f"{recon.precision:>6.2f} {recon.recall:>6.2f} {recon.classes_covered:>4}/10 {'-':>10}",
                      flush=True)


if __name__ == "__main__":
    main()
