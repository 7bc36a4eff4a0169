"""onnxruntime-web at a pinned version: the JavaScript and WebAssembly files that run a model in a browser.

The files come from the npm registry, from the package's published tarball checked against the sha512
``integrity`` pinned in ``ortweb.json`` beside this file; they are not kept in git (the wasm files are tens
of megabytes). ``make ort-web`` (part of ``make setup``) runs ``python -m i2i.app.ortweb``, which puts them in
``i2i/app/static/ort/`` with the licence; the app and ``--web`` exports copy them from there, so nothing is
ever loaded from another site. ``python -m i2i.app.ortweb --pin VERSION`` moves the pin to another release
(it asks the registry for that version's tarball and integrity, checks the download against it, and rewrites
``ortweb.json``). The registry is ``$npm_config_registry`` when set (npm's own setting), else npmjs.org.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import DownloadError, I2IError
from ..fileio import atomic_write_text

PIN = Path(__file__).resolve().parent / "ortweb.json"
FOLDER = Path(__file__).resolve().parent / "static" / "ort"
PACKAGE = "onnxruntime-web"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
# The plain build (SIMD + threads, the CPU) and the WebGPU build (which also runs on the CPU), each a module
# that loads its own wasm file; the page picks one.
FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
         "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm")
STAMP = "VERSION"
LICENCE = "LICENSE"
MIT = """MIT License

{copyright}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


class MissingRuntime(I2IError):
    """The onnxruntime-web files are not in the package (a clone where ``make ort-web`` has not run yet)."""


@dataclass(frozen=True)
class Pin:
    """The pinned release: its version and the sha512 integrity the registry publishes for its tarball."""

    version: str
    integrity: str  # "sha512-<base64>", as in `npm view onnxruntime-web@VERSION dist.integrity`

    @classmethod
    def read(cls, path: Path = PIN) -> Pin:
        data = json.loads(path.read_text())
        return cls(data["version"], data["integrity"])

    def write(self, path: Path = PIN) -> None:
        atomic_write_text(path, json.dumps({"package": PACKAGE, "version": self.version,
                                            "integrity": self.integrity}, indent=2) + "\n")


def registry() -> str:
    found = {k.lower(): v for k, v in os.environ.items()}.get("npm_config_registry")  # npm reads either case
    return (found or DEFAULT_REGISTRY).rstrip("/")


def tarball_url(version: str) -> str:
    return f"{registry()}/{PACKAGE}/-/{PACKAGE}-{version}.tgz"


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def installed_version(folder: Path = FOLDER) -> str | None:
    """The version whose files are all in ``folder``, or None."""
    try:
        version = (folder / STAMP).read_text().strip()
    except OSError:
        return None
    return version if all((folder / name).is_file() for name in (*FILES, LICENCE)) else None


def runtime_folder(folder: Path = FOLDER) -> Path:
    """The folder holding the pinned onnxruntime-web files; MissingRuntime (saying how to get them) if absent."""
    pin = Pin.read()
    have = installed_version(folder)
    if have != pin.version:
        state = f"version {have} is there" if have else "they are missing"
        raise MissingRuntime(f"{folder}: the onnxruntime-web {pin.version} files the browser needs are not there "
                             f"({state}): run `make ort-web` (or python -m i2i.app.ortweb)")
    return folder


def fetch(folder: Path = FOLDER, pin: Pin | None = None, say: Callable[[str], None] = print) -> Path:
    """Download the pinned tarball, check its integrity, and put the runtime files and licence in ``folder``.

    The folder is replaced whole (staged beside it, then renamed), so an interrupted fetch leaves the old one.
    """
    pin = pin or Pin.read()
    if installed_version(folder) == pin.version:
        return folder
    data = _get(tarball_url(pin.version), say)
    if integrity_of(data) != pin.integrity:
        raise DownloadError(f"{tarball_url(pin.version)}: its sha512 is not the pinned one in {PIN} (expected "
                            f"{pin.integrity[:24]}..., got {integrity_of(data)[:24]}...); nothing was changed")
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".ort.", dir=folder.parent))
    try:
        stage.chmod(0o755)  # mkdtemp's folder is private; web servers and other users must read it
        _unpack(data, stage, pin.version)
        old = folder.with_name(".ort.old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(stage, folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return folder


def pin_version(version: str, say: Callable[[str], None] = print) -> Pin:
    """Move the pin to ``version``: the registry's integrity for it, checked against the tarball itself."""
    url = f"{registry()}/{PACKAGE}/{version}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}),
                                    timeout=30) as response:
            meta = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DownloadError(f"{url}: cannot read the package's metadata ({getattr(e, 'reason', e)})") from None
    integrity = meta.get("dist", {}).get("integrity", "")
    if not integrity.startswith("sha512-"):
        raise DownloadError(f"{url}: the registry gives no sha512 integrity for {PACKAGE} {version}")
    pin = Pin(version, integrity)
    data = _get(tarball_url(version), say)
    if integrity_of(data) != integrity:
        raise DownloadError(f"{tarball_url(version)}: does not match the registry's integrity; pin not changed")
    with tempfile.TemporaryDirectory() as tmp:
        _unpack(data, Path(tmp), version)  # every file the page needs is in this release
    pin.write()
    return pin


def _get(url: str, say: Callable[[str], None]) -> bytes:
    say(f"downloading {url}")
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "i2i"}),
                                    timeout=60) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"{url}: download failed ({getattr(e, 'reason', e)}); the npm registry must be "
                            "reachable (or set npm_config_registry to a mirror)") from None


def _unpack(data: bytes, target: Path, version: str) -> None:
    """Extract ``FILES`` from the package's dist/ (regular files only, by exact name), and write the licence."""
    import io

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        package = json.load(_member(tar, "package/package.json"))
        if package.get("version") != version or package.get("license") != "MIT":
            raise DownloadError(f"{PACKAGE} {version}: unexpected package.json (version {package.get('version')}, "
                                f"licence {package.get('license')}); check the licence before pinning it")
        for name in FILES:
            (target / name).write_bytes(_member(tar, f"package/dist/{name}").read())
    header = (target / FILES[0]).read_text(encoding="utf-8", errors="replace")[:400]
    notice = next((line.strip(" *") for line in header.splitlines() if "Copyright" in line),
                  "Copyright (c) Microsoft Corporation.")
    (target / LICENCE).write_text(f"{PACKAGE} {version}, from the npm registry; its package.json gives the licence "
                                  f"as MIT.\n\n" + MIT.format(copyright=notice))
    (target / STAMP).write_text(version + "\n")


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        info = tar.getmember(name)
    except KeyError:
        raise DownloadError(f"{PACKAGE} tarball: has no {name}") from None
    if not info.isfile():
        raise DownloadError(f"{PACKAGE} tarball: {name} is not a regular file")
    handle = tar.extractfile(info)
    assert handle is not None
    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m i2i.app.ortweb", description="Fetch the pinned onnxruntime-web "
                                     "files into the package (or move the pin to another version).")
    parser.add_argument("--pin", metavar="VERSION", help="pin this onnxruntime-web version first (e.g. 1.31.1)")
    args = parser.parse_args(argv)
    try:
        if args.pin:
            pin = pin_version(args.pin)
            print(f"pinned {PACKAGE} {pin.version} ({pin.integrity[:30]}...) in {PIN}")
        folder = fetch()
    except I2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with contextlib.suppress(OSError):
        size = sum((folder / name).stat().st_size for name in FILES)
        print(f"{PACKAGE} {Pin.read().version}: {len(FILES)} files ({size / 1e6:.0f} MB) in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
