"""The local model store: named ONNX models with their cards, under I2I_HOME (default ~/.cache/i2i).

    $I2I_HOME/models/<name>/model.onnx   the generator, with i2i metadata
    $I2I_HOME/models/<name>/model.weights  its weights, for models over 16 MB (ONNX external data)
    $I2I_HOME/models/<name>/card.json    source, architecture, direction, sha256, licence, ...
    $I2I_HOME/downloads/                 partial and finished downloads of pretrained checkpoints

Large models are stored with their weights beside the graph because ONNX Runtime then maps them instead of
parsing them out of the protobuf: a 218 MB unet_256 opens in about half the time. The card's sha256 is that
of the self-contained file that was added.

A model folder is written under a hidden temporary name (``.NAME.PID.XXXX``, with the writing process's id) and
renamed into place, so a crash never leaves half a model; the temporary folders of processes that no longer run
(a registration killed with SIGKILL: a full copy of the model) are deleted the next time the store lists or adds
models. Replacing a model moves the old folder aside to ``.NAME.old`` first and deletes it only once the new one
is in place; a ``.NAME.old`` left by a crash between the two renames is put back (or, if the new model made it,
deleted) the next time the store looks at NAME. Hidden folders are never listed.
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
from ..fileio import owner_gone, owner_tag, sha256_of, sync_folder

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# .NAME.HOST-PID.XXXXXXXX (or .NAME.PID.XXXXXXXX, before hosts were named): a model staged or being removed
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<owner>(?:[A-Za-z0-9-]+-)?\d+)\.[A-Za-z0-9_]{8}$")
SPLIT_ABOVE = 16 * 2**20  # bytes
WEIGHTS = "model.weights"
WEIGHTS_INLINE_UP_TO = 65536  # bytes: smaller tensors (biases, norm scales and shifts) stay in the graph


def i2i_home() -> Path:
    """The store's root: $I2I_HOME, or ~/.cache/i2i."""
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
        """The stored models' names (hidden staging and replaced folders are not models)."""
        if not self.models.is_dir():
            return []
        self._remove_leftovers()
        for old in self.models.glob(".*.old"):
            if NAME.match(old.name[1:-4]):
                self._recover(old.name[1:-4])
        return sorted(p.name for p in self.models.iterdir() if NAME.match(p.name) and (p / "model.onnx").is_file())

    def get(self, name: str) -> StoredModel | None:
        """The model stored as ``name``, or None."""
        if not NAME.match(name):
            return None
        self._recover(name)
        folder = self.models / name
        if not (folder / "model.onnx").is_file():
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
        self._remove_leftovers()
        staging = self._temporary(name)
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
            old = self._old(name)
            self._recover(name)  # a crash's leftover first, so the old copy moved aside below is this one
            if final.exists():
                os.replace(final, old)
            try:
                os.replace(staging, final)
            except BaseException:
                if old.exists() and not final.exists():
                    os.replace(old, final)  # the replacement failed: the old model stays
                raise
            sync_folder(self.models)
            shutil.rmtree(old, ignore_errors=True)  # only now that the new model is in place
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return StoredModel(name, final / "model.onnx", card)

    def remove(self, name: str) -> bool:
        """Delete the model ``name``; False when there is none. It disappears at once (one rename), whole."""
        if not NAME.match(name):
            return False
        self._recover(name)
        folder = self.models / name
        if not folder.is_dir():
            return False
        doomed = self._temporary(name)
        os.replace(folder, doomed / name)
        shutil.rmtree(doomed, ignore_errors=True)
        return True

    def _temporary(self, name: str) -> Path:
        """A new hidden folder for staging or deleting model ``name``, named after this process."""
        return Path(tempfile.mkdtemp(prefix=f".{name}.{owner_tag()}.", dir=self.models))

    def _remove_leftovers(self) -> None:
        """Delete the temporary folders of processes that no longer run (best effort: a read-only store is read)."""
        for entry in self.models.iterdir():
            found = TEMPORARY.match(entry.name)
            if found and entry.is_dir() and owner_gone(found["owner"], entry):
                shutil.rmtree(entry, ignore_errors=True)

    def _old(self, name: str) -> Path:
        return self.models / f".{name}.old"

    def _recover(self, name: str) -> None:
        """Finish a replacement that a crash interrupted: put ``.NAME.old`` back if NAME is missing, else delete it.

        Best effort: a store on a read-only disk is still read (``get`` then finds no model under NAME).
        """
        old, final = self._old(name), self.models / name
        if not old.is_dir():
            return
        try:
            if (final / "model.onnx").is_file():
                shutil.rmtree(old)
            elif not final.exists():
                os.replace(old, final)
        except OSError:
            pass


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
