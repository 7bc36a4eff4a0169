"""Name -> builder registries, so networks and tasks are chosen by name in one place.

A registry holds exact names (``unet_256``) and families matched by a pattern (``unet_<size>``), the
way timm's ``create_model`` lets a config name any registered architecture.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import ConfigError, did_you_mean

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered builder and its tags (for example ``role='generator'``)."""

    name: str
    builder: Callable[..., T]
    tags: dict[str, Any] = field(default_factory=dict)
    pattern: re.Pattern[str] | None = None
    examples: tuple[str, ...] = ()

    def bind(self, name: str) -> dict[str, int]:
        """The integer arguments a family name carries (``unet_64`` -> ``{'size': 64}``)."""
        if self.pattern is None:
            return {}
        match = self.pattern.fullmatch(name)
        assert match is not None
        return {key: int(value) for key, value in match.groupdict().items()}


class Registry(Generic[T]):
    """Builders registered under a name; ``create(name, **kwargs)`` builds one."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._exact: dict[str, Entry[T]] = {}
        self._families: list[Entry[T]] = []

    def register(self, name: str, **tags: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register a builder under an exact name."""

        def add(builder: Callable[..., T]) -> Callable[..., T]:
            if name in self._exact:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._exact[name] = Entry(name, builder, tags)
            return builder

        return add

    def register_family(self, display: str, pattern: str, examples: tuple[str, ...] = (),
                        **tags: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register a builder for every name matching ``pattern`` (named int groups become kwargs).

        ``examples`` are listed by ``names()`` before the family's display name (``unet_<size>``).
        """

        def add(builder: Callable[..., T]) -> Callable[..., T]:
            self._families.append(Entry(display, builder, tags, re.compile(pattern), examples))
            return builder

        return add

    def entry(self, name: str) -> Entry[T]:
        """The entry for ``name``, or a ConfigError listing what exists."""
        if name in self._exact:
            return self._exact[name]
        for family in self._families:
            if family.pattern is not None and family.pattern.fullmatch(name):
                return family
        names = self.names()
        raise ConfigError(f"unknown {self.kind} '{name}'{did_you_mean(name, names)}; choose from: {', '.join(names)}")

    def create(self, name: str, **kwargs: Any) -> T:
        """Build ``name`` with ``kwargs``; unknown keyword arguments are a ConfigError."""
        entry = self.entry(name)
        unknown = set(kwargs) - set(self.accepted_kwargs(name)) if not _takes_var_kwargs(entry.builder) else set()
        if unknown:
            raise ConfigError(f"{self.kind} '{name}' does not take {', '.join(sorted(unknown))}")
        return entry.builder(**entry.bind(name), **kwargs)

    def accepted_kwargs(self, name: str) -> list[str]:
        """Keyword arguments the builder of ``name`` accepts (family arguments excluded)."""
        entry = self.entry(name)
        bound = entry.bind(name)
        params = inspect.signature(entry.builder).parameters
        return [p for p in params if p not in bound and params[p].kind is not inspect.Parameter.VAR_KEYWORD]

    def names(self, **tags: Any) -> list[str]:
        """Registered names (families shown as their display name), optionally filtered by tags."""
        entries = [*self._exact.values(), *self._families]
        chosen = [e for e in entries if all(e.tags.get(k) == v for k, v in tags.items())]
        return [name for e in chosen for name in (*e.examples, e.name)]

    def __contains__(self, name: str) -> bool:
        try:
            self.entry(name)
        except ConfigError:
            return False
        return True


def _takes_var_kwargs(fn: Callable[..., Any]) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(fn).parameters.values())


def import_submodules(package: str, path: list[str]) -> list[str]:
    """Import every module of ``package`` (its ``__path__``), so that the builders they register are found
    without a list to keep: a new network or method is one new file. Returns the module names, sorted."""
    names = sorted(info.name for info in pkgutil.iter_modules(path) if not info.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names
