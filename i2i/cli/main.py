"""The ``i2i`` command: dispatches to a subcommand module, importing only that one.

Keeping the dispatch lazy means a command that needs no torch never imports it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys

from .. import __version__
from ..errors import I2IError, did_you_mean

COMMANDS = {
    "train": ("i2i.cli.train", "train a model on a data folder (i2i train --help lists the methods), or resume"),
    "distill": ("i2i.cli.distill", "train a compact student generator to imitate a trained one (real-time inference)"),
    "export": ("i2i.cli.export", "export a trained generator to ONNX (checked, with a model card)"),
    "translate": ("i2i.cli.translate", "translate images, folders or globs with a named or exported model"),
    "upscale": ("i2i.cli.upscale", "upscale images, folders or globs with a super-resolution model (SRGAN, ESRGAN)"),
    "webcam": ("i2i.cli.webcam", "translate a camera, video or image folder live, in a window or headless"),
    "eval": ("i2i.cli.eval", "score generated images, a run or a model: FID, KID, LPIPS, PSNR, SSIM"),
    "report": ("i2i.cli.report", "write a run's HTML report (curves, samples, evaluation), or compare runs"),
    "models": ("i2i.cli.models", "list, inspect, pull, import and remove named models"),
    "sample": ("i2i.cli.sample", "sample images from a generator from noise (dcgan, vae)"),
    "interpolate": ("i2i.cli.interpolate", "walk through a generator's latent space"),
    "reconstruct": ("i2i.cli.reconstruct", "reconstruct images with a VAE, side by side"),
    "app": ("i2i.cli.app", "serve the web app: translate, sample, live webcam in the browser, runs (i2i[app])"),
    "doctor": ("i2i.cli.doctor", "check the installation (versions, GPU, display, OpenCV build) and say what to fix"),
}

USAGE = "usage: i2i [--version] COMMAND [options]    (i2i COMMAND --help for its options)"


def _help() -> str:
    width = max(map(len, COMMANDS))
    lines = [USAGE, "", "Image-to-image translation with GANs.", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: sys.argv[1:]); returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_help())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"i2i {__version__}")
        return 0
    command = argv[0]
    # albumentations looks for a newer release of itself online on import, in every DataLoader worker: a
    # command line tool must not phone home (and offline machines wait for the lookup to fail).
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    if command not in COMMANDS:
        print(f"{USAGE}\nerror: unknown command '{command}'{did_you_mean(command, COMMANDS)}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(COMMANDS[command][0])
        return int(module.main(argv[1:]))
    except I2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):  # the terminal may be gone with the Ctrl-C
            print("interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:  # the reader went away (i2i models list | head): stop quietly, as SIGPIPE would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the interpreter's last flush succeeds
        return 128 + signal.SIGPIPE  # not 0: the command did not finish its work


if __name__ == "__main__":
    sys.exit(main())
