"""Downloads that resume: bytes go to ``<file>.part`` and an interrupted download continues where it stopped.

The first response's validators (ETag, Last-Modified) and size are kept beside the partial file in
``<file>.part.json``; a resumed request sends them as ``If-Range``, so a file that changed on the server is
fetched again from the start instead of being spliced onto the old bytes. The finished file is checked against
an expected SHA-256 when one is known, fsynced and renamed into place.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.client import HTTPException
from pathlib import Path
from typing import Any

from ..errors import DownloadError
from ..fileio import atomic_write_text, sha256_of

CHUNK = 1 << 20
TIMEOUT = 30.0  # seconds to connect, and then without a byte arriving, before a server counts as stalled


class _Restart(OSError):
    """The partial file does not belong to the file the server has now: it was removed, fetch from the start."""


def download(url: str, dest: Path, sha256: str = "", attempts: int = 3, timeout: float = TIMEOUT,
             progress: Callable[[int, int | None], None] | None = None,
             say: Callable[[str], None] | None = None) -> str:
    """Fetch ``url`` into ``dest`` (resuming a partial ``.part`` file) and return the file's SHA-256.

    ``progress(done_bytes, total_bytes_or_None)`` is called as data arrives; ``say`` gets a line when connecting
    and before a retry. A server that accepts nothing or sends nothing for ``timeout`` seconds is a one-line
    DownloadError at once; a connection that drops after data arrived is retried (``attempts`` in all).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    meta = dest.with_name(dest.name + ".part.json")
    host = urllib.parse.urlsplit(url).netloc or url
    last_error = ""
    for attempt in range(1, attempts + 1):
        if say:
            say(f"connecting to {host} ..." if attempt == 1 else f"retrying ({attempt} of {attempts}) ...")
        received = [0]
        try:
            _fetch(url, part, meta, timeout, progress, received)
            break
        except urllib.error.HTTPError as e:
            raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, HTTPException, OSError) as e:
            reason = getattr(e, "reason", None) or e
            if isinstance(reason, TimeoutError) and not received[0]:
                raise DownloadError(f"{url}: no answer from {host} in {timeout:g} s{_kept(part)}; check the address "
                                    "and the connection, or download from a mirror (--mirror)") from None
            last_error = str(reason) or type(reason).__name__
    else:
        raise DownloadError(f"{url}: download failed after {attempts} attempts ({last_error}){_kept(part)}")
    digest = sha256_of(part)
    meta.unlink(missing_ok=True)
    if sha256 and digest != sha256:
        part.unlink()
        raise DownloadError(f"{url}: checksum mismatch (expected {sha256[:12]}..., got {digest[:12]}...); "
                            "the partial file was deleted")
    with open(part, "rb") as f:
        os.fsync(f.fileno())
    os.replace(part, dest)
    return digest


def _kept(part: Path) -> str:
    """'; N MB kept in PART, run again to resume', or '' when nothing was received."""
    size = part.stat().st_size if part.is_file() else 0
    if not size:
        return ""
    shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"
    return f"; {shown} kept in {part}, run again to resume"


def _read_meta(meta: Path) -> dict[str, Any]:
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _validator(known: dict[str, Any]) -> str | None:
    """What If-Range may carry: a strong ETag (weak ones are not allowed there), else the Last-Modified date."""
    etag = known.get("etag")
    if isinstance(etag, str) and etag and not etag.startswith("W/"):
        return etag
    modified = known.get("last_modified")
    return modified if isinstance(modified, str) and modified else None


def _restart(part: Path, meta: Path, why: str) -> _Restart:
    part.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)
    return _Restart(why)


def _fetch(url: str, part: Path, meta: Path, timeout: float, progress: Callable[[int, int | None], None] | None,
           received: list[int]) -> None:
    """One request: resume ``part`` when the server still has the same file, else write it from the start."""
    start = part.stat().st_size if part.exists() else 0
    known = _read_meta(meta) if start else {}
    if start and known.get("url", url) != url:  # a partial file of another address: its bytes cannot be trusted
        start = 0
    headers = {"User-Agent": "i2i"}
    if start:
        headers["Range"] = f"bytes={start}-"
        if validator := _validator(known):
            headers["If-Range"] = validator
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # nothing left to send: the part file is complete, unless the file shrank
            if known.get("total") in (None, start):
                return
            raise _restart(part, meta, "the file on the server changed; starting again") from None
        raise
    with response:
        if start and response.status != 206:  # the server ignored the range, or the file changed (If-Range)
            start = 0
        length = response.headers.get("Content-Length")
        if start:
            total = _range_total(response.headers.get("Content-Range"))
            if total is not None and known.get("total") not in (None, total):  # a server that ignores If-Range
                raise _restart(part, meta, "the file on the server changed; starting again")
        total = start + int(length) if length is not None else None
        if not start:
            atomic_write_text(meta, json.dumps({"url": url, "etag": response.headers.get("ETag"),
                                                "last_modified": response.headers.get("Last-Modified"),
                                                "total": total}) + "\n")
        done = start
        with open(part, "ab" if start else "wb") as f:
            while block := response.read(CHUNK):
                f.write(block)
                done += len(block)
                received[0] += len(block)
                if progress:
                    progress(done, total)
        if total is not None and done < total:
            raise OSError(f"connection closed after {done} of {total} bytes")


def _range_total(content_range: str | None) -> int | None:
    """The full size in a ``Content-Range: bytes A-B/SIZE`` header, when given."""
    if not content_range or "/" not in content_range:
        return None
    size = content_range.rsplit("/", 1)[1].strip()
    return int(size) if size.isdigit() else None
