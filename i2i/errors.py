"""Errors a user can act on. The CLI prints their message on one line, without a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class I2IError(Exception):
    """Base class: a problem with the user's input, data, configuration or files, not a bug in i2i."""


class ConfigError(I2IError):
    """An option, config file or combination of options that cannot work."""


class DataError(I2IError):
    """A dataset folder or image file that cannot be used."""


class CheckpointError(I2IError):
    """A checkpoint or run folder that is missing, corrupt or of the wrong kind."""


class DownloadError(I2IError):
    """A download that failed; what was received is kept for the next attempt."""


class ModelError(I2IError):
    """A model file that cannot be loaded or run as an i2i generator."""


class SourceError(I2IError):
    """A frame source that cannot be opened."""


class DisplayError(I2IError):
    """No window can be shown here."""


class WriteError(I2IError, OSError):
    """A file that could not be written (no permission, disk full, read-only file system); what was there is kept.

    Also an ``OSError`` (with the original ``errno``), so code that handles I/O errors keeps handling it.
    """

    def __init__(self, message: str, errno: int | None = None, strerror: str | None = None) -> None:
        super().__init__(message)
        self.errno, self.strerror = errno, strerror  # the system's reason, e.g. 'No space left on device'

    def __str__(self) -> str:
        return str(self.args[0])


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean X?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""

