"""A static web folder that runs an exported model in the visitor's browser (`i2i export RUN --web DIR`,
`i2i models web NAME DIR`).

The folder holds the page (index.html and its scripts, shared with `i2i app`), the model (``model/``), a
``model.json`` describing it, and the pinned onnxruntime-web files with their licence (``ort/``): any static
host serves it (GitHub Pages, ``python -m http.server``), offline, with nothing fetched from elsewhere. It is
written beside DIR under a temporary name and renamed into place; an existing DIR is replaced only if it is an
earlier web folder, never a folder of other files. No torch.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ConfigError, ModelError
from ..fileio import sync_folder, write_error
from . import ortweb
from .catalog import CARD_FIELDS, TRANSLATE, WEB_LIMIT_BYTES, read_entry, too_big

STATIC = Path(__file__).resolve().parent / "static"
PAGE_FILES = {"web.html": "index.html", "web.js": "web.js", "style.css": "style.css", "ui.js": "ui.js",
              "ortrun.js": "ortrun.js", "view.js": "view.js"}
MARKER = "model.json"
README = """This folder runs the i2i model {name} in a web browser: serve it with any static web server and open it.

    python -m http.server --directory {folder} 8000     # then open http://localhost:8000/

Dropped images and the webcam are translated in the browser (onnxruntime-web {runtime}); nothing leaves the
visitor's machine and nothing is fetched from another site. Opening index.html as a file does not work (browsers
refuse scripts from file:// addresses); the webcam needs https or localhost.
WebAssembly threads need the host to send two headers (Cross-Origin-Opener-Policy: same-origin and
Cross-Origin-Embedder-Policy: require-corp); without them (python -m http.server, GitHub Pages) the model runs
on one thread. ort/LICENSE is onnxruntime-web's licence.
"""


def write_web_folder(model_path: Path, name: str, out: Path, card: dict[str, Any] | None = None,
                     say: Callable[[str], None] = print) -> Path:
    """Write the web folder for the image-to-image model ``model_path`` into ``out``; returns ``out``."""
    entry = read_entry(name, model_path, card)
    if entry.kind != TRANSLATE:
        raise ModelError(f"{model_path}: generates images from noise; a web folder runs image-to-image models (the "
                         "Sample page of `i2i app` draws from it)")
    if entry.bytes > WEB_LIMIT_BYTES:
        raise ModelError(f"{model_path}: {too_big(entry.bytes)}")
    runtime = ortweb.runtime_folder()
    version = ortweb.Pin.read().version
    out = Path(out)
    check_target(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as e:
        raise write_error(out, e) from None
    try:
        stage.chmod(0o755)
        for source, target in PAGE_FILES.items():
            shutil.copyfile(STATIC / source, stage / target)
        (stage / "model").mkdir()
        for file_name, path in entry.files.items():
            shutil.copyfile(path, stage / "model" / file_name)
        (stage / "ort").mkdir()
        for file_name in (*ortweb.FILES, ortweb.LICENCE):
            shutil.copyfile(runtime / file_name, stage / "ort" / file_name)
        about = {"name": name, "meta": entry.meta, "card": {k: entry.card[k] for k in CARD_FIELDS if k in entry.card},
                 "bytes": entry.bytes, "graph": f"model/{entry.path.name}",
                 "files": [f"model/{f}" for f in entry.files], "runtime": version, "i2i_version": __version__}
        (stage / MARKER).write_text(json.dumps(about, indent=2) + "\n")
        (stage / "README.txt").write_text(README.format(name=name, folder=out, runtime=version))
        _replace(stage, out)
    except OSError as e:
        shutil.rmtree(stage, ignore_errors=True)
        raise write_error(out, e) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    say(f"{out}/: {name} in the browser ({entry.bytes / 1e6:.1f} MB model, {size / 1e6:.0f} MB in all); try it with "
        f"python -m http.server --directory {out} 8000")
    return out


def check_target(out: Path) -> None:
    """Refuse to replace anything but an empty folder or an earlier web folder."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--web {out}: is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ConfigError(f"--web {out}: the folder has other files in it; give a new or empty folder (an earlier "
                          "web folder is replaced)")


def check_web_target(out: Path) -> None:
    """What `i2i export --web` checks before exporting: the runtime files are there, ``out`` may be written."""
    ortweb.runtime_folder()
    check_target(out)


def web_folder_of_export(exported: list[Any], out: Path, say: Callable[[str], None] = print) -> Path:
    """The web folder of an export's files (fp32 first, then its variants): the fp32 model when it fits the
    browser's practical size, else the int8 variant when there is one; ModelError saying what to do otherwise."""
    fp32 = exported[0]
    chosen = fp32 if fp32.card.get("bytes", 0) <= WEB_LIMIT_BYTES else next(
        (e for e in exported if e.card.get("precision") == "int8" and e.card.get("bytes", 0) <= WEB_LIMIT_BYTES), None)
    if chosen is None:
        raise ModelError(f"--web: {fp32.path} is written, but {too_big(fp32.card.get('bytes', 0))}")
    return write_web_folder(chosen.path, chosen.name, out, chosen.card, say)


def _replace(stage: Path, out: Path) -> None:
    """Move ``stage`` to ``out``; an earlier folder there is moved aside first and deleted once the new one is in."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        os.replace(out, old / out.name)
    try:
        os.replace(stage, out)
    except BaseException:
        if old is not None and not out.exists():
            os.replace(old / out.name, out)
        raise
    sync_folder(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
