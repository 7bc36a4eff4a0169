"""Importing the reference implementation's .pth generators, with their historical key quirks."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import torch

from i2i.deploy.reference import load_reference_generator
from i2i.errors import CheckpointError
from i2i.models import create_model


def reference_file(path: Path, net: torch.nn.Module, quirk: str = "") -> Path:
    """Save ``net``'s weights as the reference would, optionally with one of its historical quirks."""
    state = collections.OrderedDict(net.state_dict())
    if quirk == "no-counters":  # before PyTorch 0.4.1
        state = collections.OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    if quirk == "2017-instance-norm":  # instance norm then kept running statistics; saved from DataParallel
        norms = [name for name, m in net.named_modules() if isinstance(m, torch.nn.InstanceNorm2d)]
        for name in norms:
            channels = net.get_submodule(name).num_features
            state[f"{name}.running_mean"] = torch.zeros(channels)
            state[f"{name}.running_var"] = torch.ones(channels)
        state = collections.OrderedDict((f"module.{k}", v) for k, v in state.items())
    torch.save(state, path)
    return path


def same_outputs(a: torch.nn.Module, b: torch.nn.Module, size: int) -> bool:
    x = torch.rand(1, 3, size, size)
    a.eval()
    b.eval()
    with torch.no_grad():
        return torch.allclose(a(x), b(x), atol=1e-6)


@pytest.mark.parametrize(("arch", "kwargs", "quirk"), [
    ("unet_256", {"norm": "batch", "ngf": 4}, "no-counters"),
    ("resnet_9blocks", {"norm": "instance", "ngf": 4}, "2017-instance-norm"),
    ("resnet_6blocks", {"norm": "instance", "ngf": 4, "dropout": True}, ""),  # one more layer per block
])
def test_reference_files_load(tmp_path: Path, arch: str, kwargs: dict, quirk: str) -> None:
    torch.manual_seed(0)
    original = create_model(arch, **kwargs)
    for m in original.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)  # non-trivial statistics must survive the import
    net, spec = load_reference_generator(reference_file(tmp_path / "g.pth", original, quirk), arch, kwargs["norm"])
    assert spec.name == arch and spec.kwargs["ngf"] == 4
    assert spec.kwargs["dropout"] == kwargs.get("dropout", False)
    assert same_outputs(original, net, 256 if arch.startswith("unet") else 32)


def test_bad_reference_files(tmp_path: Path) -> None:
    unet = reference_file(tmp_path / "unet.pth", create_model("unet_128", ngf=4))
    with pytest.raises(CheckpointError, match="a U-Net with 7 levels, which is unet_128, not unet_256"):
        load_reference_generator(unet, "unet_256", "batch")
    with pytest.raises(CheckpointError, match="holds a U-Net generator, not resnet_9blocks"):
        load_reference_generator(unet, "resnet_9blocks", "instance")
    with pytest.raises(CheckpointError, match=r"lacks weight 'model\.model\.0\.bias' for unet_128 with --norm inst"):
        load_reference_generator(unet, "unet_128", "instance")  # batch-norm weights into instance norm
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk\.pth: not a loadable PyTorch checkpoint"):
        load_reference_generator(tmp_path / "junk.pth", "unet_256", "batch")
    torch.save({"weights": [1, 2]}, tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match=r"list\.pth: expected a state dict of tensors"):
        load_reference_generator(tmp_path / "list.pth", "unet_256", "batch")


class Exploit:
    """A pickle that runs code when loaded: here it would create a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.target,))


@pytest.mark.parametrize("zip_format", [True, False])  # torch.save's format since 1.6, and the older one
def test_checkpoints_that_run_code_are_refused_unrun(tmp_path: Path, zip_format: bool) -> None:
    """The refusal says, on one line naming the file, that it holds code and will not be loaded; it does not
    relay PyTorch's advice to load it with weights_only=False."""
    torch.save({"model.model.0.weight": Exploit(tmp_path / "pwned")}, tmp_path / "evil.pth",
               _use_new_zipfile_serialization=zip_format)
    with pytest.raises(CheckpointError) as refused:
        load_reference_generator(tmp_path / "evil.pth", "unet_256", "batch")
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'evil.pth'}: holds code or objects other than tensors (")
    assert message.endswith("i2i reads only tensors from a .pth file and will not load this one")
    assert "getattr" in message or "pathlib" in message  # what it would have run
    assert "\n" not in message and "weights_only" not in message and "\x1b" not in message
    assert not (tmp_path / "pwned").exists()


def test_files_that_are_not_checkpoints_get_torchs_cause_not_its_advice(tmp_path: Path) -> None:
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    (tmp_path / "empty.pth").write_bytes(b"")
    for name, cause in (("junk.pth", "Unsupported operand"), ("empty.pth", "the file ends early")):
        with pytest.raises(CheckpointError) as error:
            load_reference_generator(tmp_path / name, "unet_256", "batch")
        message = str(error.value)
        assert message.startswith(f"{tmp_path / name}: not a loadable PyTorch checkpoint (") and cause in message
        assert "\n" not in message and "weights_only" not in message and "holds code" not in message


@pytest.mark.slow
@pytest.mark.parametrize(("arch", "norm", "quirk", "dropout"), [("unet_256", "batch", "", True),
                                                                 ("resnet_9blocks", "instance", "2017-instance-norm",
                                                                  False)])
def test_full_size_reference_generators_convert_store_and_translate(tmp_path: Path, arch: str, norm: str,
                                                                    quirk: str, dropout: bool) -> None:
    """The published models' real sizes (218 MB / 45 MB): import, export with its parity check, store, translate."""
    import numpy as np

    from i2i.deploy.export import export_reference
    from i2i.hub.store import ModelStore
    from i2i.images import read_image
    from i2i.infer import OnnxModel, Translator

    torch.manual_seed(0)
    original = create_model(arch, norm=norm, dropout=dropout)
    assert sum(p.numel() for p in original.parameters()) == {"unet_256": 54_413_955, "resnet_9blocks": 11_378_179}[arch]
    pth = reference_file(tmp_path / "g.pth", original, quirk)
    store = ModelStore(tmp_path / "home")
    result = export_reference(pth, arch, norm, "full", {"source": "test"}, "pix2pix" if norm == "batch" else "cyclegan",
                              store=store, say=lambda _: None)
    stored = store.get("full")
    assert stored is not None and result.registered
    assert (stored.path.parent / "model.weights").is_file()  # over 16 MB: weights beside the graph
    image = read_image(Path(__file__).parent.parent / "i2i" / "assets" / "parity.jpg")
    out = Translator(OnnxModel(stored.path, "cpu"))(image)
    assert out.shape == image.shape and float(np.std(out)) > 0
