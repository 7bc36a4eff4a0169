"""``i2i doctor``: what is installed and what is missing, each problem with the command that fixes it."""

from __future__ import annotations

import argparse

from .options import reject_unknown

DESCRIPTION = """Check the installation: Python, torch (CUDA), torchvision, onnxruntime (providers), OpenCV (GUI or
headless build), albumentations, kornia, GPU, display, cameras and I2I_HOME. Each problem is printed with the
command that fixes it. Exit status: 0 when nothing needs fixing, 1 when something does."""


def main(argv: list[str]) -> int:
    """Print the report; 1 when it found problems."""
    parser = argparse.ArgumentParser(prog="i2i doctor", description=DESCRIPTION)
    _, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    from .. import __version__
    from ..doctor import report, run_checks

    findings = run_checks()
    print(f"i2i {__version__}")
    for line in report(findings):
        print(line)
    return 1 if any(f.problem for f in findings) else 0
