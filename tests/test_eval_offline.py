"""`i2i eval` offline and honest: --metrics chooses what is scored (PSNR and SSIM need no weights), a missing
Inception says how to skip FID, decompression bombs and impossible --size values are refused, a read-only run
folder is still scored, an unwritable --json is refused before any scoring, and the FID text says where it
differs from stock pytorch-fid."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE, export_tiny, tiny_config
from test_eval import home, scenes  # noqa: F401  (home: I2I_HOME with the random weights)
from test_metrics import weights_home  # noqa: F401  (the session fixture: random weights in I2I_HOME)

from i2i.cli.main import main
from i2i.errors import DownloadError
from i2i.fileio import write_error

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--kid-subsets", "5", "--lpips-net", "squeeze", "--no-progress", "--device", "cpu"]


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """An empty I2I_HOME on a machine without network: every download fails at once (and is recorded)."""
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    tried: list[str] = []

    def no_network(url: str, *args: object, **kwargs: object) -> str:
        tried.append(url)
        raise DownloadError(f"{url}: download failed after 3 attempts ([Errno -2] Name or service not known)")

    monkeypatch.setattr("i2i.hub.weights.download", no_network)
    return tried


def test_psnr_and_ssim_need_no_weights(offline: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    real = scenes(tmp_path / "real", 4, 0)
    fake = scenes(tmp_path / "fake", 4, 1, noise=20)
    out = tmp_path / "m.json"
    assert main(["eval", str(tmp_path / "fake"), str(tmp_path / "real"), "--metrics", "psnr,ssim", "--json",
                 str(out), *FAST]) == 0, capsys.readouterr().err
    (score,) = json.loads(out.read_text())["scores"]
    assert set(score["metrics"]) == {"PSNR", "SSIM"} and offline == []  # nothing was even tried
    mse = [np.mean((f.astype(float) - r.astype(float)) ** 2) for f, r in zip(fake, real, strict=True)]
    assert score["metrics"]["PSNR"] == pytest.approx(np.mean([10 * np.log10(255**2 / m) for m in mse]), abs=1e-3)


def test_the_default_says_how_to_skip_fid_when_inception_is_missing(offline: list[str], tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    scenes(tmp_path / "real", 4, 0)
    scenes(tmp_path / "fake", 4, 1, noise=20)
    assert main(["eval", str(tmp_path / "fake"), str(tmp_path / "real"), *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "download failed" in err[-1], err
    assert "--metrics psnr,ssim" in err[-1] and "FID" in err[-1], err


@pytest.mark.usefixtures("home")
def test_metrics_choose_what_is_scored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenes(tmp_path / "real", 4, 0)
    scenes(tmp_path / "fake", 4, 1, noise=20)
    folders = [str(tmp_path / "fake"), str(tmp_path / "real")]
    for chosen, expected in (("fid", {"FID"}), ("kid,lpips", {"KID", "KID_std", "LPIPS"}),
                             ("SSIM, psnr", {"PSNR", "SSIM"})):
        out = tmp_path / f"{chosen}.json"
        assert main(["eval", *folders, "--metrics", chosen, "--json", str(out), *FAST]) == 0
        assert set(json.loads(out.read_text())["scores"][0]["metrics"]) == expected, chosen
    capsys.readouterr()
    (tmp_path / "real" / "00.png").rename(tmp_path / "real" / "zz.png")  # no longer paired by name
    for chosen, message in (("psnr,fidd", "--metrics: unknown metric 'fidd' (did you mean 'fid'?)"),
                            ("", "--metrics: choose at least one of fid, kid, lpips, psnr, ssim"),
                            ("psnr", "--metrics psnr: compares each image with its partner of the same name")):
        assert main(["eval", *folders, "--metrics", chosen, *FAST]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err, err


def _bomb(path: Path) -> None:
    """A PNG whose header claims 12000x12000 pixels (3.7 GB decoded): refused before anything is decoded."""
    ihdr = b"IHDR" + (12000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr + zlib.crc32(ihdr).to_bytes(4, "big"))


@pytest.mark.usefixtures("home")
def test_eval_refuses_decompression_bombs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenes(tmp_path / "real", 3, 0)
    scenes(tmp_path / "fake", 3, 1, noise=20)
    _bomb(tmp_path / "fake" / "01.png")
    assert main(["eval", str(tmp_path / "fake"), str(tmp_path / "real"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'fake' / '01.png'}: 12000x12000 is 144 megapixels, over the limit of 100 " \
                  "(--max-pixels)", err
    assert main(["eval", str(tmp_path / "fake"), str(tmp_path / "real"), "--max-pixels", "0", *FAST]) == 2
    assert "--max-pixels 0: must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize(("size", "message"), [
    ("7", "--size 7: LPIPS (squeeze) needs images of at least 17 pixels"),
    ("100000", "--size 100000: 100000x100000 is 10000 megapixels, over the limit of 100 (--max-pixels)"),
    ("0", "--size 0: give a positive number of pixels"),
])
@pytest.mark.usefixtures("home")
def test_impossible_sizes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], size: str,
                                       message: str) -> None:
    model = export_tiny(tmp_path / "p2p.onnx", "unet_32", "batch")
    assert main(["eval", "--model", str(model), "--data", str(SAMPLE), "--size", size, "--max-images", "2",
                 *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err, err


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from i2i.training import train

    out = tmp_path_factory.mktemp("runs")
    return train(tiny_config("pix2pix", SAMPLE, out, data={"val_images": 2}, run={"max_steps": 1}),
                 progress_bar=False).run_dir


@pytest.mark.usefixtures("home")
def test_a_read_only_run_folder_is_still_scored(run: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    """RUN/eval.json cannot be written (a read-only disk): the scores are printed and written to --json, and a
    note says they were not recorded for the report."""
    import i2i.evaluation.evaluate as evaluate

    real_write = evaluate.atomic_write_text

    def read_only_run(path: str | Path, text: str) -> None:
        if Path(path).parent == run:
            raise write_error(path, OSError(30, "Read-only file system"))
        real_write(path, text)

    monkeypatch.setattr(evaluate, "atomic_write_text", read_only_run)
    out = tmp_path / "m.json"
    assert main(["eval", str(run), "--max-images", "2", "--json", str(out), *FAST]) == 0
    captured = capsys.readouterr()
    assert "G (AtoB)  2/2" in captured.out and json.loads(out.read_text())["kind"] == "run"
    assert f"{run / 'eval.json'}: cannot write (Read-only file system)" in captured.err
    assert "not recorded" in captured.err and "Traceback" not in captured.err


@pytest.mark.usefixtures("home")
def test_an_unwritable_json_is_refused_before_scoring(run: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import i2i.evaluation.evaluate as evaluate

    def no_scoring(*args: object, **kwargs: object) -> None:
        raise AssertionError("scoring started")

    monkeypatch.setattr(evaluate.Scorer, "__init__", no_scoring)
    (tmp_path / "file.txt").write_text("a file, not a folder")
    target = tmp_path / "file.txt" / "m.json"
    assert main(["eval", str(run), "--json", str(target), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --json {target}: cannot write") and "\n" not in err, err


def test_no_claim_that_stock_pytorch_fid_computes_the_same_fid() -> None:
    """pytorch-fid resizes with torch's bilinear filter and scales inputs as 2x-1: the evaluation manual,
    FID_VARIANT and the help say so rather than that its numbers are i2i's."""
    from i2i.cli.eval import EXAMPLES
    from i2i.evaluation.evaluate import FID_VARIANT

    manual = (ROOT / "docs" / "evaluation.md").read_text()
    which = manual[manual.index("**Which FID.**") :].split("\n\n", 1)[0]
    for text in (which, FID_VARIANT, EXAMPLES):
        flat = " ".join(text.split())
        assert not re.search(r"as pytorch-fid|pytorch-fid and torch-fidelity compute|of pytorch-fid /", flat), flat
        assert "torch-fidelity" in flat
        assert "pytorch-fid" not in flat or ("2x-1" in flat and "bilinear" in flat), flat

