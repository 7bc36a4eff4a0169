"""Distillation: a short run brings a compact student closer to its teacher, the student exports like any generator
(with its teacher on the card), paired and unpaired teachers, a changed teacher refused on resume, and the CLI.
Exact resume and rebuilding from the checkpoint are in tests/test_task_contract.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import SAMPLE, tiny_teacher
from test_metrics import weights_home  # noqa: F401  (the session fixture: random weights in I2I_HOME)
from test_sr_training import vgg_file  # noqa: F401  (the session fixture: a random VGG19 in torchvision's layout)

from i2i.cli.main import main
from i2i.deploy.export import export_run
from i2i.engine.checkpoint import latest_checkpoint, load_checkpoint
from i2i.engine.logger import read_metrics
from i2i.errors import CheckpointError, ConfigError
from i2i.evaluation.evaluate import EvalOptions, evaluate_model
from i2i.images import read_image
from i2i.infer import OnnxModel
from i2i.nn import inference_mode
from i2i.tasks import task_class
from i2i.tasks.distill import distill_config
from i2i.training import resume, train

STUDENT = {"model": {"net_g": "mobile_resnet_2blocks", "ngf": 8, "ndf": 8},
           "data": {"num_workers": 0, "val_images": 4},
           "run": {"log_every": 5, "sample_every": 0, "save_every_epochs": 0, "seed": 2}}


def student_config(teacher: Path, out: Path, name: str, steps: int, **sections: dict) -> object:
    changes = {k: dict(v) for k, v in STUDENT.items()}
    changes["run"].update({"out": str(out), "name": name, "max_steps": steps})
    for section, values in sections.items():
        changes.setdefault(section, {}).update(values)
    return distill_config(str(teacher), changes)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory, unpaired_sample: Path) -> Path:
    """A tiny CycleGAN trained for 20 steps: a teacher whose outputs are far from what a new student draws."""
    return tiny_teacher(tmp_path_factory.mktemp("teacher"), unpaired_sample, steps=20)


def day_images(folder: Path) -> torch.Tensor:
    images = [cv2.resize(read_image(p), (32, 32), interpolation=cv2.INTER_AREA) for p in sorted(folder.iterdir())]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


def gap_to_teacher(student_run: Path, teacher_run: Path, images: torch.Tensor) -> float:
    """Mean |student - teacher| over images, each network at test time (the student on running statistics)."""
    student = load_checkpoint(latest_checkpoint(student_run)).build("G")
    mentor = load_checkpoint(latest_checkpoint(teacher_run)).build("G_A")
    with torch.no_grad(), inference_mode(student, "running"), inference_mode(mentor, "batch"):
        return float(torch.cat([(student(x[None]) - mentor(x[None])).abs() for x in images]).mean())


def test_a_short_distillation_brings_the_student_toward_its_teacher(teacher: Path, tmp_path: Path,
                                                                     unpaired_sample: Path,
                                                                     vgg_file: Path) -> None:  # noqa: F811
    config = student_config(teacher, tmp_path, "student", 40, method={"vgg_weights": str(vgg_file)})
    assert config.data.root == str(unpaired_sample) and config.data.crop_size == 32  # the teacher's data
    assert task_class("distill").network_specs(config)["A"].kwargs == {"student": [32] * 4, "teacher": [32] * 4}
    train(dataclasses.replace(config, run=dataclasses.replace(config.run, name="start", max_steps=0)),
          progress_bar=False)
    run = train(config, progress_bar=False).run_dir
    losses = read_metrics(run / "metrics.jsonl", "train")
    assert {"G_GAN", "L1", "distill", "VGG", "D"} <= set(losses[-1][1])
    images = day_images(unpaired_sample / "testA")
    before, after = gap_to_teacher(tmp_path / "start", teacher, images), gap_to_teacher(run, teacher, images)
    assert after < 0.8 * before, (before, after)
    validation = read_metrics(run / "metrics.jsonl", "val")  # the run's own measure agrees
    assert validation[-1][1]["L1_teacher"] < validation[0][1]["L1_teacher"]

    # the student exports with its batch norms on running statistics (folded by ONNX Runtime), checked, carded
    (exported,) = export_run(run, out=tmp_path / "student.onnx", batch_norm_stats="running", register=False,
                             say=lambda _: None)
    card = json.loads(exported.path.with_suffix(".json").read_text())
    assert card["teacher"] == {"source": str(latest_checkpoint(teacher).resolve()), "task": "cyclegan",
                               "generator": "G_A", "architecture": "resnet_2blocks", "ngf": 8, "step": 20}
    assert card["architecture"] == "mobile_resnet_2blocks" and card["batch_norm_stats"] == "running"
    student = load_checkpoint(latest_checkpoint(run)).build("G")
    with torch.no_grad(), inference_mode(student, "running"):
        expected = student(images[:3]).numpy()
    got = OnnxModel(exported.path, device="cpu")(images[:3].numpy())
    assert np.abs(got - expected).max() < 1e-4


def test_an_exported_student_is_scored_on_a_folder_without_its_teacher(teacher: Path, tmp_path: Path,
                                                                         weights_home: Path,  # noqa: F811
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`i2i eval --model STUDENT --data FOLDER`: against the pairs' targets on paired data (the truth)."""
    run = train(student_config(teacher, tmp_path, "alone", 1), progress_bar=False).run_dir
    (exported,) = export_run(run, out=tmp_path / "alone.onnx", batch_norm_stats="running", register=False,
                             say=lambda _: None)
    monkeypatch.setenv("I2I_HOME", str(weights_home))
    options = EvalOptions(device="cpu", kid_subsets=5, lpips_net="squeeze", max_images=3, cache=False)
    (score,) = evaluate_model(str(exported.path), SAMPLE, "val", options).scores
    assert score.paired and score.direction == "AtoB" and {"PSNR", "SSIM", "LPIPS"} <= set(score.metrics)


def test_a_teacher_named_by_a_relative_path_is_found_from_another_directory(teacher: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The run records its teacher's absolute path: export and resume work from wherever they are run."""
    monkeypatch.chdir(teacher.parent)
    run = train(student_config(Path(teacher.name), tmp_path, "relative", 1), progress_bar=False).run_dir
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (exported,) = export_run(run, out=tmp_path / "relative.onnx", register=False, say=lambda _: None)
    assert exported.card["teacher"]["source"] == str(latest_checkpoint(teacher).resolve())
    assert exported.card["batch_norm_stats"] == "running"  # by default, as the student validates
    assert resume(run, {"run": {"max_steps": 2}}, progress_bar=False).progress.step == 2


def test_cyclegans_second_generator_and_a_teacher_that_changed(teacher: Path, tmp_path: Path,
                                                               unpaired_sample: Path) -> None:
    backwards = student_config(teacher, tmp_path, "b", 2, method={"which": "G_B"})
    distill = task_class("distill")
    assert [(c.generator, c.source, c.target, c.paired) for c in distill.comparisons(backwards)] == [
        ("G", "B", "A", False)]
    assert distill.generator_direction(backwards, "G") == "BtoA"
    with pytest.raises(ConfigError, match=r"--which G_C: the teacher \(cyclegan\) has G_A, G_B"):
        student_config(teacher, tmp_path, "c", 2, method={"which": "G_C"})

    # a student resumes only from the teacher it started with
    copy = tiny_teacher(tmp_path / "own", unpaired_sample, steps=2)
    train(student_config(copy, tmp_path, "s", 2), progress_bar=False)
    resume(copy, {"run": {"max_steps": 3}}, progress_bar=False)  # the teacher trains on
    with pytest.raises(CheckpointError, match=r"the teacher changed since this student started \(step 2, .* now "
                                              r"step 3"):
        resume(tmp_path / "s", {"run": {"max_steps": 4}}, progress_bar=False)


def test_a_pix2pix_teacher_on_paired_data(tmp_path: Path) -> None:
    """A U-Net teacher has no ResNet stages: no adapters by default, an error when asked for them; the student is
    scored against the pairs' targets too."""
    unet = tiny_teacher(tmp_path, SAMPLE, task="pix2pix", data={"max_dataset_size": 8})
    config = student_config(unet, tmp_path, "p", 2)
    assert set(task_class("distill").network_specs(config)) == {"G", "D"}
    # the batch-norm teacher runs as it exports: each image on its own statistics, not on the student's batch
    task = task_class("distill")(config, torch.device("cpu"))
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    with torch.no_grad(), inference_mode(task.teacher, "batch"):
        alone = torch.cat([task.teacher(image[None]) for image in images])
    assert torch.allclose(task.teach(images)[0], alone, atol=1e-5)
    run = train(config, progress_bar=False).run_dir
    last = read_metrics(run / "metrics.jsonl", "val")[-1][1]
    assert {"L1_teacher", "PSNR_teacher", "L1", "PSNR", "SSIM"} <= set(last)
    with pytest.raises(ConfigError, match=r"--lambda-distill 0.5: the teacher's unet_32 has no stages to match"):
        task_class("distill").check_config(student_config(unet, tmp_path, "q", 2, method={"lambda_distill": 0.5}))


def test_the_command_line(teacher: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["distill", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err == f"error: --teacher {tmp_path / 'nowhere'}: no such run folder or checkpoint file\n"
    assert main(["distill", str(teacher), "--direction", "BtoA"]) == 2
    assert "unknown option --direction" in capsys.readouterr().err  # a student reads the data as its teacher did
    code = main(["distill", str(teacher), "--student", "mobile_resnet_2blocks", "--ngf", "4", "--ndf", "4",
                 "--max-steps", "1", "--num-workers", "0", "--out", str(tmp_path), "--no-progress"])
    assert code == 0, capsys.readouterr()
    saved = (tmp_path / "teacher-student" / "config.yaml").read_text()
    assert "net_g: mobile_resnet_2blocks" in saved and "crop_size: 32" in saved and f"teacher: {teacher}" in saved
