"""Reading a ``.pth`` file a user gives (a reference generator, metric or VGG weights): tensors only, one-line errors.

``torch.load(weights_only=True)`` runs nothing from the file; when it refuses one, PyTorch's message is many lines of
advice to load it unsafely. ``torch_load`` says instead, on one line naming the file, what the file holds that it
would not load, or why it is not a PyTorch file at all. Every command that reads a ``.pth`` goes through it.
"""

from __future__ import annotations

import os
import re

import torch

from .errors import CheckpointError


def torch_load(path: str | os.PathLike[str], what: str = "PyTorch checkpoint") -> object:
    """What a ``.pth`` file holds, read as tensors and plain containers only; CheckpointError for anything else.

    ``what`` names the kind of file in the message ('PyTorch weights file', ...).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder, not a {what}") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    except Exception as e:  # the unpickler's errors vary with the bytes: KeyError for text, ValueError, zip errors...
        refused = _refused_objects(path, str(e))
        if refused:
            raise CheckpointError(f"{path}: holds code or objects other than tensors ({refused}); i2i reads only "
                                  "tensors from a .pth file and will not load this one") from None
        raise CheckpointError(f"{path}: not a loadable {what} ({_reason(e)})") from None


def _refused_objects(path: str | os.PathLike[str], message: str) -> str:
    """What a tensors-only load of ``path`` refused to import (e.g. 'posix.system'), or '' if it refused nothing.

    Asks torch which globals the file names when it can (zip checkpoints, torch 2.5+), else reads them from
    torch's error message; nothing in the file is run either way.
    """
    names: list[str] = []
    finder = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    if finder is not None:
        try:
            names = sorted(finder(os.fspath(path)))
        except Exception:  # not a zip checkpoint (the legacy format, or not a checkpoint at all)
            names = []
    if not names:
        names = re.findall(r"(?:GLOBAL|[Uu]nsupported class) ([A-Za-z_][\w.]*)", message)
    names = list(dict.fromkeys(names))
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def _reason(error: Exception) -> str:
    """One short line for why torch could not read a file: its specific cause, not its advice to load unsafely."""
    if isinstance(error, EOFError):
        return "the file ends early"
    if isinstance(error, (KeyError, IndexError, TypeError, AttributeError, OverflowError)):
        return "its bytes are not a pickle of tensors"  # the unpickler tripped over data that is not a pickle
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # terminal colour codes
    detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", message)
    if detail:
        message = detail.group(1)
    elif message.startswith("Weights only load failed"):
        message = "not a pickle of tensors"
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = lines[0] if lines else "no details"
    first = re.split(r"(?<=[a-z])\. (?=[A-Z])", first, maxsplit=1)[0]  # the first sentence: the cause, not advice
    return first[:160]
