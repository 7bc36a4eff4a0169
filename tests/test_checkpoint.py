"""Checkpoints: a file rebuilds its networks alone, nested training state round-trips, bad files are named."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from i2i.config import to_dict
from i2i.engine.checkpoint import Progress, load_checkpoint, save_checkpoint
from i2i.engine.rng import rng_state, set_rng_state
from i2i.errors import CheckpointError
from i2i.models import spec_for
from i2i.tasks import default_config


def test_checkpoint_rebuilds_its_model_and_state(tmp_path: Path) -> None:
    spec = spec_for("unet_32", in_channels=1, out_channels=3, ngf=4, norm="batch", dropout=True)
    net = spec.build()
    net(torch.randn(2, 1, 32, 32))  # move the batch-norm running statistics
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.randn(1, 1, 32, 32)).mean().backward()
    optimizer.step()
    state = {"optimizers": {"G": optimizer.state_dict()}, "rng": rng_state(), "extra": {3: (1.5, float("inf"))}}
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, to_dict(default_config("pix2pix")), {"G": net}, {"G": spec}, Progress(2, 5, 17), state)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no temporary file left

    loaded = load_checkpoint(path)
    rebuilt = loaded.build("G")  # no other input than the file
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), rebuilt.state_dict().values(), strict=True))
    assert loaded.progress == Progress(2, 5, 17) and loaded.config["task"] == "pix2pix"
    assert loaded.state["extra"] == {3: (1.5, float("inf"))}
    other = torch.optim.Adam(rebuilt.parameters())
    other.load_state_dict(loaded.state["optimizers"]["G"])
    assert torch.equal(other.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])
    assert load_checkpoint(path, with_state=False).state is None


def test_rng_state_round_trip(tmp_path: Path) -> None:
    state = rng_state()
    draws = (random.random(), np.random.rand(), torch.rand(1).item())
    path = tmp_path / "rng.safetensors"
    save_checkpoint(path, {"task": "x"}, {}, {}, Progress(), {"rng": state})
    set_rng_state(load_checkpoint(path).state["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == draws


def test_bad_checkpoints_are_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "none.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match=r"junk\.safetensors: unreadable checkpoint"):
        load_checkpoint(junk)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(1)}, str(foreign))
    with pytest.raises(CheckpointError, match="not an i2i checkpoint"):
        load_checkpoint(foreign)


def test_a_damaged_header_is_a_checkpoint_error(tmp_path: Path) -> None:
    """A file with i2i's format marker but broken metadata is named, not a KeyError or JSON traceback."""
    from safetensors.torch import save_file

    for meta, problem in (({"format": "i2i.checkpoint", "version": "1"}, "missing 'networks'"),
                          ({"format": "i2i.checkpoint", "version": "1", "networks": "{not json", "config": "{}",
                            "progress": "{}"}, "damaged checkpoint header")):
        path = tmp_path / "damaged.safetensors"
        save_file({"net/G/w": torch.zeros(1)}, str(path), metadata=meta)
        with pytest.raises(CheckpointError, match=rf"damaged\.safetensors: .*{problem}"):
            load_checkpoint(path)


def test_stale_temporaries_of_a_killed_save_are_removed(tmp_path: Path) -> None:
    from i2i.engine.checkpoint import remove_stale_temporaries

    (tmp_path / "checkpoints").mkdir()
    stale = tmp_path / "checkpoints" / ".latest.safetensors.k2j4_x9q.tmp"
    stale.write_bytes(b"\0" * 1000)
    keep = [tmp_path / "checkpoints" / "latest.safetensors", tmp_path / "checkpoints" / ".hidden_by_user",
            tmp_path / "notes.tmp"]
    for path in keep:
        path.write_text("mine")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and all(path.exists() for path in keep)
