"""Loading generators saved by the reference pytorch-CycleGAN-and-pix2pix code (``*_net_G.pth`` files).

i2i's U-Net and ResNet generators have the reference's module tree, so its state dicts load directly once
a few historical differences are handled:
- files are read with ``torch.load(weights_only=True)``: tensors and plain containers only, never code;
- keys saved from ``DataParallel`` start with ``module.``;
- the 2017 CycleGAN files carry running statistics for instance-norm layers that have none today;
- files from before PyTorch 0.4.1 lack batch norm's ``num_batches_tracked`` counters;
- ResNet generators trained with dropout have one more layer per block (``conv_block.6`` instead of ``.5``).
The width (``ngf``), channels, depth and dropout are read from the weights' shapes.

Super-resolution files of BasicSR and Real-ESRGAN (MSRResNet, RRDBNet: ``RealESRGAN_x4plus.pth``, ...) and of
xinntao/ESRGAN (``RRDB_ESRGAN_x4.pth``, older module names) load the same way; their width, depth, growth and
scale are read from the shapes too (``load_sr_generator``).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..models import NetworkSpec
from ..pth import torch_load

_RUNNING = (".running_mean", ".running_var", ".num_batches_tracked")


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a reference ``.pth`` file, cleaned as the module docstring says."""
    state = torch_load(path)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors (a reference *_net_G.pth file)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    # Instance norm without affine parameters keeps no statistics: drop the 2017 files' leftovers.
    layers_with_weights = {k.rsplit(".", 1)[0] for k in state if k.endswith(".weight")}
    return {k: v for k, v in state.items()
            if not (k.endswith(_RUNNING) and k.rsplit(".", 1)[0] not in layers_with_weights)}


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
    return _load_strict(path, state, infer_spec(state, architecture, norm, str(path)), f" with --norm {norm}")


def _load_strict(path: Path, state: dict[str, torch.Tensor], spec: NetworkSpec,
                 what: str = "") -> tuple[torch.nn.Module, NetworkSpec]:
    """Build ``spec`` and load ``state`` into it; every weight must find its place, with its shape."""
    net = spec.build()
    expected = net.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(".num_batches_tracked")]  # pre-0.4.1
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        key = (missing or unexpected)[0]
        kind = "lacks" if missing else "has an unexpected"
        raise CheckpointError(f"{path}: {kind} weight '{key}' for {spec.name}{what} "
                              f"({len(missing)} missing, {len(unexpected)} unexpected)")
    wrong = next((k for k, v in state.items() if v.shape != expected[k].shape), None)
    if wrong is not None:
        raise CheckpointError(f"{path}: '{wrong}' has shape {tuple(state[wrong].shape)}, {spec.name} needs "
                              f"{tuple(expected[wrong].shape)}")
    net.load_state_dict(state, strict=False)
    return net, spec


# --- super-resolution checkpoints (BasicSR, Real-ESRGAN, ESRGAN) ------------------------------------------------

SR_FAMILIES = ("srresnet", "rrdbnet")
# xinntao/ESRGAN's files (RRDB_ESRGAN_x4.pth) name RRDBNet's modules the way BasicSR did before 1.0
_ESRGAN_NAMES = ((r"^RRDB_trunk\.", "body."), (r"\.RDB(\d)\.", r".rdb\1."), (r"^trunk_conv\.", "conv_body."),
                 (r"^upconv(\d)\.", r"conv_up\1."), (r"^HRconv\.", "conv_hr."))


def is_sr_architecture(architecture: str) -> bool:
    """Whether ``architecture`` names a super-resolution generator (srresnet..., rrdbnet...)."""
    return architecture.startswith(SR_FAMILIES)


def load_sr_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The generator tensors of a BasicSR / Real-ESRGAN / ESRGAN file: unwrapped from ``params_ema`` (preferred, the
    weights those projects publish as the model) or ``params``, ``module.`` prefixes and ESRGAN's old names mapped."""
    state = torch_load(path)
    for key in ("params_ema", "params", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors (or one under 'params_ema' / 'params')")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    if not any(k.startswith("RRDB_trunk.") for k in state):
        return state
    renamed = {}
    for key, value in state.items():
        for pattern, new in _ESRGAN_NAMES:
            key = re.sub(pattern, new, key)
        renamed[key] = value
    return renamed


def infer_sr_spec(state: dict[str, torch.Tensor], architecture: str, scale: int | None, where: str) -> NetworkSpec:
    """The srresnet / rrdbnet spec that reproduces ``state``: width, depth, channels and scale read from shapes."""
    if "conv_first.weight" not in state or "conv_last.weight" not in state:
        raise CheckpointError(f"{where}: not a BasicSR / Real-ESRGAN generator (no conv_first.weight / "
                              "conv_last.weight)")
    family = "rrdbnet" if any(k.startswith("body.0.rdb1.") for k in state) else (
        "srresnet" if "body.0.conv1.weight" in state else None)
    if family is None:
        raise CheckpointError(f"{where}: neither an RRDBNet (body.0.rdb1...) nor an MSRResNet (body.0.conv1...)")
    if not architecture.startswith(family):
        raise CheckpointError(f"{where}: holds {'an RRDBNet' if family == 'rrdbnet' else 'an MSRResNet'} "
                              f"generator, not {architecture} (use --arch {family})")
    first, last = state["conv_first.weight"], state["conv_last.weight"]
    ngf, out_channels = first.shape[0], last.shape[0]
    blocks = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.", k)))
    if family == "rrdbnet":
        folded = {1: 4, 4: 2, 16: 1}.get(first.shape[1] // out_channels)  # pixel-unshuffled input: x2, x1
        if folded is None or first.shape[1] % out_channels:
            raise CheckpointError(f"{where}: conv_first takes {first.shape[1]} channels, which fits no RRDBNet "
                                  f"scale for {out_channels}-channel images")
        found = 8 if "conv_up3.weight" in state else folded
        in_channels = first.shape[1] // {4: 1, 2: 4, 1: 16}[folded]
        kwargs = {"in_channels": in_channels, "out_channels": out_channels, "ngf": ngf,
                  "growth": state["body.0.rdb1.conv1.weight"].shape[0], "scale": found}
        name = "rrdbnet" if blocks == 23 else f"rrdbnet_{blocks}blocks"
    else:
        stages = sum(1 for k in state if re.fullmatch(r"upconv\d\.weight", k))
        found = 3 if state["upconv1.weight"].shape[0] == 9 * ngf else {1: 2, 2: 4, 3: 8}.get(stages, 0)
        kwargs = {"in_channels": first.shape[1], "out_channels": out_channels, "ngf": ngf, "scale": found}
        name = "srresnet" if blocks == 16 else f"srresnet_{blocks}blocks"
    if scale is not None and scale != found:
        raise CheckpointError(f"{where}: holds an x{found} network, not --scale {scale}")
    if architecture not in (family, name):
        raise CheckpointError(f"{where}: holds {name}, not {architecture}")
    return NetworkSpec(name, kwargs)


def load_sr_generator(path: Path, architecture: str, scale: int | None = None) -> tuple[torch.nn.Module, NetworkSpec]:
    """Rebuild a BasicSR / Real-ESRGAN / ESRGAN generator from its ``.pth`` file (every weight in its place)."""
    state = load_sr_state_dict(path)
    return _load_strict(path, state, infer_sr_spec(state, architecture, scale, str(path)))
