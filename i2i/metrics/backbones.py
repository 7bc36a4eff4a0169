"""The pretrained networks the metrics measure with: Inception v3 (FID, KID) and LPIPS's backbones.

Their weights are not shipped: each file is registered in the weights catalogue (``i2i.hub.weights``) with its
publisher's address and checksum and fetched on first use into ``$I2I_HOME/weights/`` (or a mirror), or given
with ``--weights FILE``. A given file is recognised by its tensors (names and shapes), so one option serves
every network. Files are read with ``torch.load(weights_only=True)``: nothing in them is executed, and a file
of the wrong kind is a one-line error naming it, not a traceback from deep inside a library. The libraries
are never allowed to download anything themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..hub.weights import WeightsFile, register, weights_path
from ..pth import torch_load

INCEPTION = register(WeightsFile(
    "inception-v3-fid", "pt_inception-2015-12-05-6726825d.pth",
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    "6726825d", "Apache-2.0: TensorFlow's Inception v3 of 2015-12-05, as pytorch-fid and torch-fidelity convert it"))

# LPIPS (v0.1) = a torchvision ImageNet backbone + linear layers; torchmetrics ships the linear layers.
LPIPS_BACKBONES = {
    "alex": register(WeightsFile("alexnet", "alexnet-owt-7be5be79.pth",
                                 "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "7be5be79",
                                 "BSD-3-Clause (torchvision)")),
    "vgg": register(WeightsFile("vgg16", "vgg16-397923af.pth",
                                "https://download.pytorch.org/models/vgg16-397923af.pth", "397923af",
                                "BSD-3-Clause (torchvision)")),
    "squeeze": register(WeightsFile("squeezenet1_1", "squeezenet1_1-b8a52dc0.pth",
                                    "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth", "b8a52dc0",
                                    "BSD-3-Clause (torchvision)")),
}
LPIPS_NETS = tuple(LPIPS_BACKBONES)
# The smallest image side each LPIPS backbone takes (its strided convolutions and poolings leave nothing below it)
LPIPS_MIN_SIDE = {"alex": 31, "vgg": 16, "squeeze": 17}
INCEPTION_FEATURES = 2048  # pool3, the layer FID and KID are defined on


def _inception_layout() -> nn.Module:
    """torchvision's Inception v3 without the auxiliary head and with 1008 classes: the key layout of the FID
    weights, which torch-fidelity's feature extractor loads (tests check the two layouts agree)."""
    import torchvision

    return torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)


def _torchvision(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        import torchvision

        return getattr(torchvision.models, name)(weights=None)

    return build


ARCHITECTURES: dict[str, Callable[[], nn.Module]] = {
    INCEPTION.name: _inception_layout,
    "alexnet": _torchvision("alexnet"),
    "vgg16": _torchvision("vgg16"),
    "squeezenet1_1": _torchvision("squeezenet1_1"),
}
DESCRIPTION = {INCEPTION.name: "Inception v3 (FID, KID)", "alexnet": "AlexNet (LPIPS alex)",
               "vgg16": "VGG16 (LPIPS vgg)", "squeezenet1_1": "SqueezeNet 1.1 (LPIPS squeeze)"}


def _shapes(state: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Name -> shape of a state dict's tensors, without batch norm's step counters (old files lack them)."""
    return {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}


def expected_shapes(name: str) -> dict[str, tuple[int, ...]]:
    """The tensors a weights file of network ``name`` holds (built on the meta device: no memory, no time)."""
    with torch.device("meta"):
        return _shapes(ARCHITECTURES[name]().state_dict())


def read_state(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A state dict from a ``.pth`` file, loaded without executing anything; one-line errors name the file."""
    if not Path(path).exists():
        raise ConfigError(f"{path}: no such weights file")
    state = torch_load(path, "PyTorch weights file")
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{path}: not a state dict of tensors (a network's weights)")
    return dict(state)


def identify(path: str | os.PathLike[str], state: Mapping[str, torch.Tensor]) -> str:
    """Which registered network's weights ``state`` are (by tensor names and shapes); ConfigError otherwise."""
    shapes = _shapes(state)
    for name in ARCHITECTURES:
        if shapes == expected_shapes(name):
            return name
    known = ", ".join(DESCRIPTION.values())
    raise ConfigError(f"{path}: not the weights of a network the metrics use ({known}); its {len(shapes)} tensors "
                      "match none of them")


def check_layout(path: str | os.PathLike[str], state: Mapping[str, torch.Tensor], name: str) -> None:
    """Raise a one-line ConfigError unless ``state`` has exactly the tensors of network ``name``."""
    shapes, expected = _shapes(state), expected_shapes(name)
    if shapes == expected:
        return
    missing = sorted(set(expected) - set(shapes))
    wrong = sorted(k for k in set(expected) & set(shapes) if expected[k] != shapes[k])
    if missing:
        detail = f"it lacks {missing[0]}"
    elif wrong:
        detail = f"{wrong[0]} is {list(shapes[wrong[0]])}, not {list(expected[wrong[0]])}"
    else:
        detail = f"it has extra tensors such as {sorted(set(shapes) - set(expected))[0]}"
    raise ConfigError(f"{path}: not the {DESCRIPTION[name]} weights ({detail})")


@dataclass
class WeightsSource:
    """Where each network's weights come from: files a user gave (``--weights``), else the catalogue."""

    given: dict[str, Path]
    mirror: str | None = None
    say: Callable[[str], None] = print

    @classmethod
    def from_files(cls, files: Iterable[str | os.PathLike[str]], mirror: str | None = None,
                   say: Callable[[str], None] = print) -> WeightsSource:
        """Recognise each given file; two files for one network are refused."""
        given: dict[str, Path] = {}
        for file in files:
            path = Path(file).expanduser()
            name = identify(path, read_state(path))
            if name in given:
                raise ConfigError(f"--weights {path}: {given[name]} already gives the {DESCRIPTION[name]} weights")
            given[name] = path
        return cls(given, mirror, say)

    def path(self, name: str) -> Path:
        """The file of network ``name``: the given one, else the cached catalogue copy (downloaded if missing)."""
        return weights_path(name, self.given.get(name), self.mirror, self.say)

    def state(self, name: str) -> tuple[Path, dict[str, torch.Tensor]]:
        """(file, checked state dict) of network ``name``."""
        path = self.path(name)
        state = read_state(path)
        check_layout(path, state, name)
        return path, state


def inception(source: WeightsSource) -> tuple[nn.Module, Path]:
    """torch-fidelity's Inception v3 feature extractor (as torchmetrics wraps it), returning pool3 features.

    Images go in as uint8 (N, 3, H, W) at any size; the network resizes them to 299x299 with TensorFlow 1's
    bilinear filter (``antialias=False``), as the original TensorFlow FID code does, so scores compare with
    pytorch-fid, torch-fidelity and clean-fid's ``legacy_tensorflow`` mode.
    """
    from torchmetrics.image.fid import NoTrainInceptionV3

    path, _ = source.state(INCEPTION.name)  # checked here with weights_only; the library then loads the same file
    net = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(INCEPTION_FEATURES)],
                             feature_extractor_weights_path=str(path), antialias=False)
    return net, path


def lpips_network(kind: str, source: WeightsSource) -> tuple[nn.Module, Path]:
    """torchmetrics' LPIPS (v0.1 linear layers, shipped with it) on a backbone loaded from its torchvision file.

    The network maps two batches in [-1, 1] to one distance per image.
    """
    if kind not in LPIPS_BACKBONES:
        raise ConfigError(f"--lpips-net {kind}: choose {', '.join(LPIPS_NETS)}")
    try:
        from torchmetrics.functional.image.lpips import _NoTrainLpips
    except ImportError as e:  # a private class: say plainly which torchmetrics i2i needs
        raise ConfigError(f"LPIPS needs torchmetrics>=1.4 ({e}); pip install -U torchmetrics") from None
    entry = LPIPS_BACKBONES[kind]
    path, state = source.state(entry.name)
    backbone = ARCHITECTURES[entry.name]()
    backbone.load_state_dict(state)
    net = _NoTrainLpips(net=kind, pnet_rand=True)  # pnet_rand: torchmetrics builds the backbone without weights
    features, loaded = backbone.features, set()
    for part in net.net.modules():  # the slices are Sequentials holding the backbone's layers under their indices
        if isinstance(part, nn.Sequential):
            for index, layer in part.named_children():
                if index.isdigit() and index not in loaded and int(index) < len(features):
                    layer.load_state_dict(features[int(index)].state_dict())
                    loaded.add(index)
    used = {str(i) for i, layer in enumerate(features) if any(True for _ in layer.parameters())}
    if not used <= loaded:  # a torchmetrics that lays the slices out otherwise: refuse rather than measure with noise
        raise ConfigError(f"this torchmetrics lays out LPIPS's {kind} backbone in a way i2i does not know; "
                          "pip install 'torchmetrics>=1.4,<2'")
    return net.eval().requires_grad_(False), path
