"""Every .pth file a user gives (models import, eval --weights, --vgg-weights) is read as tensors only, and a
file that holds code, text or junk is i2i's one-line message naming it, never PyTorch's advice or a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import SAMPLE

from i2i.cli.main import main

SR_SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "kde-photos-sr"


class Exploit:
    """A pickle that would create a file when loaded."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.target,))


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    torch.save({"features.0.weight": Exploit(tmp_path / "pwned")}, tmp_path / "evil.pth")
    (tmp_path / "text.pth").write_text("hello world\n")  # a text file: torch's unpickler fails with a KeyError
    (tmp_path / "junk.pth").write_bytes(b"PK\x03\x04 not really a zip")
    return {"evil": tmp_path / "evil.pth", "text": tmp_path / "text.pth", "junk": tmp_path / "junk.pth"}


def _commands(path: Path, tmp_path: Path) -> list[list[str]]:
    return [
        ["models", "import", str(path), "--arch", "unet_256", "--norm", "batch", "--name", "x"],
        ["eval", str(SAMPLE / "val"), str(SAMPLE / "val"), "--weights", str(path)],
        ["train", "srgan", "--data", str(SR_SAMPLE), "--vgg-weights", str(path), "--out", str(tmp_path / "runs"),
         "--crop-size", "32", "--netG", "srresnet_1blocks", "--ngf", "4", "--num-workers", "0", "--max-steps", "1"],
    ]


@pytest.mark.parametrize("kind", ["evil", "text", "junk"])
@pytest.mark.parametrize("command", ["models import", "eval --weights", "train --vgg-weights"])
def test_every_pth_option_gives_one_line(bad_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], kind: str, command: str) -> None:
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    path = bad_files[kind]
    argv = _commands(path, tmp_path)[["models import", "eval --weights", "train --vgg-weights"].index(command)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}: ") and "\n" not in err, err
    assert "weights_only" not in err and "Traceback" not in err and "In PyTorch" not in err, err
    if kind == "evil":
        assert "holds code or objects other than tensors" in err and "will not load this one" in err, err
    else:
        assert "not a loadable PyTorch" in err, err
    assert not (tmp_path / "pwned").exists()
