"""`i2i reconstruct`: an encoder and a decoder exported from different checkpoints are refused, a bad file among
the inputs is named and skipped, inputs of the same name keep their own outputs."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_generation import gen_config

from i2i.cli.main import main
from i2i.training import resume, train


@pytest.fixture(scope="module")
def vae(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vae")
    return train(gen_config("vae", out, data={"val_images": 0}, run={"max_steps": 1, "name": "vae"}),
                 progress_bar=False).run_dir


def photos(folder: Path, names: list[str], value: int = 200) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((40, 60, 3), value + 10 * i, np.uint8))
    return folder


def test_a_decoder_and_an_encoder_from_different_checkpoints_are_refused(
        vae: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "vae"
    import shutil

    shutil.copytree(vae, run)
    assert main(["export", str(run)]) == 0 and main(["export", str(run), "--which", "E"]) == 0
    cards = {n: json.loads((tmp_path / "export" / f"{n}.json").read_text()) for n in ("vae", "vae_E")}
    for card in cards.values():  # both cards say what they were exported from
        assert card["step"] == 1 and len(card["checkpoint_sha256"]) == 64 and card["source"].startswith(str(run))
    assert cards["vae"]["checkpoint_sha256"] == cards["vae_E"]["checkpoint_sha256"]
    images = photos(tmp_path / "photos", ["a.png"])
    assert main(["reconstruct", "--model", "vae", str(images), "-o", str(tmp_path / "r1")]) == 0
    capsys.readouterr()
    resume(run, {"run": {"max_steps": 2}}, progress_bar=False)
    assert main(["export", str(run)]) == 0  # the decoder again; the stored vae_E is still step 1's
    capsys.readouterr()
    for argv in (["--model", "vae", str(images)], ["--model", str(tmp_path / "export" / "vae.onnx"), str(images)],
                 [str(run), str(images), "--encoder", "vae_E"]):
        assert main(["reconstruct", *argv, "-o", str(tmp_path / "r2")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
        assert "step 2" in err and "not the same checkpoint" in err and "--which E" in err, err
    assert not (tmp_path / "r2").exists()
    assert main(["export", str(run), "--which", "E"]) == 0  # the pair is whole again
    assert main(["reconstruct", "--model", "vae", str(images), "-o", str(tmp_path / "r3")]) == 0
    assert main(["reconstruct", str(run), str(images), "-o", str(tmp_path / "r4")]) == 0
    assert np.array_equal(cv2.imread(str(tmp_path / "r3" / "a.png")), cv2.imread(str(tmp_path / "r4" / "a.png")))


def test_a_bad_file_is_named_and_the_rest_go_on(vae: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    folder = photos(tmp_path / "photos", ["a.png", "c.png"])
    (folder / "b.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    # a PNG whose header claims 12000x12000 pixels (3.7 GB decoded): refused before it is decoded
    ihdr = b"IHDR" + (12000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    (folder / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr
                                   + zlib.crc32(ihdr).to_bytes(4, "big"))
    code = main(["reconstruct", str(vae), str(folder), "-o", str(tmp_path / "recon")])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors), errors
    assert f"{folder / 'b.jpg'}: not a readable image" in errors[0]
    assert f"{folder / 'd.png'}: 12000x12000 is 144 megapixels, over the limit of 100 (--max-pixels)" in errors[1]
    assert sorted(p.name for p in (tmp_path / "recon").iterdir()) == ["a.png", "c.png"]
    assert "2 of 4" in captured.out


def test_inputs_of_the_same_name_keep_their_own_outputs(vae: Path, tmp_path: Path) -> None:
    one = photos(tmp_path / "one", ["a.png"], value=20)
    two = photos(tmp_path / "two", ["a.png"], value=230)
    assert main(["reconstruct", str(vae), str(one), str(two / "a.png"), "-o", str(tmp_path / "recon")]) == 0
    outputs = sorted((tmp_path / "recon").iterdir())
    assert [p.name for p in outputs] == ["a.png", "a_2.png"]
    inputs = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)[:, :32] for p in outputs]  # the left half: the input
    assert inputs[0].mean() < 50 < 200 < inputs[1].mean()
