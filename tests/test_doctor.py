"""``i2i doctor``: the report's lines, its exit status, a headless OpenCV, and an installation without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from i2i.cli.main import main
from i2i.errors import DisplayError

LABELS = ("python", "torch", "torchvision", "onnxruntime", "opencv", "albumentations", "kornia", "gpu", "display",
          "cameras", "I2I_HOME")
HEADLESS = "General configuration for OpenCV 4.12.0\n  GUI:                           NONE\n  Media I/O:\n"


def labelled(out: str) -> dict[str, str]:
    """The report's 'label  text' lines, by label."""
    lines = {}
    for line in out.splitlines():
        label, _, text = line.partition(" ")
        if label in LABELS and text.startswith(" "):
            lines[label] = text.strip()
    return lines


def check_verdict(out: str, code: int) -> None:
    """Exit 1 exactly when a problem is listed, each problem with its fix on the next line."""
    lines = out.splitlines()
    problems = [i for i, line in enumerate(lines) if line.startswith("problem: ")]
    assert code == (1 if problems else 0)
    assert all(lines[i + 1].startswith("  fix: ") for i in problems)
    assert lines[-1] == ("no problems found" if not problems else
                         f"{len(problems)} problem{'s' if len(problems) > 1 else ''} found")


def test_doctor_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                           ) -> None:
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "models" / "day").mkdir(parents=True)
    (tmp_path / "home" / "models" / "day" / "model.onnx").write_bytes(b"x")
    code = main(["doctor"])
    out = capsys.readouterr().out
    lines = labelled(out)
    assert set(lines) == set(LABELS), out
    assert lines["python"].startswith(".".join(map(str, sys.version_info[:3])))
    assert "build" in lines["torch"] and "CUDA" in lines["torch"]  # its CUDA build, and whether CUDA works
    assert "providers: " in lines["onnxruntime"] and "CUDA provider" in lines["onnxruntime"]
    assert "GUI build" in lines["opencv"] or "headless build" in lines["opencv"]
    assert lines["I2I_HOME"].startswith(f"{tmp_path / 'home'} (I2I_HOME; ") and "GB free, 1 model stored" in out
    check_verdict(out, code)


def test_doctor_as_a_command(tmp_path: Path) -> None:
    done = run_cli("doctor", env={"I2I_HOME": str(tmp_path / "home")})
    assert done.returncode in (0, 1) and not done.stderr, done.stderr
    assert set(labelled(done.stdout)) == set(LABELS)
    assert "0 models stored" in done.stdout
    check_verdict(done.stdout, done.returncode)


def test_a_headless_opencv_is_reported_with_its_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("I2I_HOME", str(tmp_path))
    monkeypatch.setattr("i2i.doctor.opencv_build_information", lambda: HEADLESS)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "headless build (no GUI)" in labelled(out)["opencv"]
    assert "problem: opencv: OpenCV is the headless build: i2i webcam cannot open a window" in out
    lines = out.splitlines()
    fix = lines[next(i for i, line in enumerate(lines) if line.startswith("problem: opencv")) + 1]
    assert fix.startswith("  fix: make opencv-gui")
    assert "pip uninstall -y opencv-python-headless opencv-python && " in fix
    assert "pip install --no-deps opencv-python==" in fix
    check_verdict(out, 1)
    # i2i webcam says the same, in one line that points here
    from i2i.live import check_display

    with pytest.raises(DisplayError, match=r"headless build .*make opencv-gui.*--no-window \(`i2i doctor`"):
        check_display()


def test_doctor_without_torch_or_any_other_package(tmp_path: Path) -> None:
    """Every package missing at once (imports made to fail): each is named with its fix; nothing crashes."""
    blocked = ["torch", "torchvision", "onnxruntime", "cv2", "albumentations", "kornia", "onnx"]
    code = (f"import sys\nfor name in {blocked!r}: sys.modules[name] = None\n"
            "from i2i.cli.main import main\nsys.exit(main(['doctor']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"I2I_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    lines = labelled(done.stdout)
    assert set(lines) == set(LABELS)
    assert lines["torch"].startswith("installed (torch ") and "not importable" in lines["torch"]
    assert "i2i translate and webcam work without it" in lines["torch"]
    for label in ("torch", "onnxruntime", "opencv", "albumentations", "kornia"):
        assert f"problem: {label}: " in done.stdout
    assert "install --force-reinstall torch torchvision" in done.stdout
    check_verdict(done.stdout, 1)


def test_doctor_takes_no_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--fix"]) == 2
    assert capsys.readouterr().err.strip() == "error: unknown option --fix"
