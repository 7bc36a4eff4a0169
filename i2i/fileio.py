"""Atomic file writes: a reader sees the old file or the complete new one, never half of one.

A failed write (no permission, disk full, read-only file system) raises ``WriteError`` naming the file, and
leaves what was there untouched. Nothing here changes process-wide state (such as the umask) to do it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigError, WriteError


def write_error(path: str | os.PathLike[str], error: OSError) -> WriteError:
    """A one-line ``WriteError`` naming ``path`` for the OSError that stopped writing it."""
    reason = error.strerror or str(error) or type(error).__name__
    return WriteError(f"{os.fspath(path)}: cannot write ({reason})", error.errno, reason)


@contextlib.contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an OSError in the block into a one-line ``WriteError`` naming ``path``, the file being made."""
    try:
        yield
    except OSError as e:
        raise write_error(path, e) from e


def _fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a written file's data to the disk (before a rename makes it the real one)."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_temp_file(target: Path, suffix: str) -> Path:
    """Create an empty file beside ``target``, with the permissions open() would give a new file.

    The kernel applies the umask to the 0o666 asked for here, so the mode is right without reading the umask
    (which can only be read by setting it, a process-wide change that races with other threads). The name is
    ``.NAME.XXXXXXXX`` + suffix, 8 random characters as mkstemp makes them (engine/checkpoint.py clears such
    leftovers of killed runs).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{suffix}")
        try:
            os.close(os.open(tmp, flags, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", os.fspath(target.parent))


def _remove(path: Path) -> None:
    """Best-effort removal of a temporary file (its removal must not hide the error that led to it)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it over ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was. An OSError while creating,
    writing (in the block, errors about the temporary file itself), flushing or renaming it becomes a
    ``WriteError`` naming ``path``. ``suffix`` ends the temporary name (writers that choose a format by
    extension need the real one).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _new_temp_file(target, suffix)
    except OSError as e:
        raise write_error(target, e) from e
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException as e:
        _remove(tmp)
        about_tmp = isinstance(e, OSError) and e.filename in (None, os.fspath(tmp))
        if about_tmp and not isinstance(e, WriteError):
            raise write_error(target, e) from e
        raise
    sync_folder(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def sync_folder(folder: Path) -> None:
    """Make renames in ``folder`` durable (best effort: not every platform can fsync a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_writable(path: str | os.PathLike[str], option: str) -> None:
    """One-line ConfigError unless a file can be created beside ``path`` (in its nearest existing folder).

    Tried for real (a probe file, removed at once): permissions, read-only disks and full quotas all show.
    """
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"{option} {path}: is a folder; give a file name")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        raise ConfigError(f"{option} {path}: cannot write in {folder} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(probe)


OTHER_MACHINE_STALE_S = 24 * 3600  # a temporary file of another machine (shared disk) is left alone for a day


@functools.cache
def _host() -> str:
    """This machine's name as temporary file names carry it (letters, digits and '-')."""
    return re.sub(r"[^A-Za-z0-9]", "-", socket.gethostname()) or "host"


def owner_tag() -> str:
    """``HOST-PID`` for the names of temporary files: who is writing them, also on a disk shared by machines."""
    return f"{_host()}-{os.getpid()}"


def owner_gone(tag: str, path: Path) -> bool:
    """Whether the writer named by ``tag`` (``HOST-PID``, or a bare PID) has ended, so ``path`` is a leftover.

    On this machine: its process no longer runs. Another machine's process cannot be asked (a cluster's shared
    disk): its leftovers are removed once a day old.
    """
    host, _, pid = tag.rpartition("-")
    if not pid.isdigit():
        return False
    if host in ("", _host()):
        return not process_alive(int(pid))
    try:
        return time.time() - path.stat().st_mtime > OTHER_MACHINE_STALE_S
    except OSError:
        return False


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (True when unsure: it exists but is someone else's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


# --- several files replaced as one unit ----------------------------------------------------------------------
# The files are written into a hidden staging folder beside the first of them, ".<NAME>.<pid>.<random>.staging";
# a journal listing the renames is written (atomically) before the first rename: a process killed between two
# renames leaves a journal from which the next one to look completes them, so no reader is left with a mix.
STAGING_SUFFIX = ".staging"
JOURNAL = "replace.json"


def new_staging_folder(target: Path) -> Path:
    """A hidden folder beside ``target`` for files that will replace it (and its companions) together."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{owner_tag()}.", suffix=STAGING_SUFFIX, dir=target.parent))


def replace_together(stage: Path, moves: list[tuple[str, Path]]) -> None:
    """Rename the files ``stage/NAME`` onto their targets as one unit (see above), in the order given."""
    for name, _ in moves:  # the files' data is on disk before any rename can be (after a power loss)
        _fsync_file(stage / name)
    # absolute targets: whoever completes an interrupted replacement may run in another working directory
    atomic_write_text(stage / JOURNAL, json.dumps([[name, os.path.abspath(target)] for name, target in moves]))
    for name, target in moves:
        os.replace(stage / name, target)
    for folder in {target.parent for _, target in moves}:
        sync_folder(folder)


@contextlib.contextmanager
def staged_files(target: Path) -> Iterator[Path]:
    """A staging folder beside ``target`` (its folder made, the leftovers of killed writers there completed or
    removed first) for files that ``replace_together`` then puts in place as one unit; removed (or completed, see
    ``_close_stage``) when the block ends. Setting it up failing is a WriteError naming ``target``."""
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        finish_interrupted_replacements(target.parent)
        stage = new_staging_folder(target)
    try:
        yield stage
    finally:
        _close_stage(stage)


def _close_stage(stage: Path) -> None:
    """Remove a staging folder. One whose replacement had begun (its journal written) but stopped on an error
    between two renames is completed first; if that fails too, it stays for the next writer or reader to complete
    (``finish_interrupted_replacements``), never leaving the targets a mix of old and new."""
    if (stage / JOURNAL).is_file():
        try:
            _replay(stage)
        except (OSError, ValueError):
            return
    shutil.rmtree(stage, ignore_errors=True)


def _replay(stage: Path) -> None:
    """Make the renames of ``stage``'s journal that have not been made."""
    for staged, target in json.loads((stage / JOURNAL).read_text()):
        # a journal of an earlier version may hold a relative path: the targets are beside the stage
        destination = Path(target) if os.path.isabs(target) else stage.parent / Path(target).name
        if (stage / staged).exists():
            os.replace(stage / staged, destination)


def finish_interrupted_replacements(folder: Path) -> None:
    """Complete (or, without a journal, discard) the staging folders in ``folder`` of processes that no longer run.
    Best effort: a folder that cannot be written is left as it is."""
    for stage in folder.glob(f".*{STAGING_SUFFIX}"):
        owner = stage.name[: -len(STAGING_SUFFIX)].rsplit(".", 2)[-2]
        if not owner_gone(owner, stage):
            continue  # not one of ours, or its process is still writing
        with contextlib.suppress(OSError, ValueError):
            if (stage / JOURNAL).is_file():
                _replay(stage)
            shutil.rmtree(stage)
