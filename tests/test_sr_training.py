"""SR training on the bundled photos: SRResNet beats bicubic, SRGAN's losses move, exact resume, clear errors."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
from conftest import run_cli

from i2i.config import TrainConfig, apply_overrides
from i2i.engine.checkpoint import load_checkpoint
from i2i.errors import CheckpointError, ConfigError
from i2i.losses import PerceptualLoss, ragan_d_loss, ragan_g_loss
from i2i.tasks import default_config
from i2i.training.trainer import resume, train

SR_SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "kde-photos-sr"


@pytest.fixture(scope="session")
def vgg_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VGG19 file in torchvision's key layout (features.N.weight / bias) with torchvision's random init."""
    torch.manual_seed(0)
    features = torchvision.models.vgg19(weights=None).features
    path = tmp_path_factory.mktemp("vgg") / "vgg19-test.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path


def sr_config(task: str, out: Path, **sections: dict[str, Any]) -> TrainConfig:
    """A task's recipe shrunk to run in seconds: 2 blocks of 16 features, 32-pixel HR patches, 4 per batch."""
    base: dict[str, dict[str, Any]] = {
        "data": {"root": str(SR_SAMPLE), "crop_size": 32, "num_workers": 0, "val_images": 4, "val_crop": 0},
        "model": {"net_g": "srresnet_2blocks", "ngf": 16, "ndf": 4},
        "optim": {"batch_size": 4},
        "run": {"out": str(out), "name": "tiny", "log_every": 1, "sample_every": 0, "seed": 2},
        "method": {"patches_per_image": 1},
    }
    base["data"].pop("val_crop")
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return apply_overrides(default_config(task), base)


def logged(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if r["kind"] == kind]


def test_short_srresnet_training_beats_bicubic(tmp_path: Path) -> None:
    """x4 on the bundled photos, scored on the held-out photos of val/: from bilinear-like to better than bicubic."""
    config = sr_config("srresnet", tmp_path, data={"crop_size": 64, "val_images": 16},
                       model={"ngf": 32, "init_gain": 0.3}, optim={"batch_size": 8, "lr": 1e-3},
                       method={"patches_per_image": 8, "val_crop": 128}, run={"max_steps": 200, "log_every": 50})
    result = train(config, progress_bar=False)
    first, last = result.validation[0], result.validation[-1]
    assert first["PSNR_Y"] < first["bicubic_PSNR_Y"]  # it starts as bilinear upscaling plus a small residual
    assert last["PSNR_Y"] > last["bicubic_PSNR_Y"] + 0.1, (first, last)
    assert last["SSIM_Y"] > first["SSIM_Y"] and last["bicubic_PSNR_Y"] == first["bicubic_PSNR_Y"]
    G = load_checkpoint(result.checkpoint).build("G")
    assert G.scale == 4 and G(torch.rand(1, 3, 10, 12)).shape == (1, 3, 40, 48)
    grid = result.run_dir / "samples" / "step_000200.png"
    assert grid.is_file()


def test_srgan_starts_from_srresnet_and_all_its_losses_move(tmp_path: Path, vgg_file: Path) -> None:
    pre = train(sr_config("srresnet", tmp_path, run={"name": "pre", "max_steps": 2}), progress_bar=False)
    config = sr_config("srgan", tmp_path, run={"name": "gan", "max_steps": 0},
                       method={"init_from": str(pre.run_dir), "vgg_weights": str(vgg_file), "lambda_pixel": 0.01,
                               "perceptual_layers": "conv2_2:0.5,conv3_4"})
    start = train(config, progress_bar=False)
    before = load_checkpoint(start.checkpoint).weights["G"]
    source = load_checkpoint(pre.checkpoint).weights["G"]
    assert all(torch.equal(before[k], source[k]) for k in source)  # G begins as the SRResNet
    result = resume(start.run_dir, {"run": {"max_steps": 6}}, progress_bar=False)
    losses = logged(result.run_dir, "train")
    assert sorted(losses[0]) == sorted(["kind", "step", "epoch", "time", "lr", "steps_per_s", "G_adv", "perceptual",
                                        "pixel", "D"])
    for key in ("G_adv", "perceptual", "pixel", "D"):
        values = [r[key] for r in losses]
        assert all(math.isfinite(v) for v in values) and len(set(values)) == len(values), (key, values)
    after = load_checkpoint(result.checkpoint).weights
    assert any(not torch.equal(after["G"][k], before[k]) for k in before)
    assert set(after) == {"G", "D"}  # the VGG is a fixed loss, not a network of the run


@pytest.mark.parametrize("task", ["srresnet", "esrgan"])
def test_resume_reproduces_the_uninterrupted_losses(tmp_path: Path, vgg_file: Path, task: str) -> None:
    extra = {"model": {"net_g": "rrdbnet_1blocks", "ngf": 8, "net_d": "unet_sn"},
             "method": {"vgg_weights": str(vgg_file), "perceptual_layers": "conv1_2"}} if task == "esrgan" else {}
    full = sr_config(task, tmp_path, run={"name": "full", "max_steps": 17}, **extra)  # 14 steps per epoch
    part = dataclasses.replace(full, run=dataclasses.replace(full.run, name="part", max_steps=6))
    train(full, progress_bar=False)
    train(part, progress_bar=False)
    resume(tmp_path / "part", {"run": {"max_steps": 17}}, progress_bar=False)
    expected = {r["step"]: {k: v for k, v in r.items() if k not in ("time", "steps_per_s")}
                for r in logged(tmp_path / "full", "train")}
    got = {r["step"]: {k: v for k, v in r.items() if k not in ("time", "steps_per_s")}
           for r in logged(tmp_path / "part", "train")}
    assert sorted(got) == list(range(1, 18)) and all(got[s] == expected[s] for s in range(7, 18))


def test_relativistic_average_gan_at_known_values() -> None:
    real, fake = torch.tensor([[2.0, 2.0]]), torch.tensor([[0.0, 0.0]])
    softplus = math.log1p(math.exp(-2.0))  # BCE of logit 2 against 1, and of -2 against 0
    assert float(ragan_d_loss(real, fake)) == pytest.approx(softplus)
    assert float(ragan_g_loss(real, fake)) == pytest.approx(math.log1p(math.exp(2.0)))


def test_perceptual_features_are_torchvisions_before_activation(vgg_file: Path) -> None:
    loss = PerceptualLoss({"conv3_4": 1.0, "conv1_2": 0.5}, vgg_file, "l1")
    features = torchvision.models.vgg19(weights=None).features
    features.load_state_dict({k.removeprefix("features."): v for k, v in torch.load(vgg_file).items()})
    x = torch.rand(2, 3, 24, 24)
    normalised = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(loss.features(x)["conv3_4"], features[:17](normalised), atol=1e-5)  # index 16: conv3_4
    assert len(loss.vgg) == 17 and not any(p.requires_grad for p in loss.parameters())
    assert float(loss(x, x)) == 0.0 and float(loss(x, x.flip(-1))) > 0
    assert float(loss(torch.rand(1, 1, 24, 24), torch.rand(1, 1, 24, 24))) > 0  # grey images: three equal channels


def test_the_perceptual_loss_never_runs_on_random_weights(tmp_path: Path) -> None:
    """No file and nothing to download from: a one-line error before any data is read, and no run folder."""
    env = {"I2I_HOME": str(tmp_path / "home"), "I2I_MODEL_MIRROR": "http://127.0.0.1:9"}  # nothing listens on 9
    args = ["train", "srgan", "--data", str(SR_SAMPLE), "--out", str(tmp_path / "runs"), "--crop-size", "32",
            "--netG", "srresnet_1blocks", "--ngf", "4", "--ndf", "4", "--max-steps", "1", "--num-workers", "0"]
    result = run_cli(*args, env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ") and "127.0.0.1:9/weights/vgg19-dcbb9e9d.pth" in result.stderr
    assert not (tmp_path / "runs").exists() and not list((tmp_path / "home" / "weights").glob("*.pth"))
    torch.save({"features.0.weight": torch.zeros(3), "features.0.bias": torch.zeros(64)}, tmp_path / "not-vgg.pth")
    with pytest.raises(CheckpointError, match=r"not-vgg\.pth: '.*' has shape \(3,\), VGG19 needs \(64, 3, 3, 3\)"):
        PerceptualLoss({"conv1_1": 1.0}, tmp_path / "not-vgg.pth")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not torchvision's VGG19 layout"):
        PerceptualLoss({"conv1_1": 1.0}, tmp_path / "other.pth")


@pytest.mark.parametrize(("flags", "message"), [
    (["--netG", "unet_64"], "--netG unet_64 does not upscale by --scale 4: choose srresnet"),
    (["--crop-size", "30"], "--crop-size 30 (the HR patch) is not a multiple of --scale 4"),
    (["--netG", "rrdbnet_1blocks", "--scale", "2", "--crop-size", "34"], "--crop-size 34: must be a multiple of 4"),
    (["--netG", "rrdbnet_1blocks", "--scale", "3", "--crop-size", "48"], "rrdbnet upscales by 1, 2, 4, 8, not 3"),
    (["--preprocess", "resize_and_crop"], "--preprocess resize_and_crop: super-resolution crops HR patches"),
    (["--layout", "div2k", "--degradation", "real"], "--degradation real makes LR images from HR ones, but --layout"),
    (["--output-nc", "1"], "--output-nc 1: super-resolution keeps the channels of its input"),
    (["--init-from", "nowhere"], "--init-from nowhere: no such run folder or checkpoint file"),
    (["--lambda-pixel", "0"], "--lambda-pixel 0: srresnet learns from the pixel loss alone"),
    (["--layout", "div2k"], "no div2k layout found: expected HR/ and LR_bicubic/X4/"),
])
def test_bad_options_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                                         message: str) -> None:
    from i2i.cli.main import main

    args = ["train", "srresnet", "--data", str(SR_SAMPLE), "--out", str(tmp_path / "runs"), "--crop-size", "32",
            "--netG", "srresnet_1blocks", "--ngf", "4", "--max-steps", "1", "--num-workers", "0", *flags]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_init_from_needs_the_same_generator(tmp_path: Path) -> None:
    pre = train(sr_config("srresnet", tmp_path, run={"name": "pre", "max_steps": 1}), progress_bar=False)
    other = sr_config("srresnet", tmp_path, model={"ngf": 8}, method={"init_from": str(pre.checkpoint)},
                      run={"name": "other", "max_steps": 1})
    with pytest.raises(CheckpointError, match=r"its G is srresnet_2blocks \{.*'ngf': 16.*this run's is srresnet_2"):
        train(other, progress_bar=False)
    with pytest.raises(ConfigError, match="no VGG19 layer 'conv6_1'"):
        train(sr_config("srgan", tmp_path, method={"perceptual_layers": "conv6_1"}), progress_bar=False)
