"""``i2i export``: a trained generator to ONNX, checked against PyTorch, registered by name."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import reject_unknown

EXAMPLES = """examples:
  i2i export runs/facades                        # -> export/facades.onnx (+ facades.json), registered as 'facades'
  i2i export runs/h2z --which G_B                # CycleGAN's second generator -> export/h2z_G_B.onnx
  i2i export runs/facades --int8 --fp16          # also facades.int8.onnx (calibrated on the run's images), fp16
  i2i export runs/demo --web site/               # also a static folder that runs it in the browser (no server)
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="i2i export", description="Export a trained generator to ONNX.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", metavar="RUN_DIR|CHECKPOINT", help="a run folder or a .safetensors checkpoint")
    parser.add_argument("--which", help="the generator to export (default: the run's first: G for pix2pix, "
                                        "G_A for CycleGAN)")
    parser.add_argument("--out", metavar="PATH", help="the .onnx file to write (default: export/NAME.onnx)")
    parser.add_argument("--name", help="registry name (default: the run's name, plus _G_B for the second generator)")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset (default: 18)")
    parser.add_argument("--fp16", action="store_true", help="also write a half-precision model (for GPUs)")
    parser.add_argument("--int8", action="store_true", help="also write an int8 model, calibrated on real images")
    parser.add_argument("--calibration", metavar="FOLDER",
                        help="images to calibrate --int8 on (default: the run's validation or training images)")
    parser.add_argument("--batch-norm-stats", choices=("batch", "running"),
                        help="batch norm at test time: each image's own statistics, as the reference's test mode, or "
                             "the running averages from training (default: as the method validates: 'batch' for "
                             "the translation GANs, 'running' for distilled students and SRResNet)")
    parser.add_argument("--web", metavar="DIR", help="also write a static web folder that runs the model in the "
                                                     "browser (the fp32 file, or the int8 one when fp32 is over "
                                                     "100 MB)")
    parser.add_argument("--no-register", action="store_true", help="write the files only, do not add them to I2I_HOME")
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    from ..deploy.export import export_run

    if args.web:  # before the export: a missing runtime or a folder that cannot be replaced is one line at once
        from ..app.web_folder import check_web_target

        check_web_target(Path(args.web))
    written = export_run(args.source, args.which, args.out, args.name, args.opset, args.fp16, args.int8,
                         args.batch_norm_stats, args.calibration, register=not args.no_register)
    if args.web:
        from ..app.web_folder import web_folder_of_export

        web_folder_of_export(written, Path(args.web))
    return 0
