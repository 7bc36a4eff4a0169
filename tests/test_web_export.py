"""`i2i export RUN --web DIR` and `i2i models web NAME DIR`: what the static folder holds, what it refuses, and
that it never replaces a folder of other files. (The folder running in a browser: tests/test_app_browser.py.)"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE, tiny_config

from i2i.app import ortweb
from i2i.app import web_folder as web
from i2i.cli.main import main
from i2i.errors import ModelError

pytestmark = pytest.mark.skipif(ortweb.installed_version() != ortweb.Pin.read().version,
                                reason="onnxruntime-web is not fetched (make ort-web)")


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str], home: Path) -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("I2I_HOME", str(home))
        code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


def test_a_stored_model_as_a_web_folder(app_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    code, out, _ = run_main(["models", "web", "resnet", str(site)], capsys, app_home)
    assert code == 0 and f"python -m http.server --directory {site} 8000" in out
    files = {str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()}
    assert files == {"index.html", "web.js", "ortrun.js", "view.js", "ui.js", "style.css", "model.json", "README.txt",
                     "model/model.onnx", *(f"ort/{name}" for name in (*ortweb.FILES, "LICENSE"))}
    about = json.loads((site / "model.json").read_text())
    assert about["name"] == "resnet" and about["graph"] == "model/model.onnx" and about["files"] == [about["graph"]]
    assert about["meta"]["size_multiple"] == "4" and about["runtime"] == ortweb.Pin.read().version
    assert (site / "model" / "model.onnx").read_bytes() == (app_home / "models" / "resnet" / "model.onnx").read_bytes()
    html = (site / "index.html").read_text()
    assert "Content-Security-Policy" in html and "default-src 'self'" in html and "http" not in html.split("<body>")[1]
    assert "MIT License" in (site / "ort" / "LICENSE").read_text()
    # an earlier web folder is replaced whole; a folder of other files never is
    (site / "stale.txt").write_text("from an earlier version")
    assert run_main(["models", "web", "unet", str(site)], capsys, app_home)[0] == 0
    assert not (site / "stale.txt").exists() and json.loads((site / "model.json").read_text())["name"] == "unet"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = run_main(["models", "web", "unet", str(mine)], capsys, app_home)
    assert code == 2 and "the folder has other files in it" in err and "\n" not in err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_what_a_web_folder_refuses(app_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["models", "web", "noise", str(tmp_path / "a")], capsys, app_home)
    assert code == 2 and "generates images from noise; a web folder runs image-to-image models" in err
    code, _, err = run_main(["models", "web", "unte", str(tmp_path / "b")], capsys, app_home)
    assert code == 2 and "unknown model 'unte' (did you mean 'unet'?)" in err
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(web, "WEB_LIMIT_BYTES", 1000)
        code, _, err = run_main(["models", "web", "unet", str(tmp_path / "c")], capsys, app_home)
    assert code == 2 and "more than a browser loads in practice" in err and "--int8" in err and "\n" not in err
    assert not any(tmp_path.iterdir())


@dataclass
class Written:
    """What export_run returns for each file, as far as choosing one for the web goes."""

    name: str
    path: Path
    card: dict[str, Any]


def test_export_picks_the_file_that_fits_a_browser(app_home: Path, tmp_path: Path) -> None:
    graph = app_home / "models" / "unet" / "model.onnx"
    fp32 = Written("m", graph, {"bytes": 300 * 10**6, "precision": "fp32"})
    int8 = Written("m-int8", graph, {"bytes": 80 * 10**6, "precision": "int8"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("I2I_HOME", str(app_home))
        web.web_folder_of_export([fp32, int8], tmp_path / "site", say=lambda _: None)
        assert json.loads((tmp_path / "site" / "model.json").read_text())["name"] == "m-int8"
        with pytest.raises(ModelError, match="is written, but 300 MB is more than a browser loads"):
            web.web_folder_of_export([fp32], tmp_path / "other", say=lambda _: None)


def test_export_with_web_from_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from i2i.training import train

    config = tiny_config("pix2pix", SAMPLE, tmp_path, data={"val_images": 2, "max_dataset_size": 8},
                         run={"name": "p2p", "max_steps": 1})
    run = train(config, progress_bar=False).run_dir
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "index.html").write_text("someone's page")
    code, _, err = run_main(["export", str(run), "--out", str(tmp_path / "m.onnx"), "--web", str(taken)], capsys,
                            tmp_path / "home")
    assert code == 2 and "--web" in err and not (tmp_path / "m.onnx").exists()  # refused before exporting
    code, out, _ = run_main(["export", str(run), "--out", str(tmp_path / "m.onnx"), "--web", str(tmp_path / "site")],
                            capsys, tmp_path / "home")
    assert code == 0 and (tmp_path / "m.onnx").is_file() and "in the browser" in out
    about = json.loads((tmp_path / "site" / "model.json").read_text())
    assert about["name"] == "p2p" and about["card"]["task"] == "pix2pix" and about["meta"]["train_size"] == "64"
    assert (tmp_path / "site" / "model" / "m.onnx").read_bytes() == (tmp_path / "m.onnx").read_bytes()
