"""Checks of the installation for ``i2i doctor``: versions, GPU, display, the OpenCV build, cameras, I2I_HOME.

Only the standard library is imported here; every package is imported inside a check that catches whatever
its import raises, so the report works on a broken or partial installation (torch missing included). The
display and OpenCV helpers are shared with ``i2i webcam``, whose errors point here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .compat import MIN_TORCH, torch_problem

MIN_FREE_BYTES = 1 << 30  # a pretrained unet_256 takes 218 MB stored, plus its download while it is converted
PIP = f"{sys.executable} -m pip"
ORT_CUDA_FIX = f"{PIP} uninstall -y onnxruntime onnxruntime-gpu && {PIP} install onnxruntime-gpu"


@dataclass(frozen=True)
class Finding:
    """One line of the report; ``problem`` and ``fix`` are set when something needs the user's action."""

    label: str
    text: str
    problem: str | None = None
    fix: str | None = None


def opencv_build_information() -> str:
    """OpenCV's build summary (``cv2.getBuildInformation()``); its GUI section tells a GUI build from a headless one."""
    import cv2

    return str(cv2.getBuildInformation())


def gui_backend(build_information: str) -> str:
    """The GUI backend named in OpenCV's build summary (QT5, GTK3, WIN32UI, COCOA...), or '' for a headless build."""
    for line in build_information.splitlines():
        if line.strip().startswith("GUI:"):
            value = line.split(":", 1)[1].strip()
            return "" if value.upper() in ("", "NONE", "NO") else value
    return ""


def opencv_version() -> str:
    """The installed OpenCV wheel's version (either build), for the reinstall command."""
    for dist in ("opencv-python", "opencv-python-headless", "opencv-contrib-python"):
        version = _dist_version(dist)
        if version:
            return version
    return ""


def opencv_gui_fix() -> str:
    """The command that replaces a headless OpenCV with the GUI build of the same version (``make opencv-gui``)."""
    version = opencv_version()
    pinned = f"opencv-python=={version}" if version else "opencv-python"
    return (f"make opencv-gui (in the i2i checkout), or: {PIP} uninstall -y opencv-python-headless opencv-python "
            f"&& {PIP} install --no-deps {pinned}")


def display_problem(environ: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why no window can be opened here (Linux: no DISPLAY, or no X server behind it), or None."""
    environ = dict(os.environ) if environ is None else environ
    platform = platform or sys.platform
    if not platform.startswith("linux") or environ.get("WAYLAND_DISPLAY"):
        return None
    display = environ.get("DISPLAY", "")
    if not display:
        return "DISPLAY is not set"
    if display.startswith(":"):  # a local X server listens on a socket named after the display number
        number = display[1:].split(".")[0]
        if not Path(f"/tmp/.X11-unix/X{number}").exists():
            return f"no X server at DISPLAY={display}"
    return None


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0][:160]}" if lines else type(error).__name__


def _import(name: str) -> tuple[ModuleType | None, str]:
    """(module, '') or (None, why it cannot be imported); never raises, whatever the import does."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(name), ""
    except Exception as e:  # a broken install raises anything (OSError for a missing shared library, ...)
        return None, _first_line(e)


def _absent(why: str, *dists: str) -> str:
    """How a package that failed to import stands: installed but broken (which wheel, why), or not installed."""
    for dist in dists:
        if version := _dist_version(dist):
            return f"installed ({dist} {version}) but not importable ({why})"
    return "not installed"


def _version(module: ModuleType, dist: str) -> str:
    return str(getattr(module, "__version__", "") or _dist_version(dist) or "?")


def check_python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))  # i2i itself needs 3.10+, so this one runs it
    return Finding("python", f"{version} ({sys.executable})")


def check_torch(gpus: list[str]) -> list[Finding]:
    """torch (its CUDA build, and whether CUDA works) and torchvision."""
    torch, why = _import("torch")
    if torch is None:
        return [Finding("torch", f"{_absent(why, 'torch')}; i2i translate and webcam work without it",
                        "torch is needed to train, export and convert pretrained models",
                        f"{PIP} install --force-reinstall torch torchvision (or make setup)"),
                Finding("torchvision", f"{_dist_version('torchvision') or 'not installed'} (i2i does not use it)")]
    cuda_build = getattr(torch.version, "cuda", None)
    try:
        available = bool(torch.cuda.is_available())
    except Exception:  # a broken CUDA setup can raise here
        available = False
    text = f"{_version(torch, 'torch')}, " + (f"CUDA {cuda_build} build" if cuda_build else "CPU-only build")
    text += ", CUDA available" if available else ", CUDA not available"
    findings = []
    if gpus and not cuda_build:
        findings.append(Finding("torch", text, "a GPU is present but this torch is a CPU-only build",
                                f"{PIP} install --force-reinstall torch torchvision --index-url "
                                "https://download.pytorch.org/whl/cu128 (pick the CUDA version your driver supports)"))
    elif gpus and not available:
        findings.append(Finding("torch", text, f"a GPU is present but torch cannot use it (built for CUDA "
                                f"{cuda_build})", "check the NVIDIA driver with nvidia-smi; it must support CUDA "
                                f"{cuda_build} (update the driver, or install a torch built for an older CUDA)"))
    elif torch_problem(str(getattr(torch, "__version__", "0"))):
        floor = ".".join(map(str, MIN_TORCH))
        findings.append(Finding("torch", text, torch_problem(str(torch.__version__)) or "",
                                f"{PIP} install --upgrade 'torch>={floor}' torchvision (or make setup)"))
    else:
        findings.append(Finding("torch", text))
    vision, why = _import("torchvision")
    findings.append(Finding("torchvision", _version(vision, "torchvision") if vision else
                            f"{_absent(why, 'torchvision')} (i2i does not use it)"))
    return findings


def check_onnxruntime(gpus: list[str]) -> Finding:
    """onnxruntime: version, providers, and whether the CUDA provider is there (and starts) when a GPU is."""
    both = _dist_version("onnxruntime") and _dist_version("onnxruntime-gpu")
    ort, why = _import("onnxruntime")
    if ort is None:
        return Finding("onnxruntime", _absent(why, "onnxruntime", "onnxruntime-gpu"),
                       "i2i translate and webcam need ONNX Runtime",
                       ORT_CUDA_FIX if gpus else f"{PIP} install --force-reinstall onnxruntime")
    try:
        providers = list(ort.get_available_providers())
    except Exception as e:
        return Finding("onnxruntime", f"{_version(ort, 'onnxruntime')}, providers unknown ({_first_line(e)})",
                       "ONNX Runtime cannot list its execution providers", ORT_CUDA_FIX if gpus else
                       f"{PIP} install --force-reinstall onnxruntime")
    shown = ", ".join(p.removesuffix("ExecutionProvider") for p in providers)
    cuda = "CUDAExecutionProvider" in providers
    seen = "CUDA provider seen" if cuda else "no CUDA provider"
    text = f"{_version(ort, 'onnxruntime')}, providers: {shown} ({seen})"
    if both:
        return Finding("onnxruntime", text, "both onnxruntime and onnxruntime-gpu are installed (they overwrite each "
                       "other's files)", ORT_CUDA_FIX if gpus else
                       f"{PIP} uninstall -y onnxruntime onnxruntime-gpu && {PIP} install onnxruntime")
    if gpus and not cuda:
        return Finding("onnxruntime", text, "a GPU is present but this onnxruntime cannot use it (--device cuda "
                       "fails, auto runs on the CPU)", ORT_CUDA_FIX)
    if gpus and cuda:
        failure = _cuda_provider_failure(ort)
        if failure:
            return Finding("onnxruntime", text, f"the CUDA provider does not start ({failure})",
                           "install the CUDA and cuDNN libraries this onnxruntime-gpu was built for (see "
                           "https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html#requirements)")
    return Finding("onnxruntime", text)


def _cuda_provider_failure(ort: ModuleType) -> str:
    """'' when a session on the CUDA provider really starts; otherwise why not (missing CUDA or cuDNN libraries)."""
    onnx, _ = _import("onnx")
    if onnx is None:
        return ""  # cannot build a test graph; the providers list is all there is to go on
    try:
        from onnx import TensorProto, helper

        graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        options = ort.SessionOptions()
        options.log_severity_level = 4
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        if session.get_providers()[0] != "CUDAExecutionProvider":
            return "ONNX Runtime fell back to the CPU: the CUDA or cuDNN libraries were not found"
    except Exception as e:
        return _first_line(e)
    return ""


def check_opencv() -> Finding:
    """OpenCV: version, and whether it is the GUI build i2i webcam needs (or the headless one albumentations pulls)."""
    cv2, why = _import("cv2")
    if cv2 is None:
        if "libGL" in why or "libgthread" in why or "libglib" in why:
            fix = ("install the system libraries the GUI build links against (Debian/Ubuntu: apt-get install -y "
                   f"libgl1 libglib2.0-0), or use the headless build (no windows): {PIP} uninstall -y opencv-python "
                   f"&& {PIP} install opencv-python-headless")
        else:
            fix = f"{PIP} install --force-reinstall opencv-python"
        return Finding("opencv", _absent(why, "opencv-python", "opencv-python-headless", "opencv-contrib-python"),
                       "i2i needs OpenCV to read and write images and video", fix)
    version = _version(cv2, "opencv-python")
    try:
        backend = gui_backend(opencv_build_information())
    except Exception as e:
        return Finding("opencv", f"{version}, build information unreadable ({_first_line(e)})")
    if not backend:
        return Finding("opencv", f"{version}, headless build (no GUI)",
                       "OpenCV is the headless build: i2i webcam cannot open a window (--no-window still works)",
                       opencv_gui_fix())
    return Finding("opencv", f"{version}, GUI build ({backend})")


def check_package(label: str, module: str, dist: str, needed_for: str, then: str = "") -> Finding:
    """A package i2i imports for training: its version, or a problem with the install command (and ``then``)."""
    found, why = _import(module)
    if found is not None:
        return Finding(label, _version(found, dist))
    install = f"{PIP} install --force-reinstall {dist}" if _dist_version(dist) else f"{PIP} install {dist}"
    return Finding(label, _absent(why, dist), f"{label} is needed {needed_for}", install + then)


def find_gpus() -> list[str]:
    """NVIDIA GPUs seen by the driver (without torch): /proc/driver/nvidia, else ``nvidia-smi -L``."""
    gpus = []
    folder = Path("/proc/driver/nvidia/gpus")
    try:
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            model = "NVIDIA GPU"
            info = entry / "information"
            if info.is_file():
                for line in info.read_text(errors="replace").splitlines():
                    if line.startswith("Model:"):
                        model = line.split(":", 1)[1].strip()
            gpus.append(model)
    except OSError:
        pass
    if gpus or not shutil.which("nvidia-smi"):
        return gpus
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.split(":", 1)[1].split("(UUID")[0].strip() for line in listed.stdout.splitlines()
            if line.startswith("GPU ") and ":" in line]


def check_gpu(gpus: list[str]) -> Finding:
    if not gpus:
        return Finding("gpu", "none found (everything runs on the CPU)")
    return Finding("gpu", ", ".join(gpus))


def check_display() -> Finding:
    problem = display_problem()
    if problem:
        return Finding("display", f"none ({problem}): i2i webcam needs --no-window here")
    if not sys.platform.startswith("linux"):
        return Finding("display", f"assumed ({sys.platform})")
    if os.environ.get("WAYLAND_DISPLAY"):
        return Finding("display", f"Wayland ({os.environ['WAYLAND_DISPLAY']})")
    return Finding("display", f"DISPLAY={os.environ.get('DISPLAY', '')}")


def check_cameras() -> Finding:
    """Video devices (Linux): how many, and any this user may not open."""
    if not sys.platform.startswith("linux"):
        return Finding("cameras", f"not checked on {sys.platform}")
    devices = sorted(Path("/dev").glob("video*"), key=lambda p: (len(p.name), p.name))
    if not devices:
        return Finding("cameras", "no video devices (/dev/video*); --source also takes a video file or folder")
    closed = [str(d) for d in devices if not os.access(d, os.R_OK | os.W_OK)]
    text = f"{len(devices)} video devices ({', '.join(d.name for d in devices)})"
    if closed:
        return Finding("cameras", text, f"this user may not open {', '.join(closed)}",
                       "sudo usermod -aG video $USER, then log out and in again")
    return Finding("cameras", text)


def check_home() -> Finding:
    """I2I_HOME: where it is, free space on its disk, whether it is writable, and how many models it holds."""
    from .hub.store import ModelStore, i2i_home

    home = i2i_home()
    origin = "I2I_HOME" if os.environ.get("I2I_HOME") else "default"
    if home.exists() and not home.is_dir():
        return Finding("I2I_HOME", f"{home} ({origin})", f"{home} is a file, not a folder",
                       "export I2I_HOME=/path/to/a/folder (or move the file away)")
    existing = home
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        free = shutil.disk_usage(existing).free
    except OSError:
        free = None
    try:
        count = len(ModelStore(home).names())
    except OSError:
        count = 0
    shown_free = f"{free / 1e9:.1f} GB free" if free is not None else "free space unknown"
    text = f"{home} ({origin}; {shown_free}, {count} model{'s' if count != 1 else ''} stored)"
    if not os.access(existing, os.W_OK):
        return Finding("I2I_HOME", text, f"{existing} is not writable: models cannot be stored or pulled",
                       "export I2I_HOME=/path/to/a/writable/folder")
    if free is not None and free < MIN_FREE_BYTES:
        return Finding("I2I_HOME", text, f"only {free / 1e6:.0f} MB free where models are stored (a pretrained "
                       "model needs about 0.5 GB while it is converted)",
                       "free space on that disk, or export I2I_HOME=/path/on/a/larger/disk")
    return Finding("I2I_HOME", text)


def run_checks() -> list[Finding]:
    """Every check, in report order; none raises."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # its import would otherwise ask PyPI for news
    gpus = find_gpus()
    checks: list[Callable[[], Finding | list[Finding]]] = [
        check_python,
        lambda: check_torch(gpus),
        lambda: check_onnxruntime(gpus),
        check_opencv,
        lambda: check_package("albumentations", "albumentations", "albumentations", "to train (data augmentation)",
                              ", then make opencv-gui (albumentations brings the headless OpenCV back)"),
        lambda: check_package("kornia", "kornia", "kornia", "to train (validation metrics)"),
        lambda: check_gpu(gpus),
        check_display,
        check_cameras,
        check_home,
    ]
    findings: list[Finding] = []
    for check in checks:
        try:
            result = check()
        except Exception as e:  # a check must not take the report down with it
            name = getattr(check, "__name__", "check").removeprefix("check_")
            result = Finding(name, f"could not be checked ({_first_line(e)})")
        findings += result if isinstance(result, list) else [result]
    return findings


def report(findings: list[Finding]) -> list[str]:
    """The report's lines: one per finding, then each problem with its fix, then a verdict."""
    width = max(len(f.label) for f in findings)
    lines = [f"{f.label:<{width}}  {f.text}" for f in findings]
    problems = [f for f in findings if f.problem]
    if not problems:
        return [*lines, "", "no problems found"]
    lines.append("")
    for finding in problems:
        lines.append(f"problem: {finding.label}: {finding.problem}")
        lines.append(f"  fix: {finding.fix}")
    lines.append(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
    return lines
