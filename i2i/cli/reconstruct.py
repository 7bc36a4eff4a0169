"""``i2i reconstruct``: a VAE's reconstructions of images, each written beside its input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..images import MAX_PIXELS
from .options import reject_unknown

EXAMPLES = """examples:
  i2i reconstruct runs/faces-vae photos/ -o recon/            # recon/NAME.png: input | reconstruction
  i2i reconstruct --model faces-vae one.jpg -o recon/         # exported: uses faces-vae and faces-vae_E

The decoder and the encoder must come from one checkpoint (both exports record it). A file that cannot be
read is named and skipped (exit status 1); inputs of the same name are written as NAME.png, NAME_2.png, ..."""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="i2i reconstruct", description="Encode images with a VAE and decode "
                                     "them again (the posterior mean), input and reconstruction side by side.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="RUN_DIR|IMAGE|FOLDER",
                        help="the VAE run (unless --model) followed by images or folders")
    parser.add_argument("--model", help="an exported VAE decoder (stored name or .onnx); its encoder is NAME_E "
                                        "unless --encoder says otherwise")
    parser.add_argument("--encoder", help="the exported encoder (default: the --model name with _E)")
    parser.add_argument("-o", "--out", default="recon", help="output folder (default: recon)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS, metavar="N",
                        help="refuse images with more pixels (decompression bombs; default: 100 million)")
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    if args.max_pixels < 1:
        raise ConfigError(f"--max-pixels {args.max_pixels}: must be at least 1")
    from ..images import is_image_file, list_images, write_image
    from ..sampling import open_encoder, open_generator
    from ..sampling.models import check_same_vae, read_images

    if args.model:
        decoder_spec, encoder_spec, items = args.model, args.encoder or _encoder_name(args.model), args.inputs
    else:
        if len(args.inputs) < 2:
            raise ConfigError("give the VAE run folder, then the images or folders to reconstruct")
        decoder_spec, encoder_spec, items = args.inputs[0], args.encoder or args.inputs[0], args.inputs[1:]
    decoder, encoder = open_generator(decoder_spec, args.device), open_encoder(encoder_spec, args.device)
    note = check_same_vae(decoder, encoder)
    if note:
        print(f"note: {note}", file=sys.stderr)
    paths: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            paths += list_images(item)
        elif item.is_file() and is_image_file(item):
            paths.append(item)
        else:
            raise DataError(f"{item}: no such image or folder")
    paths = list({path.resolve(): path for path in paths}.values())  # each file once, in the order given
    if not paths:
        raise DataError(f"{', '.join(items)}: no images")
    out = Path(args.out)
    targets, failed, done = _targets(paths, out), 0, 0
    for start in range(0, len(paths), 64):
        chunk, images = [], []
        for path in paths[start : start + 64]:
            try:
                images += read_images([path], args.max_pixels)
                chunk.append(path)
            except DataError as e:  # this file fails, not the folder
                print(f"error: {e}", file=sys.stderr)
                failed += 1
        if not images:
            continue
        mean, _ = encoder.encode(images)
        recon = decoder.generate(mean)
        inputs = np.stack([_fit(image, encoder) for image in images])
        for path, a, b in zip(chunk, inputs, recon, strict=True):
            write_image(targets[path], np.concatenate([a, b], 1))
            done += 1
    print(f"{out}: {done} of {len(paths)} reconstructions (input | reconstruction) by {decoder.where}")
    return 1 if failed else 0


def _targets(paths: list[Path], out: Path) -> dict[Path, Path]:
    """``out/NAME.png`` for each input; inputs of one name (a.jpg in two folders) get NAME_2.png, ... in order."""
    targets: dict[Path, Path] = {}
    taken: set[Path] = set()
    for path in paths:
        target, n = out / f"{path.stem}.png", 2
        while target in taken:
            target, n = out / f"{path.stem}_{n}.png", n + 1
        taken.add(target)
        targets[path] = target
    return targets


def _encoder_name(model: str) -> str:
    """faces-vae -> faces-vae_E; export/faces-vae.onnx -> export/faces-vae_E.onnx."""
    path = Path(model)
    return str(path.with_name(f"{path.stem}_E{path.suffix}")) if path.suffix == ".onnx" else f"{model}_E"


def _fit(image: np.ndarray, encoder: object) -> np.ndarray:
    """The input as the encoder saw it (scaled, centre-cropped, channels), as uint8 for the side-by-side."""
    prepared = encoder.prepare([image])[0]  # type: ignore[attr-defined]
    low, high = encoder.value_range  # type: ignore[attr-defined]
    return np.clip((prepared - low) / (high - low) * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
