"""The command line: help with defaults, a real end-to-end run, and one-line errors for bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SAMPLE, run_cli

from i2i.cli.main import main
from i2i.cli.options import collect_options
from i2i.images import read_image
from i2i.tasks import TASKS, default_config, task_class

TINY = ["--netG", "unet_64", "--ngf", "8", "--ndf", "8", "--load-size", "72", "--crop-size", "64",
        "--num-workers", "0", "--no-progress", "--val-images", "2"]


def test_train_help_lists_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    options = collect_options({t: default_config(t) for t in TASKS.names()},
                              {t: task_class(t).unused_options for t in TASKS.names()})
    assert len(options) > 45
    for option in options:
        assert option.flag in text
    assert text.count("(default:") + text.count("only; default:") >= len(options)
    assert "cyclegan resnet_9blocks" in text and "pix2pix unet_256" in text
    netg = text[text.index("--netG NAME") : text.index("--netD NAME")]
    assert "classifier" not in netg  # a method that does not use an option is left out of its help
    l1 = text[text.index("--lambda-l1 X") : text.index("--lambda-l1 X") + 300]
    # a flag that means different things to the methods sharing it shows each one's meaning
    assert "distill: weight of the L1 distance to the teacher's output" in l1, l1
    assert "pix2pix: weight of the L1 loss to the target" in l1, l1


def test_top_level_help_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0 and "train" in capsys.readouterr().out
    assert main(["trian"]) == 2 and "did you mean 'train'" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["train", "pix2pix", "--data", str(SAMPLE), "--lamda-l1", "5"],
     "unknown option --lamda-l1 (did you mean '--lambda-l1'?)"),
    (["train", "cyclegan", "--data", str(SAMPLE), "--lambda-l1", "5"], "--lambda-l1 does not apply to cyclegan"),
    (["train", "pix2pix"], "--data is required"),
    (["train", "--data", str(SAMPLE)], "choose a task"),
    (["train", "pix2pix", "--data", "/no/such/folder"], "/no/such/folder: no such data folder"),
    (["train", "cyclegan", "--data", str(SAMPLE)], "no unpaired layout found"),
    (["train", "pix2pix", "--data", str(SAMPLE), "--config", "/no/file.yaml"], "/no/file.yaml: cannot read"),
    (["train", "pix2pix", "--data", str(SAMPLE), "--netG", "unet256"], "did you mean 'unet_256'"),
    (["train", "pix2pix", "--data", str(SAMPLE), "--device", "cuda:7"], "--device cuda:7"),
])
def test_bad_input_gives_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                         message: str) -> None:
    code = main([*args, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err


def test_bad_yaml_values_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  norm: batchnorm\n")
    assert main(["train", "pix2pix", "--data", str(SAMPLE), "--config", str(config)]) == 2
    assert f"{config}.model.norm: 'batchnorm' is not one of batch, instance, none" in capsys.readouterr().err


def test_end_to_end_train_config_and_resume(tmp_path: Path) -> None:
    """A real process: train 3 steps from flags + YAML, then resume to 5; corrupt data gives a clean error."""
    config = tmp_path / "small.yaml"
    config.write_text("optim:\n  batch_size: 2\nrun:\n  log_every: 1\n")
    done = run_cli("train", "pix2pix", "--data", str(SAMPLE), "--config", str(config), *TINY, "--max-steps", "3",
                   "--out", str(tmp_path / "runs"), "--name", "e2e")
    assert done.returncode == 0, done.stderr
    run = tmp_path / "runs" / "e2e"
    assert f"checkpoint  {run}/checkpoints/latest.safetensors" in done.stdout
    assert "batch_size: 2" in (run / "config.yaml").read_text()

    resumed = run_cli("train", "--resume", str(run), "--max-steps", "5", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step 3" in resumed.stdout and "stopped at step 5" in resumed.stdout

    data = tmp_path / "data"
    shutil.copytree(SAMPLE / "val", data / "train")
    (data / "train" / "adwaita_r1c2.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    failed = run_cli("train", "pix2pix", "--data", str(data), *TINY, "--out", str(tmp_path / "runs"))
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines() == [failed.stderr.strip()]
    assert "adwaita_r1c2.jpg" in failed.stderr and "Traceback" not in failed.stderr


def test_the_readme_demo_command_is_valid(tmp_path: Path) -> None:
    """`make demo` runs these exact flags; two steps prove they still parse, fit together and train."""
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ")
    command = next(line for line in recipe.splitlines() if "i2i train" in line).split("i2i train", 1)[1].split()
    assert main(["train", *command, "--max-steps", "2", "--out", str(tmp_path), "--no-progress",
                 "--val-images", "2"]) == 0
    assert (tmp_path / "demo" / "checkpoints" / "latest.safetensors").is_file()
    # then it exports the run and translates an image with it by name
    repo = Path(__file__).parent.parent
    env = {"I2I_HOME": str(tmp_path / "home")}
    for line in recipe.splitlines():
        if "i2i export" in line or "i2i translate" in line:
            args = line.split("/bin/i2i ", 1)[1].replace("runs/demo", str(tmp_path / "demo")).split()
            args = [str(repo / a) if a.startswith("i2i/assets") else a for a in args]
            done = run_cli(*args, cwd=tmp_path, env=env)
            assert done.returncode == 0, done.stderr
    assert (tmp_path / "export" / "demo.int8.onnx").is_file() and (tmp_path / "home" / "models" / "demo").is_dir()
    assert read_image(tmp_path / "demo" / "parity_demo.jpg").shape == read_image(repo / "i2i/assets/parity.jpg").shape
