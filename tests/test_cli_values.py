"""Values a demanding user types: NaN and inf, the README's WGAN example, an SR patch of one pixel, an empty model
name, out-of-range output options. Each is one line (exit 2) before anything is written."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest
from conftest import SAMPLE

from i2i.cli.main import main
from i2i.cli.train import build_parser, config_from_args
from i2i.config import SECTIONS, apply_overrides
from i2i.errors import ConfigError
from i2i.images import write_image
from i2i.tasks import TASKS, default_config, task_class

SR_SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "kde-photos-sr"
FASHION = Path(__file__).resolve().parent.parent / "datasets" / "fashion-mnist-sample"


def _float_options() -> list[tuple[str, str, str]]:
    """(task, section, field) of every float option a task uses."""
    found = []
    for task in TASKS.names():
        config, unused = default_config(task), task_class(task).unused_options
        for section in SECTIONS:
            obj = getattr(config, section)
            hints = typing.get_type_hints(type(obj))
            for f in dataclasses.fields(obj):
                kind = [a for a in typing.get_args(hints[f.name]) if a is not type(None)] or [hints[f.name]]
                if kind[0] is float and f"{section}.{f.name}" not in unused:
                    found.append((task, section, f.name))
    return found


FLOAT_OPTIONS = _float_options()


@pytest.mark.parametrize(("task", "section", "name"), FLOAT_OPTIONS, ids=[f"{t}.{n}" for t, _, n in FLOAT_OPTIONS])
def test_nan_and_inf_are_refused_for_every_float_option(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        task: str, section: str, name: str) -> None:
    """From the command line (exit 2, one line, no run folder), a --config file and the Python API."""
    field = next(f for f in dataclasses.fields(getattr(default_config(task), section)) if f.name == name)
    flag = field.metadata.get("flag") or "--" + name.replace("_", "-")
    for bad in ("nan", "inf", "-inf"):
        with pytest.raises(ConfigError, match=f"^{flag} {bad}: must be a finite number"):
            apply_overrides(default_config(task), {section: {name: float(bad)}}, "my.yaml")
    common = ["train", task, "--data", str(SAMPLE), "--out", str(tmp_path / "runs"), "--max-steps", "0",
              "--num-workers", "0"]
    config_file = tmp_path / "c.yaml"
    config_file.write_text(f"{section}:\n  {name}: -.inf\n")  # YAML's own spelling
    for argv in ([*common, f"{flag}=nan"], [*common, "--config", str(config_file)]):
        code = main(argv)
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.startswith(f"error: {flag} ") and "must be a finite number" in err, err
        assert "\n" not in err and not (tmp_path / "runs").exists()


def test_the_readmes_wgan_example_parses(tmp_path: Path) -> None:
    """`i2i train dcgan --gan-mode wgan --clip 0.01` (the README's), while pix2pix still refuses wgan in one line."""
    parser, options = build_parser()
    args, _ = parser.parse_known_args(["dcgan", "--data", str(FASHION), "--gan-mode", "wgan", "--clip", "0.01"])
    from i2i.cli.options import given_changes

    config = config_from_args(args.task, None, given_changes(args, options), options)
    assert config.method.gan_mode == "wgan" and config.method.clip == 0.01
    with pytest.raises(ConfigError, match=r"'wgan' is not one of vanilla, lsgan, hinge, wgangp"):
        args, _ = parser.parse_known_args(["pix2pix", "--data", str(SAMPLE), "--gan-mode", "wgan"])
        config_from_args(args.task, None, given_changes(args, options), options)
    help_text = " ".join(parser.format_help().split())
    assert "wgan," in help_text or "wgan}" in help_text


def test_an_sr_patch_too_small_for_bicubic_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "srresnet", "--data", str(SR_SAMPLE), "--crop-size", "4", "--scale", "4", "--out",
                 str(tmp_path / "runs"), "--num-workers", "0", "--max-steps", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: --crop-size 4") and "\n" not in err, err
    assert not (tmp_path / "runs").exists()


def test_an_empty_export_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import tiny_config

    from i2i.training import train

    run = train(tiny_config("pix2pix", SAMPLE, tmp_path, run={"max_steps": 1}, data={"val_images": 0}),
                progress_bar=False).run_dir
    for name in ("", "a b", "../x"):
        assert main(["export", str(run), "--name", name, "--out", str(tmp_path / "out" / "m.onnx")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: --name '{name}'") and "\n" not in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["translate", "upscale"])
@pytest.mark.parametrize(("flags", "message"), [
    (["--max-pixels", "-5"], "--max-pixels -5: must be at least 1"),
    (["--max-pixels", "0"], "--max-pixels 0: must be at least 1"),
    (["--quality", "101"], "--quality 101: must be between 1 and 100"),
    (["--quality", "0"], "--quality 0: must be between 1 and 100"),
])
def test_output_options_out_of_range(tiny_models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch, command: str, flags: list[str],
                                     message: str) -> None:
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    import numpy as np

    write_image(tmp_path / "x.jpg", np.full((16, 16, 3), 100, np.uint8))
    code = main([command, str(tmp_path / "x.jpg"), "--model", str(tiny_models["unet"]), "-o",
                 str(tmp_path / "y.jpg"), "--no-progress", *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"error: {message}", err
    assert not (tmp_path / "y.jpg").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-2"])
def test_webcam_realtime_is_a_finite_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert main(["webcam", "--model", "m", "--source", str(tmp_path / "clip.mp4"), "--no-window",
                 f"--realtime={value}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --realtime {float(value)}: give frames per second") and "\n" not in err, err
