"""Checkpoints: one safetensors file holding weights, training state and the config that rebuilds them.

Tensors: ``net/<name>/<param>`` (network weights) and ``state/...`` (optimizer moments, RNG states,
image pools). Header metadata (JSON strings): the format, the config, each network's spec, the progress
counters and the skeleton of the training state. Loading never unpickles anything, and a file is written
to a temporary name, fsynced and renamed, so a crash leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from ..errors import CheckpointError
from ..fileio import atomic_path
from ..models import NetworkSpec

FORMAT = "i2i.checkpoint"
VERSION = 1
# what fileio.atomic_path names its temporary files: ".<target name>.<8 random characters><suffix>"
TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.(tmp|png|jpg)")


@dataclass
class Progress:
    """Where training stands: ``epoch`` in progress (0-based), ``batch`` batches into it, ``step`` in all,
    and how many processes took those steps."""

    epoch: int = 0
    batch: int = 0  # batches per process: with N processes, N * batch * batch_size images were seen
    step: int = 0
    world_size: int = 1


@dataclass
class Checkpoint:
    """A loaded checkpoint. ``state`` is None for weights-only snapshots."""

    path: Path
    config: dict[str, Any]
    specs: dict[str, NetworkSpec]
    weights: dict[str, dict[str, torch.Tensor]]
    progress: Progress
    state: dict[str, Any] | None = None
    meta: dict[str, str] = field(default_factory=dict)

    def build(self, name: str) -> nn.Module:
        """Rebuild network ``name`` from its spec and load its weights."""
        if name not in self.specs:
            raise CheckpointError(f"{self.path}: has no network '{name}' (it has {', '.join(self.specs)})")
        net = self.specs[name].build()
        net.load_state_dict(self.weights[name])
        return net


def latest_checkpoint(run_dir: str | Path) -> Path:
    """Where a run folder keeps the checkpoint that ``--resume`` continues from."""
    return Path(run_dir) / "checkpoints" / "latest.safetensors"


def resolve_checkpoint(source: str | Path, flag: str = "", hint: str = "") -> Path:
    """The checkpoint file of a run folder (its latest) or the file itself; a one-line CheckpointError naming
    ``source`` (after the option ``flag`` that gave it, and followed by ``hint``) when there is none."""
    where = f"{flag} {source}" if flag else str(source)
    path = Path(source).expanduser()
    if path.is_dir():
        latest = latest_checkpoint(path)
        if not latest.is_file():
            raise CheckpointError(f"{where}: not a run folder (no {latest.relative_to(path)}){hint}")
        return latest
    if not path.is_file():
        raise CheckpointError(f"{where}: no such run folder or checkpoint file{hint}")
    return path


def save_checkpoint(path: str | Path, config: dict[str, Any], networks: dict[str, nn.Module],
                    specs: dict[str, NetworkSpec], progress: Progress, state: dict[str, Any] | None = None) -> None:
    """Write a checkpoint atomically; ``state`` (optimizers, RNG, ...) is left out of weights-only snapshots."""
    from .. import __version__

    tensors: dict[str, torch.Tensor] = {}
    for name, net in networks.items():
        for key, value in net.state_dict().items():
            tensors[f"net/{name}/{key}"] = value.detach().to("cpu").contiguous()
    meta = {
        "format": FORMAT,
        "version": str(VERSION),
        "i2i_version": __version__,
        "task": str(config.get("task", "")),
        "config": json.dumps(config),
        "networks": json.dumps({k: s.to_dict() for k, s in specs.items()}),
        "progress": json.dumps(progress.__dict__),
    }
    if state is not None:
        meta["state"] = json.dumps(_pack(state, "state", tensors))
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_checkpoint(path: str | Path, with_state: bool = True) -> Checkpoint:
    """Read a checkpoint file (CPU tensors). Raises CheckpointError for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise CheckpointError(f"{path}: not an i2i checkpoint")
            if int(meta.get("version", 0)) > VERSION:
                raise CheckpointError(f"{path}: written by a newer i2i ({meta.get('i2i_version')}); upgrade i2i")
            keys = [k for k in f.keys() if with_state or k.startswith("net/")]  # noqa: SIM118
            tensors = {k: f.get_tensor(k) for k in keys}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: unreadable checkpoint ({e})") from None
    try:  # the header is JSON written by save_checkpoint; anything else is a damaged or foreign file
        specs = {k: NetworkSpec.from_dict(v) for k, v in json.loads(meta["networks"]).items()}
        weights: dict[str, dict[str, torch.Tensor]] = {name: {} for name in specs}
        for key, value in tensors.items():
            if key.startswith("net/"):
                _, name, param = key.split("/", 2)
                weights[name][param] = value
        state = _unpack(json.loads(meta["state"]), tensors) if with_state and "state" in meta else None
        progress = Progress(**json.loads(meta["progress"]))
        config = json.loads(meta["config"])
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        detail = f"missing {e}" if isinstance(e, KeyError) else str(e).splitlines()[0]
        raise CheckpointError(f"{path}: damaged checkpoint header ({detail})") from None
    return Checkpoint(path, config, specs, weights, progress, state, meta)


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete the temporary files a killed run left in its folder (``.NAME.XXXXXXXX.tmp`` from atomic writes).

    Only names of i2i's own pattern are removed: a checkpoint interrupted mid-save is as large as the
    checkpoint itself, and nothing ever reads it.
    """
    removed = []
    for folder in (run_dir, run_dir / "checkpoints", run_dir / "samples"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if TEMPORARY.fullmatch(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


# A training state is a tree of dicts, lists, tuples, numbers, strings, tensors and NumPy arrays (RNG
# states). Tensors and arrays go to the tensor table; the tree's shape goes to JSON with typed markers.


def _pack(tree: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(tree, torch.Tensor):
        tensors[key] = tree.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(tree, np.ndarray):
        tensors[key] = torch.from_numpy(np.ascontiguousarray(tree)).clone()
        return {"__ndarray__": key}
    if isinstance(tree, dict):
        return {"__dict__": [[k, _pack(v, f"{key}/{k}", tensors)] for k, v in tree.items()]}
    if isinstance(tree, tuple):
        return {"__tuple__": [_pack(v, f"{key}/{i}", tensors) for i, v in enumerate(tree)]}
    if isinstance(tree, list):
        return [_pack(v, f"{key}/{i}", tensors) for i, v in enumerate(tree)]
    if isinstance(tree, float) and not math.isfinite(tree):
        return {"__float__": repr(tree)}
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, np.generic):
        return tree.item()
    raise TypeError(f"cannot store {type(tree).__name__} at {key} in a checkpoint")


def _unpack(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(tree, list):
        return [_unpack(v, tensors) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__tensor__" in tree:
        return tensors[tree["__tensor__"]]
    if "__ndarray__" in tree:
        return tensors[tree["__ndarray__"]].numpy()
    if "__dict__" in tree:
        return {k: _unpack(v, tensors) for k, v in tree["__dict__"]}
    if "__tuple__" in tree:
        return tuple(_unpack(v, tensors) for v in tree["__tuple__"])
    if "__float__" in tree:
        return float(tree["__float__"])
    raise CheckpointError(f"unexpected entry in checkpoint state: {sorted(tree)}")
