"""The local model store: named ONNX models with their cards, under I2I_HOME (default ~/.cache/i2i).

    $I2I_HOME/models/<name>/model.onnx   the generator, with i2i metadata
    $I2I_HOME/models/<name>/model.weights  its weights, for models over 16 MB (ONNX external data)
    $I2I_HOME/models/<name>/card.json    source, architecture, direction, sha256, licence, ...
    $I2I_HOME/downloads/                 partial and finished downloads of pretrained checkpoints

Large models are stored with their weights beside the graph because ONNX Runtime then maps them instead of
parsing them out of the protobuf: a 218 MB unet_256 opens in about half the time. The card's sha256 is that
of the self-contained file that was added.

A model folder is written under a temporary name and renamed into place, so a crash never leaves half a model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..fileio import sha256_of

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
SPLIT_ABOVE = 16 * 2**20  # bytes
WEIGHTS = "model.weights"
WEIGHTS_INLINE_UP_TO = 65536  # bytes: smaller tensors (biases, the statistics inputs' defaults) stay in the graph


def i2i_home() -> Path:
    return Path(os.environ.get("I2I_HOME", "~/.cache/i2i")).expanduser()


@dataclass(frozen=True)
class StoredModel:
    name: str
    path: Path  # the .onnx file
    card: dict[str, Any]


class ModelStore:
    """Named models in a folder; see the module docstring for the layout."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or i2i_home()
        self.models = self.root / "models"
        self.downloads = self.root / "downloads"

    def names(self) -> list[str]:
        if not self.models.is_dir():
            return []
        return sorted(p.name for p in self.models.iterdir() if (p / "model.onnx").is_file())

    def get(self, name: str) -> StoredModel | None:
        folder = self.models / name
        if not NAME.match(name) or not (folder / "model.onnx").is_file():
            return None
        try:
            card = json.loads((folder / "card.json").read_text())
        except (OSError, ValueError):
            card = {}
        return StoredModel(name, folder / "model.onnx", card)

    def add(self, name: str, onnx_file: Path, card: dict[str, Any]) -> StoredModel:
        """Store ``onnx_file`` as ``name``, replacing any model of that name.

        Small models are hard-linked (or copied); larger ones are split into graph and weights (see above).
        """
        if not NAME.match(name):
            raise ConfigError(f"'{name}' is not a valid model name (letters, digits, '_', '-', '.')")
        self.models.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=self.models))
        try:
            card = {**card, "name": name, "sha256": card.get("sha256") or sha256_of(onnx_file)}
            if onnx_file.stat().st_size > SPLIT_ABOVE:
                _save_split(onnx_file, staging / "model.onnx")
            else:
                try:
                    os.link(onnx_file, staging / "model.onnx")
                except OSError:
                    shutil.copyfile(onnx_file, staging / "model.onnx")
            (staging / "card.json").write_text(json.dumps(card, indent=2) + "\n")
            for file in staging.iterdir():
                with open(file, "rb") as f:
                    os.fsync(f.fileno())
            final = self.models / name
            old = self.models / f".{name}.old"
            if final.exists():
                shutil.rmtree(old, ignore_errors=True)
                os.replace(final, old)
            os.replace(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return StoredModel(name, final / "model.onnx", card)

    def remove(self, name: str) -> bool:
        folder = self.models / name
        if not NAME.match(name) or not folder.is_dir():
            return False
        shutil.rmtree(folder)
        return True


def _save_split(onnx_file: Path, target: Path) -> None:
    """Save the model in ``onnx_file`` as ``target`` with its large tensors in ``WEIGHTS`` beside it."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(onnx_file))
    except (DecodeError, ValueError) as e:
        raise ConfigError(f"{onnx_file}: not an ONNX model ({e})") from None
    onnx.save_model(model, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=WEIGHTS, size_threshold=WEIGHTS_INLINE_UP_TO)
