"""``i2i interpolate``: walks through a generator's latent space, one row per walk."""

from __future__ import annotations

import argparse

from .options import reject_unknown
from .sample import add_source, positive, source_of

EXAMPLES = """examples:
  i2i interpolate runs/faces --steps 8 -o walk.png            # 4 walks between random points
  i2i interpolate --model faces-vae --rows 2 --steps 10 -o walk.png
  i2i interpolate runs/fashion-c --label sneaker -o walk.png   # a conditional model: within one class
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="i2i interpolate", description="Interpolate between random latent "
                                     "vectors: on the sphere for a GAN (slerp), in a straight line for a VAE.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source(parser)
    parser.add_argument("--steps", type=positive("--steps"), default=8, help="images per walk, ends included "
                                                                             "(default: 8)")
    parser.add_argument("--rows", type=positive("--rows"), default=4, help="walks (default: 4)")
    parser.add_argument("-o", "--out", default="walk.png", help="the image to write (default: walk.png)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the walks' end points")
    parser.add_argument("--label", help="a conditional model's class (default: each row its own class)")
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    from ..images import write_image
    from ..sampling import open_generator
    from ..sampling.sheets import walk_sheet

    generator = open_generator(source_of(args), args.device)
    write_image(args.out, walk_sheet(generator, args.rows, args.steps, args.seed, args.label))
    print(f"{args.out}: {args.rows} walks of {args.steps} steps ({generator.interpolation}) from {generator.where}")
    return 0
