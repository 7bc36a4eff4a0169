"""Command-line options generated from the config dataclasses: one flag per field, with its default.

A flag set on the command line becomes a change to one field of one section; flags that are not given
leave the config (task defaults, then the --config file) as it is.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from ..config import SECTIONS, TrainConfig, coerce, field_choices, flag_of, range_text
from ..errors import ConfigError, did_you_mean

SECTION_TITLES = {"data": "data", "model": "networks", "optim": "optimisation", "run": "run",
                  "method": "method options"}


@dataclass
class Option:
    """One flag: the field it sets and its default under each task."""

    flag: str
    section: str
    name: str
    kind: Any
    help: str
    choices: tuple[Any, ...] | None
    metavar: str | None
    defaults: dict[str, Any]  # task -> default, for the tasks that have this option
    helps: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # help text -> the tasks it is theirs

    @property
    def help_text(self) -> str:
        """The help, or each task's own when the tasks sharing the flag describe it differently."""
        if len(self.helps) <= 1:
            return self.help
        return "; ".join(f"{', '.join(tasks)}: {text}" for text, tasks in self.helps.items())

    @property
    def dest(self) -> str:
        return f"{self.section}.{self.name}"


def collect_options(defaults: dict[str, TrainConfig], unused: dict[str, frozenset[str]] | None = None) -> list[Option]:
    """Every option of every task's config, merged by flag (method options can be shared); ``unused`` names, per
    task, the options ("section.field") that task does not use, which are left out for it."""
    options: dict[str, Option] = {}
    for task, config in defaults.items():
        skip = (unused or {}).get(task, frozenset())
        for section in SECTIONS:
            obj = getattr(config, section)
            hints = typing.get_type_hints(type(obj))
            for f in dataclasses.fields(obj):
                if f"{section}.{f.name}" in skip:
                    continue
                flag = flag_of(f)
                bounds = range_text(f)
                help_text = f.metadata.get("help", "") + (f"; {bounds}" if bounds else "")
                if flag not in options:
                    options[flag] = Option(flag, section, f.name, hints[f.name], help_text,
                                           field_choices(type(obj), f.name), f.metadata.get("metavar"), {})
                elif options[flag].choices and hints[f.name] != options[flag].kind:
                    _widen_choices(options[flag], field_choices(type(obj), f.name) or ())
                options[flag].defaults[task] = getattr(obj, f.name)
                options[flag].helps.setdefault(help_text, []).append(task)
    return list(options.values())


def _widen_choices(option: Option, choices: tuple[Any, ...]) -> None:
    """A flag shared by tasks whose choices differ (``--gan-mode``: dcgan adds wgan) accepts the union on the
    command line; the chosen task's own config then refuses a value it does not have, in one line."""
    merged = (*option.choices, *(c for c in choices if c not in option.choices))  # type: ignore[misc]
    option.choices = merged
    if typing.get_origin(option.kind) is typing.Literal:
        option.kind = typing.Literal[merged]  # type: ignore[valid-type]


def _default_text(option: Option, tasks: list[str]) -> str:
    values = option.defaults
    if len(set(map(repr, values.values()))) == 1:
        shown = next(iter(values.values()))
        text = f"default: {_show(shown)}"
    else:
        text = "default: " + "; ".join(f"{t} {_show(v)}" for t, v in values.items())
    if len(values) < len(tasks):
        text = f"{', '.join(values)} only; {text}"
    return text


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == "":
        return "unset"
    return str(value)


def add_options(parser: argparse.ArgumentParser, options: list[Option], tasks: list[str]) -> None:
    """Add every option, grouped by section, with ``default=SUPPRESS`` so only given flags are parsed."""
    groups = {s: parser.add_argument_group(f"{SECTION_TITLES[s]} options") for s in SECTIONS}
    for option in options:
        help_text = f"{option.help_text} ({_default_text(option, tasks)})".replace("%", "%%")
        kwargs: dict[str, Any] = {"dest": option.dest, "default": argparse.SUPPRESS, "help": help_text}
        if option.kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = _parser_for(option)
            if option.choices:
                kwargs["choices"] = option.choices
                kwargs["metavar"] = "{" + ",".join(map(str, option.choices)) + "}"
            else:
                kwargs["metavar"] = option.metavar or ("X" if _base_type(option.kind) is float else "N")
        groups[option.section].add_argument(option.flag, **kwargs)


def _base_type(kind: Any) -> Any:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if args else kind


def _parser_for(option: Option) -> Any:
    def parse(text: str) -> Any:
        try:
            return coerce(text, option.kind, option.flag)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e).split(": ", 1)[-1]) from None

    return parse


def given_changes(namespace: argparse.Namespace, options: list[Option]) -> dict[str, dict[str, Any]]:
    """The flags that were given, as {section: {field: value}}."""
    changes: dict[str, dict[str, Any]] = {}
    for option in options:
        if hasattr(namespace, option.dest):
            changes.setdefault(option.section, {})[option.name] = getattr(namespace, option.dest)
    return changes


def check_applicable(changes: dict[str, dict[str, Any]], options: list[Option], task: str) -> None:
    """Raise ConfigError for a given flag that the chosen task does not have."""
    for option in options:
        if option.name in changes.get(option.section, {}) and task not in option.defaults:
            raise ConfigError(f"{option.flag} does not apply to {task} (it is a {', '.join(option.defaults)} option)")


def reject_unknown(extras: list[str], parser: argparse.ArgumentParser) -> None:
    """Turn leftover arguments into one clear error, suggesting the closest flag."""
    if not extras:
        return
    flags = [s for action in parser._actions for s in action.option_strings]
    word = extras[0]
    if word.startswith("-"):
        raise ConfigError(f"unknown option {word.split('=')[0]}{did_you_mean(word.split('=')[0], flags)}")
    raise ConfigError(f"unexpected argument '{word}'")
