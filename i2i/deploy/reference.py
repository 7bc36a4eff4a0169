"""Loading generators saved by the reference pytorch-CycleGAN-and-pix2pix code (``*_net_G.pth`` files).

i2i's U-Net and ResNet generators have the reference's module tree, so its state dicts load directly once
a few historical differences are handled:
- files are read with ``torch.load(weights_only=True)``: tensors and plain containers only, never code;
- keys saved from ``DataParallel`` start with ``module.``;
- the 2017 CycleGAN files carry running statistics for instance-norm layers that have none today;
- files from before PyTorch 0.4.1 lack batch norm's ``num_batches_tracked`` counters;
- ResNet generators trained with dropout have one more layer per block (``conv_block.6`` instead of ``.5``).
The width (``ngf``), channels, depth and dropout are read from the weights' shapes.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..models import NetworkSpec

_RUNNING = (".running_mean", ".running_var", ".num_batches_tracked")


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a reference ``.pth`` file, cleaned as the module docstring says."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except (pickle.UnpicklingError, RuntimeError, zipfile.BadZipFile, EOFError, ValueError) as e:
        refused = _refused_objects(path, str(e))
        if refused:
            raise CheckpointError(f"{path}: holds code or objects other than tensors ({refused}); i2i reads only "
                                  "tensors from a .pth file and will not load this one") from None
        reason = "the file ends early" if isinstance(e, EOFError) else _reason(str(e))
        raise CheckpointError(f"{path}: not a loadable PyTorch checkpoint ({reason})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors (a reference *_net_G.pth file)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    # Instance norm without affine parameters keeps no statistics: drop the 2017 files' leftovers.
    layers_with_weights = {k.rsplit(".", 1)[0] for k in state if k.endswith(".weight")}
    return {k: v for k, v in state.items()
            if not (k.endswith(_RUNNING) and k.rsplit(".", 1)[0] not in layers_with_weights)}


def _refused_objects(path: Path, message: str) -> str:
    """What a tensors-only load of ``path`` refused to import (e.g. 'posix.system'), or '' if it refused nothing.

    Asks torch which globals the file names when it can (zip checkpoints, torch 2.5+), else reads them from
    torch's error message; nothing in the file is run either way.
    """
    names: list[str] = []
    finder = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    if finder is not None:
        try:
            names = sorted(finder(str(path)))
        except Exception:  # not a zip checkpoint (the legacy format, or not a checkpoint at all)
            names = []
    if not names:
        names = re.findall(r"(?:GLOBAL|[Uu]nsupported class) ([A-Za-z_][\w.]*)", message)
    names = list(dict.fromkeys(names))
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def _reason(message: str) -> str:
    """One line (at most 160 characters) from torch's error: its specific cause, not its advice to load unsafely."""
    message = re.sub(r"\x1b\[[0-9;]*m", "", message)  # terminal colour codes
    detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", message)
    if detail:
        message = detail.group(1)
    elif message.startswith("Weights only load failed"):
        message = "not a pickle of tensors"
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0][:160] if lines else "no details"


def infer_spec(state: dict[str, torch.Tensor], architecture: str, norm: str, where: str) -> NetworkSpec:
    """The NetworkSpec that reproduces ``state``, checking it against the named architecture family."""
    family = "unet" if "model.model.0.weight" in state else "resnet" if "model.1.weight" in state else None
    if family is None:
        raise CheckpointError(f"{where}: not a reference U-Net or ResNet generator (no model.model.0.weight "
                              "or model.1.weight)")
    if not architecture.startswith(family):
        found = "a U-Net" if family == "unet" else "a ResNet"
        raise CheckpointError(f"{where}: holds {found} generator, not {architecture}")
    if family == "unet":
        first, last = state["model.model.0.weight"], state["model.model.3.weight"]
        levels = sum(v.ndim == 4 for k, v in state.items() if k.endswith(".weight")) // 2  # a conv down, one up
        size = 2**levels
        if architecture != f"unet_{size}":
            raise CheckpointError(f"{where}: a U-Net with {levels} levels, which is unet_{size}, not {architecture}")
        kwargs = {"in_channels": first.shape[1], "out_channels": last.shape[1], "ngf": first.shape[0],
                  "norm": norm, "dropout": False}  # U-Net dropout layers hold no weights and sit last in a block
        return NetworkSpec(f"unet_{size}", kwargs)
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.conv_block\.", k))}
    convs = [int(m.group(1)) for k in state if (m := re.fullmatch(r"model\.(\d+)\.weight", k))]
    first, last = state["model.1.weight"], state[f"model.{max(convs)}.weight"]
    dropout = any(".conv_block.6." in k for k in state)
    kwargs = {"in_channels": first.shape[1], "out_channels": last.shape[0], "ngf": first.shape[0], "norm": norm,
              "dropout": dropout}
    return NetworkSpec(f"resnet_{len(blocks)}blocks", kwargs)


def load_reference_generator(path: Path, architecture: str, norm: str) -> tuple[torch.nn.Module, NetworkSpec]:
    """Rebuild a reference generator from its ``.pth`` file; every weight must find its place."""
    state = load_state_dict(path)
    spec = infer_spec(state, architecture, norm, str(path))
    net = spec.build()
    expected = net.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(".num_batches_tracked")]  # pre-0.4.1
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        key = (missing or unexpected)[0]
        kind = "lacks" if missing else "has an unexpected"
        raise CheckpointError(f"{path}: {kind} weight '{key}' for {spec.name} with --norm {norm} "
                              f"({len(missing)} missing, {len(unexpected)} unexpected)")
    wrong = next((k for k, v in state.items() if v.shape != expected[k].shape), None)
    if wrong is not None:
        raise CheckpointError(f"{path}: '{wrong}' has shape {tuple(state[wrong].shape)}, {spec.name} needs "
                              f"{tuple(expected[wrong].shape)}")
    net.load_state_dict(state, strict=False)
    return net, spec
