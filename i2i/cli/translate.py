"""``i2i translate`` and ``i2i upscale``: run a named or exported model on images, folders or globs. No torch."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..images import MAX_PIXELS
from .options import reject_unknown

PREPACK_FROM = 8  # images: for fewer, skipping ONNX Runtime's weight prepacking saves more than it costs

EXAMPLES = """examples:
  i2i translate in.jpg --model day2night          # -> in_day2night.jpg (the pretrained model is fetched once)
  i2i translate photos/ --model facades -o out/   # a folder, with a progress bar
  i2i translate big.jpg --model h2z --tile 512    # any size, in blended 512-pixel tiles
  i2i translate 'shots/**/*.png' --model export/demo.onnx

Outputs keep the input's size (times the scale of a super-resolution model), orientation, format and alpha
channel, and never replace an input.
Exit status: 0 when every image was translated, 1 when some failed (each is named), 2 for a usage error."""

UPSCALE_EXAMPLES = """examples:
  i2i upscale small.jpg --model sr4 -o big.png               # exactly 4x the width and height
  i2i upscale photos/ --model realesrgan-x4 --tile 256 -o out/   # fetched on first use; a folder, in tiles
  i2i upscale 'scans/*.png' --model export/sr4.onnx

Outputs are the model's scale times the input in each dimension and keep its orientation, format, alpha
channel (upscaled alongside) and greyness, and never replace an input. Needs no torch.
Exit status: 0 when every image was upscaled, 1 when some failed (each is named), 2 for a usage error."""


def build_parser(upscale: bool = False) -> argparse.ArgumentParser:
    """The options of ``i2i translate``, or of ``i2i upscale`` (no --size; tiles and overlap sized for SR)."""
    prog, text, epilog = (("i2i upscale", "Upscale images with a super-resolution model.", UPSCALE_EXAMPLES) if upscale
                          else ("i2i translate", "Translate images with a generator.", EXAMPLES))
    parser = argparse.ArgumentParser(prog=prog, description=text, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    parser.add_argument("--model", "-m", required=True, help="a model name (i2i models list) or an .onnx file")
    parser.add_argument("-o", "--out", metavar="PATH",
                        help="output folder (or, for one input, output file); default: beside each input")
    if upscale:
        parser.add_argument("--tile", type=int, metavar="N", help="upscale in tiles of N input pixels (default: "
                            "tiles whose output is 1024 pixels, for inputs above 2048 / scale; 0: never)")
        parser.add_argument("--overlap", type=int, default=16, metavar="M",
                            help="overlap of tiles, in input pixels (default: 16)")
    else:
        parser.add_argument("--size", type=int, metavar="N",
                            help="run the model with the image's shorter side scaled to N (default: its own size)")
        parser.add_argument("--tile", type=int, metavar="N",
                            help="translate in N-pixel tiles (default: 1024-pixel tiles above 2048 pixels; 0: never)")
        parser.add_argument("--overlap", type=int, default=64, metavar="M", help="overlap of tiles (default: 64)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="ONNX Runtime device (default: CUDA when onnxruntime-gpu sees one)")
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS, metavar="N",
                        help="refuse images with more pixels (decompression bombs; default: 100 million)")
    parser.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality of the outputs, 1 to 100 "
                                                                "(default: 95)")
    parser.add_argument("--mirror", metavar="URL", help="download pretrained models from this mirror "
                                                        "(or set I2I_MODEL_MIRROR)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str]) -> int:
    return run(argv, upscale=False)


def run(argv: list[str], upscale: bool) -> int:
    """``i2i translate`` (or ``i2i upscale``, which refuses models that keep the image's size)."""
    from ..deploy.resolve import resolve_model
    from ..errors import ModelError
    from ..infer import OnnxModel, Translator, plan, translate_files

    parser = build_parser(upscale)
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    if upscale:
        args.size = None
    check_numbers(args)
    interactive = sys.stderr.isatty() and not args.no_progress
    path, name = resolve_model(args.model, mirror=args.mirror, progress=download_bar(interactive),
                               say=lambda line: print(line, file=sys.stderr))
    jobs = plan(args.inputs, name, args.out)
    model = OnnxModel(path, args.device, name=name, prepack=len(jobs) > PREPACK_FROM)
    if upscale and model.info.scale == 1:
        raise ModelError(f"model {name} does not upscale (its output has its input's size): use i2i translate")
    translator = Translator(model, size=args.size, tile=args.tile, overlap=args.overlap)
    bar: Any = None
    report: Callable[[str], None] = lambda line: print(line, file=sys.stderr)  # noqa: E731
    if interactive and len(jobs) > 1:
        from tqdm import tqdm  # imported only when shown: a single image starts faster without it

        bar = tqdm(total=len(jobs), unit="img", dynamic_ncols=True)
        report = lambda line: tqdm.write(line, file=sys.stderr)  # noqa: E731
    summary = translate_files(jobs, translator, args.max_pixels, args.quality, report=report,
                              progress=bar.update if bar else lambda n: None)
    if bar:
        bar.close()
    if len(jobs) == 1 and summary.done:
        print(summary.done[0].target)
    elif summary.done:
        where = args.out or "beside the inputs"
        verb = f"upscaled x{model.info.scale}" if upscale else "translated"
        print(f"{verb} {len(summary.done)} of {len(jobs)} images with {name} ({model.provider}) into {where}")
    return 1 if summary.failed else 0


def check_numbers(args: argparse.Namespace) -> None:
    """Refuse sizes that cannot work before any model is fetched or opened.

    Whether the overlap fits the tile depends on the model (tiles are rounded up to its size multiple), so
    Translator checks that.
    """
    from ..errors import ConfigError

    if args.size is not None and args.size < 1:
        raise ConfigError(f"--size {args.size}: give a positive number of pixels")
    if args.tile is not None and args.tile < 0:
        raise ConfigError(f"--tile {args.tile}: give a positive tile side in pixels (or 0 to never tile)")
    if args.overlap < 0:
        raise ConfigError(f"--overlap {args.overlap}: the overlap of tiles cannot be negative")
    if args.max_pixels < 1:
        raise ConfigError(f"--max-pixels {args.max_pixels}: must be at least 1")
    if not 1 <= args.quality <= 100:
        raise ConfigError(f"--quality {args.quality}: must be between 1 and 100")


def download_bar(interactive: bool) -> Callable[[int, int | None], None]:
    """A progress callback for a model download that shows a byte counter once the download starts."""
    bar: list[Any] = []

    def update(done: int, total: int | None) -> None:
        if not bar:
            from tqdm import tqdm

            bar.append(tqdm(total=total, unit="B", unit_scale=True, disable=not interactive, leave=False))
        bar[0].update(done - bar[0].n)

    return update
