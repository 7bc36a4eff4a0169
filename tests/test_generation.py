"""Generation from noise: DCGAN (and its objectives), the VAE, the domain classifier, the sample metrics,
export and the sample / interpolate / reconstruct commands, on the bundled Fashion-MNIST sample."""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from conftest import ROOT, run_cli
from torch import nn

from i2i.config import apply_overrides
from i2i.data import find_labelled, read_idx
from i2i.engine.logger import read_metrics
from i2i.engine.samples import HEADER
from i2i.errors import ConfigError, DataError
from i2i.metrics.generation import class_histogram, precision_recall
from i2i.models import create_model
from i2i.tasks import default_config, task_class
from i2i.tasks.vae import kl_to_standard_normal
from i2i.training.trainer import resume, train

FASHION = ROOT / "datasets" / "fashion-mnist-sample"


def gen_config(task: str, out: Path, **sections: dict[str, Any]) -> Any:
    """A small, fast config on the bundled sample: 32 px grey, narrow networks, main-process loading."""
    base: dict[str, Any] = {
        "data": {"root": str(FASHION), "num_workers": 0, "val_images": 300},
        "model": {"ngf": 16, "ndf": 16},
        "optim": {"batch_size": 64, "n_epochs": 20},
        "method": {"image_size": 32, "channels": 1},
        "run": {"out": str(out), "name": task, "log_every": 1000, "sample_every": 0, "seed": 0},
    }
    if task in ("dcgan", "vae"):
        base["method"]["metric_samples"] = 300
    if task == "classifier":
        base["model"] = {}
        base["method"]["width"] = 16
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return apply_overrides(default_config(task), base)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A domain classifier trained on the sample (a few epochs: about 80% test accuracy)."""
    out = tmp_path_factory.mktemp("classifier")
    config = gen_config("classifier", out, optim={"n_epochs": 3, "n_epochs_decay": 2, "batch_size": 64},
                        data={"val_images": 500})
    result = train(config, progress_bar=False)
    assert result.validation[-1]["accuracy"] > 0.6, result.validation[-1]
    return result.run_dir


def test_dcgan_architecture_is_the_papers() -> None:
    G = create_model("dcgan_g", latent_dim=100, channels=3, image_size=64, ngf=8)
    D = create_model("dcgan_d", channels=3, image_size=64, ndf=8)
    g_layers, d_layers = list(G.main), list(D.features)
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.Upsample)) for m in [*G.modules(), *D.modules()])
    deconvs = [i for i, m in enumerate(g_layers) if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == 5  # 1x1 -> 4 -> 8 -> 16 -> 32 -> 64
    for i in deconvs[:-1]:  # batch norm and ReLU after every layer but the output
        assert isinstance(g_layers[i + 1], nn.BatchNorm2d) and isinstance(g_layers[i + 2], nn.ReLU)
    assert isinstance(g_layers[-1], nn.Tanh) and g_layers[-2] is g_layers[deconvs[-1]]
    convs = [i for i, m in enumerate(d_layers) if isinstance(m, nn.Conv2d)]
    assert isinstance(d_layers[convs[0] + 1], nn.LeakyReLU)  # no batch norm on the input layer
    assert all(isinstance(d_layers[i + 1], nn.BatchNorm2d) for i in convs[1:])
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())  # logits: the loss takes them
    assert all(m.stride == (2, 2) for m in D.modules() if isinstance(m, nn.Conv2d) and m is not D.head)
    images = G(torch.randn(3, 100))
    assert images.shape == (3, 3, 64, 64) and float(images.detach().abs().max()) <= 1.0
    assert D(images).shape == (3,)
    for size, layers in ((32, 4), (128, 6)):
        net = create_model("dcgan_g", latent_dim=8, image_size=size, ngf=4)
        assert sum(isinstance(m, nn.ConvTranspose2d) for m in net.modules()) == layers


def test_the_wgangp_critic_has_no_batch_norm_and_the_recipes_apply(tmp_path: Path) -> None:
    config = gen_config("dcgan", tmp_path, method={"gan_mode": "wgangp"})
    task = task_class("dcgan")(config, torch.device("cpu"))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in task.networks["D"].modules())
    assert any(isinstance(m, nn.LayerNorm) for m in task.networks["D"].modules())
    adam = task.optimizers["D"].param_groups[0]
    assert (adam["lr"], adam["betas"]) == (1e-4, (0.0, 0.9)) and task.n_critic == 5
    assert task_class("dcgan").loader_batch_size(config) == 5 * 64  # five real batches per generator step
    with pytest.raises(ConfigError, match="wgangp needs a critic without batch norm"):
        task_class("dcgan").network_specs(apply_overrides(config, {"method": {"critic_norm": "batch"}}))
    wgan = task_class("dcgan")(gen_config("dcgan", tmp_path, method={"gan_mode": "wgan"}), torch.device("cpu"))
    assert isinstance(wgan.optimizers["D"], torch.optim.RMSprop) and wgan.optimizers["D"].defaults["lr"] == 5e-5
    mine = task_class("dcgan")(gen_config("dcgan", tmp_path, method={"gan_mode": "wgan"}, optim={"lr": 1e-3}),
                               torch.device("cpu"))
    assert isinstance(mine.optimizers["D"], torch.optim.Adam) and mine.notes() == []  # the user's --lr wins


def _one_step(config: Any, seed: int = 0) -> tuple[Any, dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    task = task_class("dcgan")(config, torch.device("cpu"))
    task.init_weights()
    size = task_class("dcgan").loader_batch_size(config)
    batch = {"image": torch.rand(size, 1, 32, 32) * 2 - 1, "label": torch.randint(0, 10, (size,))}
    torch.manual_seed(seed + 1)
    return task, task.train_step(batch)


def test_the_wgan_clip_is_enforced_and_the_gradient_penalty_applied(tmp_path: Path) -> None:
    clipped, _ = _one_step(gen_config("dcgan", tmp_path, method={"gan_mode": "wgan", "clip": 0.01, "n_critic": 2}))
    assert max(float(p.detach().abs().max()) for p in clipped.networks["D"].parameters()) <= 0.01
    with_gp = _one_step(gen_config("dcgan", tmp_path, method={"gan_mode": "wgangp", "n_critic": 1}))[1]["D"]
    without = _one_step(gen_config("dcgan", tmp_path, method={"gan_mode": "wgangp", "n_critic": 1,
                                                               "lambda_gp": 0.0}))[1]["D"]
    assert float(with_gp) > float(without)  # the same critic scores plus a positive penalty


def test_the_kl_term_matches_a_monte_carlo_estimate() -> None:
    torch.manual_seed(0)
    mean, log_var = torch.randn(3, 4), torch.randn(3, 4) * 0.5
    std = torch.exp(0.5 * log_var)
    z = mean + std * torch.randn(200_000, 3, 4)
    log_q = torch.distributions.Normal(mean, std).log_prob(z).sum(-1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    estimate = (log_q - log_p).mean(0)  # E_q[log q(z) - log p(z)]
    assert torch.allclose(kl_to_standard_normal(mean, log_var), estimate, rtol=0.02, atol=0.02)


def test_gradients_reach_the_encoder_through_the_reparameterised_sample(tmp_path: Path) -> None:
    config = gen_config("vae", tmp_path, method={"latent_dim": 8, "beta": 0.0})  # the reconstruction term alone
    task = task_class("vae")(config, torch.device("cpu"))
    task.init_weights()
    losses = task.train_step({"image": torch.rand(4, 1, 32, 32), "label": torch.zeros(4, dtype=torch.int64)})
    assert set(losses) == {"neg_ELBO", "recon", "KL"} and float(losses["neg_ELBO"]) > float(losses["recon"])
    encoder_grads = [p.grad for p in task.networks["E"].parameters()]
    assert all(g is not None for g in encoder_grads) and sum(float(g.abs().sum()) for g in encoder_grads) > 0


def test_idx_files_read_as_written(tmp_path: Path) -> None:
    values = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    raw = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 3, 2, 2) + values.tobytes()
    (tmp_path / "a.idx").write_bytes(raw)
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(raw))
    assert np.array_equal(read_idx(tmp_path / "a.idx"), values) and np.array_equal(read_idx(tmp_path / "a.idx.gz"),
                                                                                    values)
    ints = bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 2) + struct.pack(">2i", -5, 70000)
    (tmp_path / "b.idx").write_bytes(ints)
    assert read_idx(tmp_path / "b.idx").tolist() == [-5, 70000]
    (tmp_path / "short.idx").write_bytes(raw[:-3])
    with pytest.raises(DataError, match=r"short\.idx: truncated: 9 bytes of data for a 3x2x2 array"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "jpeg.idx").write_bytes(b"\xff\xd8\xff\xe0 not idx")
    with pytest.raises(DataError, match=r"jpeg\.idx: not an IDX file"):
        read_idx(tmp_path / "jpeg.idx")
    sample = find_labelled(FASHION, "train")
    assert sample is not None and len(sample) == 4000 and sample.images.shape == (4000, 28, 28)
    assert sample.labels[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]  # Fashion-MNIST's first training labels
    assert sample.classes[7] == "Sneaker" and np.bincount(sample.labels).tolist() == [400] * 10


def test_bad_data_gives_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no images"):
        find_labelled(tmp_path / "empty", "train")
    classes = tmp_path / "classes"
    for name in ("cat", "dog"):
        (classes / name).mkdir(parents=True)
    cv2.imwrite(str(classes / "cat" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataError, match=r"classes/dog: no images in this class folder"):
        find_labelled(classes, "train", conditional=True)
    cv2.imwrite(str(classes / "dog" / "b.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(classes / "loose.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataError, match=r"loose\.png: with --conditional every image must be in a class subfolder"):
        find_labelled(classes, "train", conditional=True)
    result = run_cli("train", "dcgan", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "runs"))
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "no images" in result.stderr


def test_precision_recall_and_histogram_on_known_sets() -> None:
    rng = np.random.default_rng(0)
    real = rng.standard_normal((400, 2))
    # samples only where x > 0.5 (a third of the data): all of them realistic, a third of the data covered
    precision, recall = precision_recall(real, real[real[:, 0] > 0.5] + 0.01)
    assert precision > 0.95 and 0.2 < recall < 0.55
    precision, recall = precision_recall(real, real + 50.0)  # samples nowhere near the data
    assert precision == 0.0 and recall == 0.0
    assert class_histogram(np.array([0, 0, 1, 3]), 4).tolist() == [0.5, 0.25, 0.0, 0.25]


def test_a_short_dcgan_run_lowers_the_classifier_fid(tmp_path: Path, classifier: Path) -> None:
    config = gen_config("dcgan", tmp_path, model={"ngf": 32, "ndf": 32}, method={"classifier": str(classifier)},
                        run={"max_steps": 250})
    train(config, progress_bar=False)
    val = read_metrics(tmp_path / "dcgan" / "metrics.jsonl", "val")
    first, last = val[0][1], val[-1][1]
    assert last["sample_fid"] < 0.67 * first["sample_fid"], (first["sample_fid"], last["sample_fid"])
    assert last["sample_classes_covered"] > first["sample_classes_covered"]
    assert math.isclose(sum(v for k, v in last.items() if k.startswith("sample_classes/")), 1.0, abs_tol=1e-6)


def test_conditional_samples_follow_their_label_more_often_than_chance(tmp_path: Path, classifier: Path) -> None:
    config = gen_config("dcgan", tmp_path, model={"ngf": 32, "ndf": 32},
                        method={"classifier": str(classifier), "conditional": True}, run={"max_steps": 250})
    train(config, progress_bar=False)
    val = read_metrics(tmp_path / "dcgan" / "metrics.jsonl", "val")
    assert val[-1][1]["sample_conditional_accuracy"] > 0.25  # chance: 0.1
    grid = cv2.imread(str(max((tmp_path / "dcgan" / "samples").glob("step_*.png"))))
    assert grid.shape[:2] == (HEADER + 10 * 96, 8 * 96)  # one row per class (all ten), 8 noises; 32 px shown x3


@pytest.mark.parametrize(("task", "method"), [("dcgan", {"gan_mode": "wgan", "n_critic": 2}), ("vae", {})])
def test_resume_reproduces_the_uninterrupted_losses(tmp_path: Path, task: str, method: dict[str, Any]) -> None:
    # 4000 images in batches of 64 (x2 for the critic): the runs cross an epoch boundary
    full = gen_config(task, tmp_path / "full", method=method, data={"val_images": 0, "max_dataset_size": 1000},
                      run={"max_steps": 12, "log_every": 1})
    part = apply_overrides(full, {"run": {"out": str(tmp_path / "part"), "max_steps": 5}})
    train(full, progress_bar=False)
    train(part, progress_bar=False)
    resume(tmp_path / "part" / task, {"run": {"max_steps": 12}}, progress_bar=False)
    expected = dict(read_metrics(tmp_path / "full" / task / "metrics.jsonl", "train"))
    got = dict(read_metrics(tmp_path / "part" / task / "metrics.jsonl", "train"))
    assert sorted(got) == list(range(1, 13)) and all(got[s] == expected[s] for s in range(6, 13))


def test_export_sample_interpolate_and_reconstruct(tmp_path: Path) -> None:
    """The commands on a run (torch) and on its export (ONNX Runtime) give the same images."""
    conditional = gen_config("dcgan", tmp_path, method={"conditional": True}, data={"val_images": 0},
                             run={"max_steps": 2, "name": "cond"})
    vae = gen_config("vae", tmp_path, data={"val_images": 0}, run={"max_steps": 2, "name": "vae"})
    for config in (conditional, vae):
        train(config, progress_bar=False)
    home = {"I2I_HOME": str(tmp_path / "home")}
    for args in (["cond"], ["vae"], ["vae", "--which", "E"]):
        result = run_cli("export", *args, cwd=tmp_path, env=home)
        assert result.returncode == 0 and "max |ONNX - PyTorch|" in result.stdout, result.stderr
    for source in (["cond"], ["--model", "cond"]):
        result = run_cli("sample", *source, "-n", "6", "--label", "sneaker", "--seed", "4", "-o", "s.png",
                         "--folder", "each", cwd=tmp_path, env=home)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in (tmp_path / "each").iterdir()) == [f"{i:05d}.png" for i in range(6)]
        (tmp_path / f"s{len(source)}.png").write_bytes((tmp_path / "s.png").read_bytes())
    from_run, from_onnx = (cv2.imread(str(tmp_path / f"s{n}.png"), cv2.IMREAD_UNCHANGED) for n in (1, 2))
    assert from_run.shape == (2 * 32 + 2, 3 * 32 + 4) and np.abs(from_run.astype(int) - from_onnx).max() <= 1
    result = run_cli("interpolate", "--model", "vae", "--rows", "2", "--steps", "5", "-o", "w.png", cwd=tmp_path,
                     env=home)
    assert result.returncode == 0 and "(linear)" in result.stdout
    assert cv2.imread(str(tmp_path / "w.png"), cv2.IMREAD_UNCHANGED).shape == (2 * 32 + 2, 5 * 32 + 8)
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.png"), np.full((40, 60, 3), 200, np.uint8))
    result = run_cli("reconstruct", "--model", "vae", str(photos), "-o", "recon", cwd=tmp_path, env=home)
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(tmp_path / "recon" / "a.png"), cv2.IMREAD_UNCHANGED).shape == (32, 64)
    bad = run_cli("sample", "cond", "--label", "sneakr", cwd=tmp_path, env=home)
    assert bad.returncode == 2 and "did you mean 'Sneaker'" in bad.stderr and bad.stderr.count("\n") == 1
    bad = run_cli("translate", str(ROOT / "i2i" / "assets" / "parity.jpg"), "--model", "cond", cwd=tmp_path, env=home)
    assert bad.returncode == 2 and "generates images from noise" in bad.stderr
