"""CUT and FastCUT: PatchNCE against a direct computation, the NCE layers of every ResNet depth, a short run that
learns, the unpaired layouts' errors, and the way users meet a trained model (export, translate, eval, report).
Exact resume and rebuilding from the checkpoint are in tests/test_task_contract.py, which runs both tasks."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import SAMPLE, tiny_config
from test_metrics import weights_home  # noqa: F401  (the session fixture: random weights in I2I_HOME)
from torch import nn

from i2i.cli.main import main
from i2i.config import apply_overrides
from i2i.deploy.export import export_run
from i2i.engine.checkpoint import latest_checkpoint, load_checkpoint
from i2i.engine.logger import read_metrics
from i2i.errors import ConfigError
from i2i.evaluation.evaluate import EvalOptions, evaluate_run
from i2i.images import read_image
from i2i.infer import OnnxModel, Translator
from i2i.live import LiveOptions, LiveSession, open_source
from i2i.losses import PatchNCELoss, patch_nce_loss, sample_patches
from i2i.models import create_model
from i2i.models.resnet import ResnetBlock
from i2i.nn import inference_mode
from i2i.report import write_run_report
from i2i.tasks import default_config, task_class
from i2i.training import train


# --- PatchNCE -------------------------------------------------------------------------------------------------
def direct_patch_nce(query: torch.Tensor, key: torch.Tensor, temperature: float) -> torch.Tensor:
    """The loss of each patch written out: the positive is the key at the same position, the negatives are the
    keys at the other positions of the same image, all dot products divided by the temperature."""
    batch, patches, _ = query.shape
    out = torch.empty(batch, patches, dtype=torch.float64)
    for b in range(batch):
        for i in range(patches):
            positive = math.exp(float(query[b, i] @ key[b, i]) / temperature)
            negatives = sum(math.exp(float(query[b, i] @ key[b, j]) / temperature) for j in range(patches) if j != i)
            out[b, i] = -math.log(positive / (positive + negatives))
    return out


@pytest.mark.parametrize("temperature", [0.07, 0.5, 2.0])
def test_patch_nce_matches_a_direct_computation(temperature: float) -> None:
    generator = torch.Generator().manual_seed(0)
    query = nn.functional.normalize(torch.randn(2, 5, 4, generator=generator, dtype=torch.float64), dim=-1)
    key = nn.functional.normalize(torch.randn(2, 5, 4, generator=generator, dtype=torch.float64), dim=-1)
    got = patch_nce_loss(query, key, temperature)
    assert got.shape == (2, 5)
    assert torch.allclose(got.double(), direct_patch_nce(query.float(), key.float(), temperature), rtol=1e-4)
    assert PatchNCELoss(temperature)(query, key).item() == pytest.approx(got.mean().item())
    # a positive that is the query itself beats shuffled keys; negatives come from the same image only
    assert patch_nce_loss(query, query, temperature).mean() < patch_nce_loss(query, query.flip(1), temperature).mean()
    other_image = torch.cat([key[:1], torch.randn_like(key[1:])])  # changing image 1 leaves image 0's losses alone
    assert torch.equal(patch_nce_loss(query, other_image, temperature)[0], got[0])


def test_patch_nce_sends_gradients_to_the_query_only() -> None:
    query = nn.functional.normalize(torch.randn(1, 6, 3), dim=-1).requires_grad_(True)
    key = nn.functional.normalize(torch.randn(1, 6, 3), dim=-1).requires_grad_(True)
    patch_nce_loss(query, key).mean().backward()
    assert query.grad is not None and query.grad.abs().sum() > 0 and key.grad is None


def test_patch_nce_input_checks() -> None:
    with pytest.raises(ValueError, match=r"expected query and key of one shape \(B, S, C\), got \(2, 3\) and"):
        patch_nce_loss(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="at least 2 patches"):
        patch_nce_loss(torch.zeros(1, 1, 3), torch.zeros(1, 1, 3))
    with pytest.raises(ValueError, match="temperature must be above 0"):
        PatchNCELoss(0.0)
    with pytest.raises(ValueError, match=r"expected a feature map \(B, C, H, W\)"):
        sample_patches(torch.zeros(3, 4, 5), 2)


def test_patches_are_drawn_once_and_reused_at_the_same_positions() -> None:
    features = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    samples, positions = sample_patches(features, 7, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (2, 7, 3) and len(set(positions.tolist())) == 7
    for b in range(2):
        for s, p in enumerate(positions.tolist()):
            assert torch.equal(samples[b, s], features[b, :, p // 5, p % 5])
    again, same = sample_patches(features * 2, 0, positions)
    assert torch.equal(same, positions) and torch.equal(again, samples * 2)
    assert sample_patches(features, 100)[0].shape == (2, 20, 3)  # fewer positions than asked: all of them


# --- the generator's NCE layers -------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["resnet", "mobile_resnet"])
@pytest.mark.parametrize("blocks", [1, 2, 3, 5, 6, 9, 12])
def test_every_resnet_depth_has_the_papers_nce_layers(family: str, blocks: int) -> None:
    """The input pixels, both downsampling convolutions, the first and the fifth residual block (the last when
    there are fewer); the heads are sized from them without running a batch."""
    G = create_model(f"{family}_{blocks}blocks", ngf=4)
    layers = G.nce_layers()
    assert isinstance(G.model[layers[0]], nn.ReflectionPad2d)
    assert [(G.model[i].stride, G.model[i].out_channels) for i in layers[1:3]] == [((2, 2), 8), ((2, 2), 16)]
    chosen_blocks = [i - G.FIRST_BLOCK for i in layers[3:]]
    assert chosen_blocks == sorted({0, min(4, blocks - 1)})
    assert all(isinstance(G.model[i], nn.Module) and type(G.model[i]).__name__.endswith("ResnetBlock")
               for i in layers[3:])
    features = G(torch.randn(1, 3, 32, 32), taps=layers, encode_only=True)
    assert [f.shape[1] for f in features] == [G.layer_channels(i) for i in layers] == [3, 8, 16, *[16] * len(
        chosen_blocks)]
    assert [f.shape[-1] for f in features] == [38, 16, 8, *[8] * len(chosen_blocks)]  # padded input, 1/2, 1/4
    config = apply_overrides(default_config("cut"), {"model": {"net_g": f"{family}_{blocks}blocks", "ngf": 4}})
    heads = task_class("cut").network_specs(config)["F"]
    assert heads.name == "patch_mlp" and heads.kwargs == {"channels": [3, 8, 16, *[16] * len(chosen_blocks)],
                                                          "width": 256}


def test_encoding_stops_at_the_deepest_layer_and_matches_the_full_pass() -> None:
    G = create_model("resnet_3blocks", ngf=4).eval()
    x = torch.randn(1, 3, 16, 16)
    image, features = G(x, taps=(10, 7))
    assert torch.equal(image, G(x)) and [f.shape[1] for f in features] == [16, 16]
    assert all(torch.equal(a, b) for a, b in zip(G(x, taps=(10, 7), encode_only=True), features, strict=True))
    assert isinstance(G.model[10], ResnetBlock)


def test_a_generator_without_nce_layers_is_one_line(tmp_path: Path, unpaired_sample: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "cut", "--data", str(unpaired_sample), "--netG", "unet_64", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err == ("error: --netG unet_64 has no NCE layers: CUT compares features of a ResNet generator's encoder "
                   "(resnet_<n>blocks, mobile_resnet_<n>blocks)\n")
    with pytest.raises(ConfigError, match="--no-nce-idt"):
        task_class("cut").network_specs(apply_overrides(default_config("cut"), {"data": {"input_nc": 1}}))


# --- the unpaired layouts' errors -----------------------------------------------------------------------------
def broken_layouts(root: Path, unpaired: Path) -> dict[str, Path]:
    """Data folders CycleGAN refuses, each with one problem."""
    layouts = {"paired": SAMPLE}
    for name in ("no_trainB", "empty_trainA", "corrupt"):
        shutil.copytree(unpaired, root / name)
    shutil.rmtree(root / "no_trainB" / "trainB")
    for path in (root / "empty_trainA" / "trainA").iterdir():
        path.unlink()
    next((root / "corrupt" / "trainA").iterdir()).write_bytes(b"not an image")
    layouts.update({name: root / name for name in ("no_trainB", "empty_trainA", "corrupt")})
    layouts["missing"] = root / "nowhere"
    return layouts


def test_cut_and_fastcut_refuse_the_layouts_cyclegan_refuses(tmp_path: Path, unpaired_sample: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    layouts = broken_layouts(tmp_path / "data", unpaired_sample)
    for name, folder in layouts.items():
        errors = {}
        for task in ("cyclegan", "cut", "fastcut"):
            code = main(["train", task, "--data", str(folder), "--netG", "resnet_2blocks", "--ngf", "4", "--ndf", "4",
                         "--out", str(tmp_path / "runs"), "--name", f"{task}_{name}", "--num-workers", "0"])
            errors[task] = (code, capsys.readouterr().err)
        assert errors["cyclegan"][0] == 2 and errors["cyclegan"][1].startswith("error: "), (name, errors)
        assert errors["cyclegan"][1].count("\n") == 1, errors
        assert errors["cut"] == errors["fastcut"] == errors["cyclegan"], name


# --- training ---------------------------------------------------------------------------------------------------
def colour_means(images: torch.Tensor) -> torch.Tensor:
    """The mean of each colour channel over a set of images (B, 3, H, W)."""
    return images.mean((0, 2, 3))


def domain(folder: Path, size: int) -> torch.Tensor:
    images = [cv2.resize(read_image(p), (size, size), interpolation=cv2.INTER_AREA) for p in sorted(folder.iterdir())]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


@pytest.fixture(scope="module")
def cut_run(tmp_path_factory: pytest.TempPathFactory, unpaired_sample: Path) -> Path:
    """A CUT run of 60 steps on the bundled day/night sample, at 32x32 with small heads (seconds on a CPU)."""
    out = tmp_path_factory.mktemp("cut")
    config = tiny_config("cut", unpaired_sample, out, data={"load_size": 36, "crop_size": 32, "val_images": 7},
                         method={"num_patches": 64, "netf_nc": 64},
                         optim={"n_epochs": 100, "n_epochs_decay": 0}, run={"max_steps": 60, "log_every": 10})
    train(dataclasses.replace(config, run=dataclasses.replace(config.run, name="start", max_steps=0)),
          progress_bar=False)
    return train(config, progress_bar=False).run_dir


def test_a_short_cut_run_lowers_its_nce_loss_and_moves_outputs_toward_the_night(cut_run: Path,
                                                                                 unpaired_sample: Path) -> None:
    """'Toward the target domain', measured: the mean colour of G's outputs on the held-out day images gets closer
    to the mean colour of the night images than it was at initialisation, and than the day inputs are."""
    validation = read_metrics(cut_run / "metrics.jsonl", "val")
    assert validation[-1][1]["NCE"] < 0.75 * validation[0][1]["NCE"], validation
    day, night = domain(unpaired_sample / "testA", 32), domain(unpaired_sample / "trainB", 32)
    target = colour_means(night)

    def distance(run: Path) -> float:
        G = load_checkpoint(latest_checkpoint(run)).build("G")
        with torch.no_grad(), inference_mode(G, "batch"):
            outputs = torch.cat([G(x[None]) for x in day])
        return float((colour_means(outputs) - target).norm())

    before, after, inputs = distance(cut_run.parent / "start"), distance(cut_run), float((colour_means(day) -
                                                                                          target).norm())
    assert after < 0.5 * before and after < 0.5 * inputs, (before, after, inputs)


def test_a_cut_run_exports_translates_and_is_scored_and_reported(cut_run: Path, weights_home: Path,  # noqa: F811
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 unpaired_sample: Path) -> None:
    (exported,) = export_run(cut_run, out=tmp_path / "cut.onnx", register=False, say=lambda _: None)
    assert exported.card["task"] == "cut" and exported.card["direction"] == "AtoB"
    model = OnnxModel(exported.path, device="cpu")
    image = cv2.resize(read_image(next(iter(sorted((unpaired_sample / "testA").iterdir())))), (32, 32))
    G = load_checkpoint(latest_checkpoint(cut_run)).build("G")
    with torch.no_grad(), inference_mode(G, "batch"):
        expected = G(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1)
    expected_pixels = ((expected[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
    assert np.abs(Translator(model, tile=0)(image).astype(float) - expected_pixels).max() <= 1.0  # rounding only

    live = LiveSession([("cut", exported.path)], open_source(str(unpaired_sample / "testA")), "testA",
                       LiveOptions(window=False, size=32)).run()  # i2i webcam, headless, on a folder of images
    assert live.frames == 7 and live.stopped == "end of source"

    monkeypatch.setenv("I2I_HOME", str(weights_home))
    options = EvalOptions(device="cpu", kid_subsets=5, lpips_net="squeeze", max_images=4, cache=False)
    result = evaluate_run(cut_run, options, split="test")
    (score,) = result.scores
    assert (score.name, score.direction, score.paired, score.images) == ("G", "AtoB", False, 4)
    assert set(score.metrics) == {"FID", "KID", "KID_std"}
    report = write_run_report(cut_run).read_text()
    assert "NCE" in report and "FID" in report
