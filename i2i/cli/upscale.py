"""``i2i upscale``: super-resolve images, folders or globs with a named or exported SR model. Imports no torch."""

from __future__ import annotations

from .translate import run


def main(argv: list[str]) -> int:
    return run(argv, upscale=True)
