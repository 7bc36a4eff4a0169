"""Writes killed with SIGKILL: a model registration leaves no hidden copies behind once the store is used again,
and an export's model and card are replaced as one unit (never a card describing another file)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE, tiny_config

from i2i.deploy.export import export_run
from i2i.hub.store import ModelStore

KILLED_ADD = """
import os, signal, sys
from pathlib import Path
import i2i.hub.store as store
def killed(*args, **kwargs):  # the registration is killed once its staging copy is made
    os.kill(os.getpid(), signal.SIGKILL)
store.os.fsync = killed
store.ModelStore(Path(sys.argv[1])).add("day", Path(sys.argv[2]), {})
"""


def hidden(store: ModelStore) -> list[str]:
    return sorted(p.name for p in store.models.iterdir() if p.name.startswith("."))


def test_a_killed_registration_leaves_no_hidden_copy(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "home")
    (tmp_path / "m.onnx").write_bytes(b"\0" * 4096)

    def killed_add() -> None:
        done = subprocess.run([sys.executable, "-c", KILLED_ADD, str(tmp_path / "home"), str(tmp_path / "m.onnx")],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == -9, done.stderr
        assert len(hidden(store)) == 1  # what the kill left: a full staging copy of the model

    killed_add()
    assert store.names() == [] and hidden(store) == []  # listing the store clears it
    killed_add()
    store.add("night", tmp_path / "m.onnx", {})  # so does registering a model
    assert hidden(store) == [] and store.names() == ["night"]


KILLED_EXPORT = """
import os, signal, sys
from pathlib import Path
import i2i.deploy.export as export
out = Path(sys.argv[2]).absolute()
real_replace, moved = os.replace, []
def replace(a, b):  # killed between moving the new model into place and moving its card
    if Path(b).absolute() == out.with_suffix(".json") and out in moved:
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(a, b)
    moved.append(Path(b).absolute())
os.replace = replace
export.export_run(sys.argv[1], out=Path(sys.argv[2]), register=False, say=lambda _: None)
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tiny_run(task: str, out: Path) -> Path:
    """One step of a tiny image-to-image (pix2pix) or from-noise (dcgan: the other export path) run."""
    from test_generation import gen_config

    from i2i.training import train

    config = (tiny_config("pix2pix", SAMPLE, out, data={"val_images": 0}, run={"max_steps": 1}) if task == "pix2pix"
              else gen_config("dcgan", out, run={"max_steps": 1}))
    return train(config, progress_bar=False).run_dir


@pytest.mark.parametrize(("task", "next_use"), [("pix2pix", "open"), ("dcgan", "export")])
def test_an_export_killed_between_its_files_is_completed(tmp_path: Path, task: str, next_use: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The earlier export of the same name is replaced whole: the next export to that place, or opening the model,
    completes what the killed one had committed (the card then describes the model beside it), also from another
    working directory than the killed export's (which was given a relative path)."""
    from i2i.training import resume

    run = tiny_run(task, tmp_path)
    out = tmp_path / "export" / "m.onnx"
    export_run(run, out=out, register=False, say=lambda _: None)
    resume(run, {"run": {"max_steps": 2}}, progress_bar=False)
    killed = subprocess.run([sys.executable, "-c", KILLED_EXPORT, str(run), "export/m.onnx"], capture_output=True,
                            text=True, timeout=300, cwd=tmp_path)
    assert killed.returncode == -9, killed.stderr
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    if next_use == "export":
        export_run(run, out=tmp_path / "export" / "other.onnx", register=False, say=lambda _: None)
    else:
        from i2i.infer import OnnxModel

        OnnxModel(out, "cpu")
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["sha256"] == sha256(out) and card["step"] == 2
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        ["m.onnx", "m.json"] + (["other.onnx", "other.json"] if next_use == "export" else []))


def test_another_machines_leftovers_are_kept_a_day(tmp_path: Path) -> None:
    """A store on a disk shared by machines (a cluster's home): a staging folder named after another host's
    process cannot be checked, so it is kept while it may be in use and removed once a day old."""
    import os
    import time

    store = ModelStore(tmp_path / "home")
    store.models.mkdir(parents=True, exist_ok=True)
    fresh, old = store.models / ".day.node-17-4242.abcd1234", store.models / ".night.node-17-4242.efgh5678"
    fresh.mkdir()
    old.mkdir()
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    assert store.names() == [] and hidden(store) == [fresh.name]
