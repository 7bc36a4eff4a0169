"""Atomic writes: failures are one-line errors naming the file, the old file survives, no process-wide side effects."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from i2i.errors import I2IError, WriteError
from i2i.fileio import atomic_path, atomic_write_bytes, atomic_write_text

FAILURES = [errno.ENOSPC, errno.EROFS, errno.EACCES]


def fail_after_half(code: int) -> Callable[[Path, bytes], int]:
    """A ``Path.write_bytes`` that writes half of the data, then fails as the system would with ``code``."""
    real = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        real(self, data[: len(data) // 2])
        raise OSError(code, os.strerror(code))

    return write_bytes


@pytest.mark.parametrize("code", FAILURES)
def test_a_failed_write_names_the_file_and_keeps_the_old_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             code: int) -> None:
    target = tmp_path / "card.json"
    target.write_bytes(b"the earlier file")
    monkeypatch.setattr(Path, "write_bytes", fail_after_half(code))
    with pytest.raises(WriteError) as failed:
        atomic_write_bytes(target, b"x" * 100_000)
    assert str(failed.value) == f"{target}: cannot write ({os.strerror(code)})"
    assert isinstance(failed.value, I2IError) and isinstance(failed.value, OSError) and failed.value.errno == code
    monkeypatch.undo()
    assert target.read_bytes() == b"the earlier file"
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]  # the half-written temporary file is gone


def test_a_full_disk_at_flush_time_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Some file systems report ENOSPC only when the data is flushed (fsync), after every write() succeeded."""
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match=r"a\.txt: cannot write \(No space left on device\)$"):
        atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_errors_about_other_files_pass_through(tmp_path: Path) -> None:
    """Only failures writing the file itself become WriteError; the block's other errors are its own."""
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "out.bin") as tmp:
        tmp.write_bytes((tmp_path / "missing-source").read_bytes())
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "a.txt").write_text("old")
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(WriteError, match=r"ro/a\.txt: cannot write \(Permission denied\)$"):
            atomic_write_text(folder / "a.txt", "new")
        with pytest.raises(WriteError, match=r"ro/sub/b\.txt: cannot write \(Permission denied\)$"):
            atomic_write_text(folder / "sub" / "b.txt", "new")  # the folder it would create
    finally:
        folder.chmod(stat.S_IRWXU)
    assert (folder / "a.txt").read_text() == "old" and [p.name for p in folder.iterdir()] == ["a.txt"]


def test_new_files_get_the_umask_mode_without_the_umask_being_touched(tmp_path: Path) -> None:
    """A library may not flip the process umask (other threads create files meanwhile), not even at import."""
    script = f"""
import os, stat
os.umask(0o027)
calls = []
real = os.umask
os.umask = lambda mask: calls.append(mask) or real(mask)
from i2i.fileio import atomic_write_text
atomic_write_text({str(tmp_path / "f.txt")!r}, "x")
os.umask = real
print(oct(stat.S_IMODE(os.stat({str(tmp_path / "f.txt")!r}).st_mode)), calls, oct(real(0o022)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0o640", "[]", "0o27"]  # open()'s mode for a new file; umask never called
