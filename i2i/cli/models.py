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
    imp = sub.add_parser("import", help="convert a reference *_net_G.pth generator and store it")
    imp.add_argument("file", type=Path)
    imp.add_argument("--arch", required=True, help="unet_256, unet_128, resnet_9blocks, resnet_6blocks, ...")
    imp.add_argument("--norm", required=True, choices=("batch", "instance", "none"))
    imp.add_argument("--name", required=True)
    imp.add_argument("--task", choices=("pix2pix", "cyclegan"), help="recorded in the card (default: from --arch)")
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
        from ..hub.resolve import pull
        from .translate import download_bar

        print(pull(args.name, store, args.mirror, progress=download_bar(sys.stderr.isatty())).path)
        return 0
    if args.action == "import":
        from ..deploy.export import export_reference

        task = args.task or ("pix2pix" if args.arch.startswith("unet") else "cyclegan")
        card = {"source": str(args.file.resolve()), "licence": "as its source allows", "imported": True}
        export_reference(args.file, args.arch, args.norm, args.name, card, task, store=store)
        return 0
    if not store.remove(args.name):
        raise ConfigError(f"no stored model '{args.name}'{did_you_mean(args.name, store.names())}")
    print(f"removed {args.name}")
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
            print(f"{name}: pretrained {entry.family} {entry.architecture} ({entry.norm} norm), not downloaded yet\n"
                  f"  source {entry.url()}")
            return 0
        known = [*store.names(), *PRETRAINED]
        raise ConfigError(f"unknown model '{name}'{did_you_mean(name, known)}")
    print(json.dumps({**stored.card, "file": str(stored.path)}, indent=2))
    return 0
