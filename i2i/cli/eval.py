"""``i2i eval``: FID, KID, LPIPS, PSNR and SSIM of generated images, a run's checkpoint or an exported model."""

from __future__ import annotations

import argparse
import sys

from ..images import MAX_PIXELS
from .options import reject_unknown

EXAMPLES = """examples:
  i2i eval out/ ~/facades/test/B                        # two folders: FID, KID (and LPIPS/PSNR/SSIM if names pair)
  i2i eval runs/facades                                 # the run's latest checkpoint on its validation split
  i2i eval runs/h2z --split test --json metrics.json    # another split; machine-readable too
  i2i eval --model facades --data ~/facades --split test   # an exported or named model on a data folder
  i2i eval out/ ~/facades/test/B --metrics psnr,ssim    # no weights needed: works offline

FID and KID use Inception v3 with TensorFlow's 2015 weights on uint8 images resized to 299 with TensorFlow 1's
bilinear filter, as torch-fidelity computes them (stock pytorch-fid, with the same weights, resizes with torch's
bilinear filter and scales inputs as 2x-1, so its FIDs differ by an amount not measured here); LPIPS is v0.1.
Their weights are fetched once into I2I_HOME (or from --mirror / I2I_MODEL_MIRROR), or given with --weights FILE;
PSNR and SSIM need none. Reference-set features are cached by content. A run's result is also recorded in
RUN/eval.json for `i2i report` (unless the run folder cannot be written)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="i2i eval", description="Score generated images (FID, KID, LPIPS, PSNR, "
                                     "SSIM).", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", metavar="SOURCE",
                        help="GENERATED_FOLDER REAL_FOLDER, or one RUN_DIR / CHECKPOINT")
    parser.add_argument("--model", "-m", help="an exported model (.onnx) or a named one, scored on --data")
    parser.add_argument("--data", metavar="FOLDER", help="the data folder (with --model; for a run: where its data "
                                                         "are now)")
    parser.add_argument("--split", choices=("train", "val", "test"), help="which split to score (default: val, "
                                                                           "else test)")
    parser.add_argument("--which", action="append", metavar="G", help="score only this generator (repeatable)")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"),
                        help="which way --model translates, when its metadata does not say")
    parser.add_argument("--size", type=int, metavar="N", help="--model: resize images to NxN before translating "
                                                              "(default: the model's training size)")
    parser.add_argument("--paired", action=argparse.BooleanOptionalAction, default=None,
                        help="two folders: require (or refuse) pairing files by name (default: pair when all match)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--metrics", metavar="LIST",
                        help="what to score, comma-separated: fid,kid,lpips,psnr,ssim (default: all that apply; PSNR "
                             "and SSIM need no weights)")
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS, metavar="N",
                        help="refuse images with more pixels (decompression bombs; default: 100 million)")
    parser.add_argument("--weights", action="append", default=[], metavar="FILE",
                        help="a weights file to use instead of downloading (Inception, or the LPIPS backbone: "
                             "recognised by its contents; repeatable)")
    parser.add_argument("--mirror", metavar="URL", help="download weights and models from this mirror")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: auto)")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="images per Inception batch "
                                                                                "(default: 32)")
    parser.add_argument("--kid-subsets", type=int, default=100, metavar="N", help="KID subsets (default: 100)")
    parser.add_argument("--kid-subset-size", type=int, metavar="N",
                        help="images per KID subset (default: 1000, or all images when fewer)")
    parser.add_argument("--lpips-net", choices=("alex", "vgg", "squeeze"), default="alex",
                        help="LPIPS backbone (default: alex, as the LPIPS paper evaluates)")
    parser.add_argument("--max-images", type=int, metavar="N", help="score at most the first N images")
    parser.add_argument("--seed", type=int, default=0, help="seed of KID's subsets (default: 0)")
    parser.add_argument("--no-cache", action="store_true", help="do not use or store cached reference features")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str]) -> int:
    from ..errors import ConfigError

    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    if args.model:
        if args.sources:
            raise ConfigError(f"--model scores a data folder (--data); unexpected argument '{args.sources[0]}'")
        if not args.data:
            raise ConfigError("--model needs --data FOLDER (the data folder whose split it translates)")
    elif len(args.sources) not in (1, 2):
        raise ConfigError("give two folders (GENERATED REAL), one run folder or checkpoint, or --model with --data"
                          if not args.sources else f"unexpected argument '{args.sources[2]}'")
    from ..evaluation.evaluate import (
        EvalOptions,
        evaluate_folders,
        evaluate_model,
        evaluate_run,
        parse_metrics,
        save_json,
    )
    from ..fileio import check_writable

    options = EvalOptions(device=args.device, batch_size=args.batch_size, kid_subsets=args.kid_subsets,
                          kid_subset_size=args.kid_subset_size, lpips_net=args.lpips_net, weights=tuple(args.weights),
                          mirror=args.mirror, cache=not args.no_cache, seed=args.seed, max_images=args.max_images,
                          progress=sys.stderr.isatty() and not args.no_progress, metrics=parse_metrics(args.metrics),
                          max_pixels=args.max_pixels)
    options.check()
    if args.json:
        check_writable(args.json, "--json")  # now, not after minutes of scoring
    if args.model:
        evaluation = evaluate_model(args.model, args.data, args.split, options, args.direction, args.size, say)
    elif len(args.sources) == 2:
        _refuse(args, ("split", "which", "direction", "size", "data"), "comparing two folders")
        evaluation = evaluate_folders(args.sources[0], args.sources[1], options, args.paired, say)
    else:
        _refuse(args, ("direction", "size", "paired"), "scoring a run")
        evaluation = evaluate_run(args.sources[0], options, args.split, args.data, args.which, say=say)
    where = f" ({evaluation.split} split)" if evaluation.split else ""
    step = f" at step {evaluation.step}" if evaluation.step is not None else ""
    print(f"{evaluation.source}{step} vs {evaluation.references}{where}, {evaluation.seconds:.1f} s")
    print(evaluation.table())
    if args.json:
        print(f"wrote {save_json(args.json, evaluation)}")
    return 0


def _refuse(args: argparse.Namespace, names: tuple[str, ...], doing: str) -> None:
    from ..errors import ConfigError

    for name in names:
        if getattr(args, name) is not None:
            raise ConfigError(f"--{name} does not apply when {doing}")
