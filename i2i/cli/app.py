"""``i2i app``: the local web application (translate, sample, live webcam, runs). Needs ``pip install "i2i[app]"``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import reject_unknown

EXAMPLES = """examples:
  i2i app                                   # http://127.0.0.1:7860/ : every stored model, the runs in runs/
  i2i app --models demo,day2night --folder photos/
  i2i app --host 0.0.0.0 --port 8080        # reachable from other machines: prints the address with its token
  ssh -L 7860:localhost:7860 gpu-box 'i2i app'    # a GPU server from your laptop's browser (webcam included)

Pages: Translate / upscale (drop images, before/after, download all as zip), Sample (generators from noise),
Live (the browser's webcam through a model, in the browser or on the server), Runs (sample grids, reports).
Beyond 127.0.0.1 every request needs the token (printed in the address; or give --token). Stop with Ctrl-C."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="i2i app", description="Serve i2i's web application.", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine "
                                                            "only; 0.0.0.0 for every interface, with a token)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: 7860; 0: any free port)")
    parser.add_argument("--models", metavar="NAME,...", help="offer only these models: stored or pretrained names, "
                                                             "or .onnx files (default: every stored model)")
    parser.add_argument("--runs", type=Path, default=Path("runs"), metavar="DIR",
                        help="the folder of training runs for the Runs page (default: runs)")
    parser.add_argument("--folder", type=Path, metavar="DIR", help="images the Translate page can pick from")
    parser.add_argument("--token", help="the token requests must carry (default: none on 127.0.0.1, a new random "
                                        "one otherwise)")
    parser.add_argument("--max-upload-mb", type=float, default=50.0, metavar="MB",
                        help="largest accepted upload (default: 50)")
    parser.add_argument("--max-pixels", type=int, default=40_000_000, metavar="N",
                        help="refuse images with more pixels (decompression bombs; default: 40 million)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="ONNX Runtime device for the server's work (default: CUDA when onnxruntime-gpu sees one)")
    parser.add_argument("--workers", type=int, default=1,
                        help="images or live frames translated at once, each on every core (default: 1)")
    parser.add_argument("--max-live", type=int, default=8, help="live webcam clients served at once (default: 8)")
    parser.add_argument("--ssl-certfile", type=Path, metavar="FILE", help="serve https with this certificate")
    parser.add_argument("--ssl-keyfile", type=Path, metavar="FILE", help="... and this key")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    try:
        from ..app.server import AppSettings, serve
    except ImportError as e:
        from ..errors import I2IError

        raise I2IError(f"i2i app needs the app extra ({e.name} is missing): pip install 'i2i[app]'") from None
    models = [name for name in args.models.split(",") if name] if args.models else None
    settings = AppSettings(host=args.host, port=args.port, models=models, runs=args.runs, folder=args.folder,
                           token=args.token, max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels,
                           device=args.device, workers=args.workers, max_live=args.max_live,
                           ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)
    serve(settings)
    return 0
