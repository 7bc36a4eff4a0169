"""``i2i sample``: a grid of images from a generator from noise (a dcgan or vae run, or its export)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from .options import reject_unknown

EXAMPLES = """examples:
  i2i sample runs/faces -n 64 -o grid.png --seed 3          # from a run's latest checkpoint (torch)
  i2i sample --model faces -n 16 -o grid.png                # an exported model: ONNX Runtime, no torch
  i2i sample runs/fashion-c --label sneaker -n 8 -o shoes.png   # a conditional model: one class
  i2i sample runs/fashion-c -n 100 -o all.png               # a conditional model: each class in turn
"""


def add_source(parser: argparse.ArgumentParser) -> None:
    """SOURCE (run folder or checkpoint) or --model (a stored name or an .onnx file), and --device."""
    parser.add_argument("source", nargs="?", metavar="RUN_DIR|CHECKPOINT", help="a dcgan or vae run, or a checkpoint")
    parser.add_argument("--model", help="an exported model instead: a stored name or an .onnx file (no torch needed)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="ONNX Runtime device for --model (default: auto)")


def source_of(args: argparse.Namespace) -> str:
    if bool(args.source) == bool(args.model):
        raise ConfigError("give a run folder (or checkpoint) or --model NAME, one of the two")
    return args.source or args.model


def positive(flag: str) -> Callable[[str], int]:
    """An argparse type: an integer of at least 1, else a one-line error naming ``flag``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{flag} {value}: must be at least 1")
        return value

    return parse


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="i2i sample", description="Sample images from a generator from noise.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source(parser)
    parser.add_argument("-n", "--count", type=positive("-n"), default=64, help="images to sample (default: 64)")
    parser.add_argument("-o", "--out", default="samples.png", help="the grid image to write (default: samples.png)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed: the same seed gives the same images")
    parser.add_argument("--label", help="a conditional model's class (its name, any case, or its number)")
    parser.add_argument("--columns", type=positive("--columns"), help="grid columns (default: about square; "
                                                                      "one row per class when conditional)")
    parser.add_argument("--folder", metavar="DIR", help="also write each sample as its own PNG in DIR "
                                                        "(00000.png, ...: a folder `i2i eval DIR REAL/` can score)")
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    from ..images import write_image
    from ..sampling import open_generator
    from ..sampling.sheets import sample_sheet

    generator = open_generator(source_of(args), args.device)
    images, sheet = sample_sheet(generator, args.count, args.seed, args.label, args.columns)
    write_image(args.out, sheet)
    if args.folder:
        for i, image in enumerate(images):
            write_image(Path(args.folder) / f"{i:05d}.png", image)
    print(f"{args.out}: {args.count} samples" + (f" of {args.label}" if args.label else "")
          + f" from {generator.where}" + (f"; one file each in {args.folder}" if args.folder else ""))
    return 0
