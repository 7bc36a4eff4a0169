"""`i2i eval` on super-resolution: a run and its exported model are scored with PSNR-Y / SSIM-Y (scale pixels
cropped at the borders) next to bicubic upscaling, the numbers the run's validation logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_eval_offline import FAST, home, offline  # noqa: F401  (fixtures)
from test_metrics import weights_home  # noqa: F401
from test_sr_training import sr_config

from i2i.cli.main import main
from i2i.engine.logger import read_metrics
from i2i.training import train

SR_SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "kde-photos-sr"


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two steps of a tiny x2 SRResNet; it stops mid-epoch, so it validates (4 whole images) at its last step."""
    out = tmp_path_factory.mktemp("sr")
    return train(sr_config("srresnet", out, method={"scale": 2, "patches_per_image": 1}, run={"max_steps": 2}),
                 progress_bar=False).run_dir


def scores(path: Path) -> dict[str, dict[str, float]]:
    return {s["name"]: s["metrics"] for s in json.loads(path.read_text())["scores"]}


@pytest.mark.usefixtures("home")
def test_an_sr_run_is_scored_as_its_validation_scores_it(sr_run: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    assert main(["eval", str(sr_run), "--max-images", "4", "--json", str(out), *FAST]) == 0, capsys.readouterr().err
    table = capsys.readouterr().out
    assert "bicubic (baseline)" in table and "PSNR_Y" in table, table
    found = scores(out)
    (step, logged), *_ = reversed(read_metrics(sr_run / "metrics.jsonl", "val"))
    assert step == 2 and json.loads(out.read_text())["step"] == 2
    assert found["G"]["PSNR_Y"] == pytest.approx(logged["PSNR_Y"], abs=1e-3)
    assert found["G"]["SSIM_Y"] == pytest.approx(logged["SSIM_Y"], abs=1e-4)
    assert found["bicubic (baseline)"]["PSNR_Y"] == pytest.approx(logged["bicubic_PSNR_Y"], abs=1e-3)
    assert found["bicubic (baseline)"]["SSIM_Y"] == pytest.approx(logged["bicubic_SSIM_Y"], abs=1e-4)
    assert {"FID", "KID", "LPIPS", "PSNR", "SSIM"} <= set(found["G"])  # the other metrics apply too


def test_an_exported_sr_model_is_scored_offline(offline: list[str], sr_run: Path, tmp_path: Path,  # noqa: F811
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """No --direction asked for, no Inception needed with --metrics psnr,ssim, the run's numbers to rounding."""
    from i2i.deploy.export import export_run

    export_run(sr_run, out=tmp_path / "sr.onnx", register=False, say=lambda _: None)
    out = tmp_path / "m.json"
    assert main(["eval", "--model", str(tmp_path / "sr.onnx"), "--data", str(SR_SAMPLE), "--max-images", "4",
                 "--metrics", "psnr,ssim", "--json", str(out), *FAST]) == 0, capsys.readouterr().err
    found = scores(out)
    (_, logged), *_ = reversed(read_metrics(sr_run / "metrics.jsonl", "val"))
    assert found["sr"]["PSNR_Y"] == pytest.approx(logged["PSNR_Y"], abs=1e-2)  # ONNX Runtime, not PyTorch
    assert found["bicubic (baseline)"]["PSNR_Y"] == pytest.approx(logged["bicubic_PSNR_Y"], abs=1e-3)
    assert set(found["sr"]) == {"PSNR", "SSIM", "PSNR_Y", "SSIM_Y"} and offline == []
    assert main(["eval", "--model", str(tmp_path / "sr.onnx"), "--data", str(SR_SAMPLE), "--size", "64",
                 *FAST]) == 2
    assert "--size" in capsys.readouterr().err


def test_a_split_a_div2k_folder_lacks_is_refused(tmp_path: Path) -> None:
    """DIV2K has train and valid only: `--split test` on it is one line, not the valid images scored as "test"."""
    from test_sr_data import div2k

    from i2i.errors import DataError
    from i2i.tasks.sr import _eval_sources

    root = div2k(tmp_path / "d")
    assert [s.hr.name for s in _eval_sources(root, "div2k", 4, "train")[0]] == ["0001.png", "0002.png"]
    with pytest.raises(DataError, match=r"--split test: .* is a DIV2K folder, whose splits are train and valid"):
        _eval_sources(root, "div2k", 4, "test")
