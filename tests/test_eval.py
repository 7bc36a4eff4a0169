"""`i2i eval` end to end on random-weight networks: two folders, a run's checkpoint (paired and unpaired), an
exported model on a data split, --eval-every during training, and every promised one-line error."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import SAMPLE, tiny_config
from test_metrics import weights_home  # noqa: F401  (the session fixture: random weights in I2I_HOME)

from i2i.cli.main import main
from i2i.engine.logger import read_metrics
from i2i.errors import ConfigError, DataError
from i2i.evaluation.evaluate import EvalOptions, evaluate_folders, evaluate_model, evaluate_run
from i2i.training.trainer import train

FAST = EvalOptions(device="cpu", kid_subsets=10, lpips_net="squeeze")


@pytest.fixture
def home(weights_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:  # noqa: F811
    """I2I_HOME with the random weights, and a feature cache of this test's own."""
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "weights").symlink_to(weights_home / "weights")
    return tmp_path / "home"


def scenes(folder: Path, count: int, seed: int, ext: str = ".png", noise: float = 0.0) -> list[np.ndarray]:
    """``count`` 48x48 images of coloured rectangles (noisy copies with ``noise``), named 00.. ``ext``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng, images = np.random.default_rng(seed), []
    base = np.random.default_rng(0)
    for i in range(count):
        image = np.full((48, 48, 3), 40, np.uint8)
        x, y = base.integers(0, 30, 2)
        image[y : y + 16, x : x + 16] = base.integers(60, 255, 3)
        if noise:
            image = np.clip(image + rng.normal(0, noise, image.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{i:02d}{ext}"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        images.append(cv2.cvtColor(cv2.imread(str(folder / f"{i:02d}{ext}")), cv2.COLOR_BGR2RGB))
    return images


def test_two_folders_pair_by_name_and_match_direct_psnr(home: Path, tmp_path: Path) -> None:
    real = scenes(tmp_path / "real", 6, 0)
    fake = scenes(tmp_path / "fake", 6, 1, ext=".jpg", noise=20)  # a.jpg pairs with a.png
    result = evaluate_folders(tmp_path / "fake", tmp_path / "real", FAST)
    (score,) = result.scores
    assert score.paired and score.images == score.references == 6 and score.kid_subset_size == 6
    mse = [np.mean((f.astype(float) - r.astype(float)) ** 2) for f, r in zip(fake, real, strict=True)]
    assert score.metrics["PSNR"] == pytest.approx(np.mean([10 * np.log10(255**2 / m) for m in mse]), abs=1e-3)
    assert 0 < score.metrics["SSIM"] < 1 and score.metrics["LPIPS"] > 0 and score.metrics["FID"] > 0
    assert result.settings["weights"]["inception"].endswith("pt_inception-2015-12-05-6726825d.pth")
    cache = home / "cache" / "features"
    assert len(list(cache.glob("*.npy"))) == 1  # the reference set's features, keyed by content
    same_result = evaluate_folders(tmp_path / "real", tmp_path / "real", FAST, paired=True)
    same = same_result.scores[0]
    assert same.metrics["PSNR"] == float("inf") and same.metrics["LPIPS"] == pytest.approx(0, abs=1e-6)
    assert abs(same.metrics["FID"]) < 1e-2 * score.metrics["FID"]
    assert len(list(cache.glob("*.npy"))) == 1  # scored against the same references: computed once
    assert json.loads(json.dumps(same_result.to_dict()))["scores"][0]["metrics"]["PSNR"] == "inf"  # valid JSON
    # unpaired: names that do not match give FID and KID only
    (tmp_path / "real" / "05.png").rename(tmp_path / "real" / "zz.png")
    apart = evaluate_folders(tmp_path / "fake", tmp_path / "real", FAST).scores[0]
    assert not apart.paired and set(apart.metrics) == {"FID", "KID", "KID_std"}
    assert len(list(cache.glob("*.npy"))) == 1  # renaming a file keeps the content key


def test_folder_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenes(tmp_path / "a", 3, 0)
    scenes(tmp_path / "b", 4, 0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no images"):
        evaluate_folders(tmp_path / "empty", tmp_path / "a")
    with pytest.raises(DataError, match=r"a has 3 images and .*b 4: pairing needs"):
        evaluate_folders(tmp_path / "a", tmp_path / "b", paired=True)
    with pytest.raises(DataError, match=r"nope: no such folder"):
        evaluate_folders(tmp_path / "nope", tmp_path / "a")
    cases = [
        ([], "give two folders"),
        ([str(tmp_path / "a")], "not a run folder"),
        ([str(tmp_path / "a"), str(tmp_path / "b"), "c"], "unexpected argument 'c'"),
        (["--model", "x"], "--model needs --data"),
        ([str(tmp_path / "a"), str(tmp_path / "b"), "--kid-subsets", "0"], "--kid-subsets 0: must be at least 1"),
        ([str(tmp_path / "a"), str(tmp_path / "b"), "--split", "val"], "--split does not apply"),
        ([str(tmp_path / "a"), str(tmp_path / "b"), "--kid-subset-sise", "3"], "did you mean '--kid-subset-size'"),
    ]
    for argv, message in cases:
        assert main(["eval", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err, (argv, err)


def test_a_run_is_scored_on_its_validation_split_and_recorded(home: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = tiny_config("pix2pix", SAMPLE, tmp_path, data={"val_images": 4}, run={"max_steps": 2})
    run = train(config, progress_bar=False).run_dir
    code = main(["eval", str(run), "--max-images", "5", "--lpips-net", "squeeze", "--kid-subsets", "5",
                 "--json", str(tmp_path / "m.json"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "(val split)" in out and "G (AtoB)  5/5" in out, out
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["kind"] == "run" and data["step"] == 2 and data["split"] == "val"
    assert set(data["scores"][0]["metrics"]) == {"FID", "KID", "KID_std", "LPIPS", "PSNR", "SSIM"}
    recorded = json.loads((run / "eval.json").read_text())["evaluations"]
    assert [e["scores"][0]["metrics"] for e in recorded] == [data["scores"][0]["metrics"]]
    # the same checkpoint, the same images: the same numbers (and the evaluation is replaced, not added)
    again = evaluate_run(run, dataclasses.replace(FAST, kid_subsets=5, max_images=5), say=lambda _: None)
    assert again.scores[0].metrics == pytest.approx(data["scores"][0]["metrics"])
    assert len(json.loads((run / "eval.json").read_text())["evaluations"]) == 1
    with pytest.raises(DataError, match=r"has no test split \(it has train, val\)"):
        evaluate_run(run, FAST, split="test")  # the bundled sample has train/ and val/ only
    with pytest.raises(ConfigError, match=r"--which G_A: a pix2pix run has G"):
        evaluate_run(run, FAST, which=["G_A"])
    with pytest.raises(DataError, match=r"the run's data folder is not here; give --data"):
        evaluate_run(run, FAST, data=tmp_path / "moved")
    with pytest.raises(DataError, match=r"--kid-subset-size 50: only 5 generated images"):
        evaluate_run(run, dataclasses.replace(FAST, kid_subset_size=50, max_images=5), record=False)


@pytest.mark.slow
def test_cyclegan_scores_both_directions_against_the_other_domain(home: Path, tmp_path: Path,
                                                                  unpaired_sample: Path) -> None:
    config = tiny_config("cyclegan", unpaired_sample, tmp_path, data={"val_images": 3}, run={"max_steps": 1})
    run = train(config, progress_bar=False).run_dir
    result = evaluate_run(run, dataclasses.replace(FAST, max_images=3), split="test")
    assert [(s.name, s.direction, s.paired) for s in result.scores] == [("G_A", "AtoB", False),
                                                                        ("G_B", "BtoA", False)]
    for score in result.scores:  # unpaired: distributions only
        assert set(score.metrics) == {"FID", "KID", "KID_std"} and score.images == score.references == 3


def _pix2pix_model(tmp_path: Path) -> Path:
    from conftest import export_tiny

    return export_tiny(tmp_path / "p2p.onnx", "unet_32", "batch")


def test_an_exported_model_on_a_data_split(home: Path, tmp_path: Path, unpaired_sample: Path) -> None:
    model = _pix2pix_model(tmp_path)
    result = evaluate_model(str(model), SAMPLE, "val", dataclasses.replace(FAST, max_images=4), size=64)
    (score,) = result.scores
    assert result.kind == "model" and result.split == "val" and score.name == "p2p" and score.direction == "AtoB"
    assert score.paired and score.images == 4 and {"LPIPS", "PSNR", "SSIM"} <= set(score.metrics)
    with pytest.raises(DataError, match=r"has no test split \(it has train, val\)"):
        evaluate_model(str(model), SAMPLE, "test", FAST)
    with pytest.raises(DataError, match=r"holds unpaired images .*a pix2pix model is scored against the paired"):
        evaluate_model(str(model), unpaired_sample, options=FAST)  # a model for another kind of data


def test_eval_every_logs_fid_without_changing_the_training(home: Path, tmp_path: Path) -> None:
    common = {"data": {"max_dataset_size": 8, "val_images": 4}, "optim": {"n_epochs": 2, "n_epochs_decay": 0}}
    plain = tiny_config("pix2pix", SAMPLE, tmp_path, run={"name": "plain"}, **common)
    scored = dataclasses.replace(plain, run=dataclasses.replace(plain.run, name="scored", eval_every=2))
    train(plain, progress_bar=False)
    train(scored, progress_bar=False)
    losses = [read_metrics(tmp_path / name / "metrics.jsonl", "train") for name in ("plain", "scored")]
    assert losses[0] == losses[1]  # evaluation draws no random numbers from the training's generators
    (step, values), = read_metrics(tmp_path / "scored" / "metrics.jsonl", "eval")  # epoch 2 only (every 2)
    assert step == 4 and set(values) == {"FID", "KID", "KID_std", "LPIPS", "PSNR", "SSIM"}
    report = (tmp_path / "scored" / "report.html").read_text()
    assert "FID and KID during training" in report and "--eval-every, validation images" in report
    with pytest.raises(ConfigError, match=r"--eval-every -1: must be at least 0"):
        dataclasses.replace(plain.run, eval_every=-1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_gpu_scores_as_the_cpu_does(home: Path, tmp_path: Path) -> None:
    scenes(tmp_path / "real", 6, 0)
    scenes(tmp_path / "fake", 6, 1, noise=20)
    cpu = evaluate_folders(tmp_path / "fake", tmp_path / "real", FAST, say=lambda _: None).scores[0].metrics
    gpu = evaluate_folders(tmp_path / "fake", tmp_path / "real", dataclasses.replace(FAST, device="cuda", cache=False),
                           say=lambda _: None).scores[0].metrics
    assert gpu == pytest.approx(cpu, rel=0.02, abs=1e-3)  # TF32 convolutions on the GPU: close, not identical

