"""Downloads that resume: bytes go to ``<file>.part`` and an interrupted download continues where it stopped.

The finished file is checked against an expected SHA-256 when one is known, fsynced and renamed into place.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Callable
from http.client import HTTPException
from pathlib import Path

from ..errors import DownloadError
from ..fileio import sha256_of

CHUNK = 1 << 20


def download(url: str, dest: Path, sha256: str = "", attempts: int = 3, timeout: float = 60.0,
             progress: Callable[[int, int | None], None] | None = None) -> str:
    """Fetch ``url`` into ``dest`` (resuming a partial ``.part`` file) and return the file's SHA-256.

    ``progress(done_bytes, total_bytes_or_None)`` is called as data arrives.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last_error = ""
    for _ in range(attempts):
        try:
            _fetch(url, part, timeout, progress)
            break
        except (urllib.error.URLError, HTTPException, OSError, TimeoutError) as e:
            if isinstance(e, urllib.error.HTTPError) and e.code != 416:
                raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
            reason = getattr(e, "reason", None) or e
            last_error = str(reason)
    else:
        got = part.stat().st_size if part.exists() else 0
        raise DownloadError(f"{url}: download failed after {attempts} attempts ({last_error}); "
                            f"{got / 1e6:.1f} MB kept in {part}, run again to resume")
    digest = sha256_of(part)
    if sha256 and digest != sha256:
        part.unlink()
        raise DownloadError(f"{url}: checksum mismatch (expected {sha256[:12]}..., got {digest[:12]}...); "
                            "the partial file was deleted")
    with open(part, "rb") as f:
        os.fsync(f.fileno())
    os.replace(part, dest)
    return digest


def _fetch(url: str, part: Path, timeout: float, progress: Callable[[int, int | None], None] | None) -> None:
    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "i2i", **({"Range": f"bytes={start}-"} if start else {})}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # nothing left to send: the part file is complete
            return
        raise
    with response:
        if start and response.status != 206:  # the server ignored the range: start over
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        done = start
        with open(part, "ab" if start else "wb") as f:
            while block := response.read(CHUNK):
                f.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
        if total is not None and done < total:
            raise OSError(f"connection closed after {done} of {total} bytes")
