"""``i2i train``: train a method on a data folder, or continue a run with --resume."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from ..config import TrainConfig, apply_overrides
from ..errors import ConfigError
from ..tasks import TASKS, default_config, task_class
from .options import add_options, check_applicable, collect_options, given_changes, reject_unknown

EXAMPLES = """examples:
  i2i train pix2pix  --data ~/data/facades --direction BtoA --name facades
  i2i train cyclegan --data ~/data/horse2zebra --name h2z
  i2i train pix2pix  --data datasets/gnome-day2night --config small.yaml --max-steps 500
  i2i train --resume runs/facades                 # continue exactly where it stopped

Defaults are the papers' recipes. A --config YAML file has the sections of a run's config.yaml
(data, model, optim, run, method); flags given on the command line override it."""


def build_parser(prog: str = "i2i train") -> tuple[argparse.ArgumentParser, list[Any]]:
    tasks = TASKS.names()
    defaults = {t: default_config(t) for t in tasks}
    parser = argparse.ArgumentParser(prog=prog, description="Train an image-to-image translation model.",
                                     usage=f"{prog} [TASK] [--resume RUN_DIR] [--config FILE] [options]",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", nargs="?", choices=tasks, metavar="TASK",
                        help=f"the method: {', '.join(tasks)} (optional with --resume)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint")
    parser.add_argument("--config", metavar="FILE", help="YAML file of options (a run's config.yaml works)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    options = collect_options(defaults, {t: task_class(t).unused_options for t in tasks})
    add_options(parser, options, tasks)
    return parser, options


def load_yaml(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (data, model, optim, run, method)")
    return data


def config_from_args(task: str | None, config_file: str | None, changes: dict[str, dict[str, Any]],
                     options: list[Any]) -> TrainConfig:
    """Task defaults, then the YAML file, then the flags given."""
    file_data = load_yaml(config_file) if config_file else {}
    file_task = file_data.get("task")
    if task and file_task and file_task != task:
        raise ConfigError(f"{config_file}: is a {file_task} config, but the task given is {task}")
    task = task or file_task
    if not task:
        raise ConfigError(f"choose a task: i2i train {'|'.join(TASKS.names())} --data FOLDER (or --resume RUN_DIR)")
    config = default_config(task)
    if file_data:
        config = apply_overrides(config, {**file_data, "task": task}, str(config_file))
    check_applicable(changes, options, task)
    config = apply_overrides(config, changes, "command line")
    if not config.data.root:
        raise ConfigError("--data is required: the dataset folder")
    return config


def main(argv: list[str]) -> int:
    from ..training.trainer import resume, train

    parser, options = build_parser()
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    changes = given_changes(args, options)
    progress = False if args.no_progress else None
    if args.resume:
        if args.config:
            raise ConfigError("--config cannot be combined with --resume (the run keeps its own config)")
        result = resume(args.resume, changes, progress_bar=progress)
    else:
        result = train(config_from_args(args.task, args.config, changes, options), progress_bar=progress)
    return 128 + result.signal if result.interrupted else 0  # the shells' convention: 130 for Ctrl-C, 143 SIGTERM
