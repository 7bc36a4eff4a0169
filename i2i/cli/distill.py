"""``i2i distill``: train a compact student generator to imitate a trained one (the ``distill`` task)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..tasks import default_config, task_class
from .options import add_options, collect_options, given_changes, reject_unknown

TASK = "distill"
# the positional TEACHER_RUN, and what a student must share with its teacher
FROM_TEACHER = ("method.teacher", "data.direction", "data.input_nc", "data.output_nc")
EXAMPLES = """examples:
  i2i distill runs/h2z --which G_A --name h2z-student            # CycleGAN's G_A into mobile_resnet_9blocks, ngf 16
  i2i distill runs/day2night-cut --student mobile_resnet_6blocks --ngf 24 --name small
  i2i distill runs/facades --data ~/data/facades --vgg-weights vgg19-dcbb9e9d.pth --name facades-student
  i2i train --resume runs/h2z-student                            # continue exactly where it stopped
  i2i export runs/h2z-student --batch-norm-stats running         # fold the student's batch norms

The student reads the teacher's data (or --data) as the teacher did: same layout, direction, channels and sizes.
Losses: L1 to the teacher's output (x10), a GAN loss against real images of the output domain (x1), its features
mapped by learned 1x1 convolutions onto the teacher's (x0.01, ResNet teachers), and pix2pixHD's VGG loss when
--vgg-weights is given. The teacher's run must stay readable while the student trains."""


def build_parser() -> tuple[argparse.ArgumentParser, list]:
    from ..tasks.distill import INHERITED_DATA

    options = [o for o in collect_options({TASK: default_config(TASK)}, {TASK: task_class(TASK).unused_options})
               if o.dest not in FROM_TEACHER]
    for option in options:
        if option.section == "data" and option.name in INHERITED_DATA:
            option.defaults[TASK] = "the teacher's"
    parser = argparse.ArgumentParser(prog="i2i distill", description="Distil a trained generator into a compact "
                                     "student (GAN Compression).", epilog=EXAMPLES,
                                     usage="i2i distill TEACHER_RUN [--student NAME] [--ngf N] [--which G] [--data "
                                           "FOLDER] [--name NAME] [options]",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("teacher", metavar="TEACHER_RUN", help="the teacher's run folder or checkpoint")
    parser.add_argument("--student", dest="model.net_g", default=argparse.SUPPRESS, metavar="NAME",
                        help="the student's architecture (the same as --netG; default: mobile_resnet_9blocks)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    add_options(parser, options, [TASK])
    return parser, options


def run_name(teacher: Path) -> str:
    """The teacher's run name: its folder's, or that of the run a checkpoint file belongs to."""
    path = teacher.expanduser().resolve()
    if path.is_file():
        return path.parent.parent.name if path.parent.name == "checkpoints" else path.stem
    return path.name


def main(argv: list[str]) -> int:
    from ..tasks.distill import distill_config
    from ..training.trainer import train

    parser, options = build_parser()
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    changes = given_changes(args, options)  # --student and --netG set the same field
    changes.setdefault("run", {}).setdefault("name", f"{run_name(Path(args.teacher))}-student")
    result = train(distill_config(args.teacher, changes), progress_bar=False if args.no_progress else None)
    return 130 if result.interrupted else 0
