"""``i2i models``: the named models in I2I_HOME and the reference pretrained ones."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ConfigError, did_you_mean
from ..hub.store import ModelStore
from ..hub.zoo import PRETRAINED
from .options import reject_unknown

EXAMPLES = """examples:
  i2i models list                                  # yours, then the pretrained ones (* = downloaded)
  i2i models info day2night
  i2i models pull horse2zebra                      # download, convert to ONNX, store
  i2i models import latest_net_G.pth --arch unet_256 --norm batch --name facades
  i2i models import RealESRGAN_x4plus.pth --arch rrdbnet --scale 4 --name realesrgan-x4
  i2i models web demo site/                        # a static folder that runs 'demo' in the browser
  i2i models remove horse2zebra"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="i2i models", description="Manage named models (stored in I2I_HOME).",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="the stored models and the pretrained ones")
    sub.add_parser("info", help="a model's card and metadata").add_argument("name")
    pull = sub.add_parser("pull", help="download and convert a pretrained model")
    pull.add_argument("name")
    pull.add_argument("--mirror", metavar="URL", help="download from this mirror (or set I2I_MODEL_MIRROR)")
    imp = sub.add_parser("import", help="convert a reference *_net_G.pth generator, or a BasicSR / Real-ESRGAN / "
                                        "ESRGAN super-resolution .pth, and store it")
    imp.add_argument("file", type=Path)
    imp.add_argument("--arch", required=True, help="unet_256, unet_128, resnet_9blocks, resnet_6blocks, ...; "
                                                   "rrdbnet (ESRGAN, Real-ESRGAN), srresnet (BasicSR's MSRResNet)")
    imp.add_argument("--norm", choices=("batch", "instance", "none"),
                     help="the normalisation of a pix2pix / CycleGAN generator (required for those)")
    imp.add_argument("--scale", type=int, choices=(1, 2, 3, 4, 8),
                     help="super-resolution: the factor the file must upscale by (default: read from the weights)")
    imp.add_argument("--name", required=True)
    imp.add_argument("--task", help="the task recorded in the card (default: the task whose generator --arch "
                                    "is)")
    web = sub.add_parser("web", help="write a static web folder that runs the model in the browser")
    web.add_argument("name")
    web.add_argument("folder", type=Path)
    sub.add_parser("remove", help="delete a stored model").add_argument("name")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    store = ModelStore()
    if args.action == "list":
        return _list(store)
    if args.action == "info":
        return _info(store, args.name)
    if args.action == "pull":
        from ..deploy.resolve import pull
        from .translate import download_bar

        print(pull(args.name, store, args.mirror, progress=download_bar(sys.stderr.isatty())).path)
        return 0
    if args.action == "import":
        return _import(args, store)
    if args.action == "web":
        from ..app.web_folder import write_web_folder
        from ..deploy.resolve import resolve_model

        path, name = resolve_model(args.name, store)
        stored = store.get(name)
        write_web_folder(path, name, args.folder, stored.card if stored is not None else None)
        return 0
    if not store.remove(args.name):
        raise ConfigError(f"no stored model '{args.name}'{did_you_mean(args.name, store.names())}")
    print(f"removed {args.name}")
    return 0


def _import(args: argparse.Namespace, store: ModelStore) -> int:
    """``i2i models import``: check the flags against the architecture, then convert, check and store the file."""
    from ..deploy.export import export_reference
    from ..deploy.reference import is_sr_architecture
    from ..tasks import importing_tasks, task_for_architecture

    sr = is_sr_architecture(args.arch)
    if sr and args.norm not in (None, "none"):
        raise ConfigError(f"--norm {args.norm}: {args.arch} has no normalisation layers; leave --norm out")
    if not sr and args.norm is None:
        raise ConfigError(f"--norm is required for {args.arch} (batch for pix2pix's U-Nets, instance for CycleGAN's "
                          "ResNets)")
    if not sr and args.scale is not None:
        raise ConfigError(f"--scale applies to super-resolution generators (rrdbnet, srresnet), not {args.arch}")
    if args.task is not None and args.task not in importing_tasks():
        raise ConfigError(f"--task {args.task}: imported generators are recorded as one of "
                          f"{', '.join(importing_tasks())}{did_you_mean(args.task, importing_tasks())}")
    task = args.task or task_for_architecture(args.arch)
    card = {"source": str(args.file.resolve()), "licence": "as its source allows", "imported": True}
    export_reference(args.file, args.arch, args.norm or "none", args.name, card, task, store=store, scale=args.scale)
    return 0


def _list(store: ModelStore) -> int:
    names = store.names()
    print(f"stored in {store.models}:" if names else f"no models stored in {store.models} yet")
    for name in names:
        card = store.get(name).card  # type: ignore[union-attr]
        print(f"  {name:<28} {card.get('architecture', '?'):<16} {card.get('task', '?'):<9} "
              f"{card.get('precision', '?'):<5} {card.get('source', '')}")
    print("pretrained (fetched on first use, or with `i2i models pull NAME`; * = stored):")
    for name, entry in PRETRAINED.items():
        mark = "*" if name in names else " "
        print(f" {mark}{name:<28} {entry.architecture:<16} {entry.family}")
    return 0


def _info(store: ModelStore, name: str) -> int:
    stored = store.get(name)
    if stored is None:
        if name in PRETRAINED:
            entry = PRETRAINED[name]
            kind = f"x{entry.scale}" if entry.scale > 1 else f"{entry.norm} norm"
            print(f"{name}: pretrained {entry.family} {entry.architecture} ({kind}), not downloaded yet\n"
                  f"  source {entry.url()}\n  licence {entry.licence}")
            return 0
        known = [*store.names(), *PRETRAINED]
        raise ConfigError(f"unknown model '{name}'{did_you_mean(name, known)}")
    print(json.dumps({**stored.card, "file": str(stored.path)}, indent=2))
    return 0
