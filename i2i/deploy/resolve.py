"""From a ``--model`` argument to an ONNX file: a path, a stored model, or a pretrained one fetched on first use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import did_you_mean
from ..hub.download import TIMEOUT, download
from ..hub.store import ModelStore, StoredModel
from ..hub.zoo import PRETRAINED
from ..infer.model import ModelError

Progress = Callable[[int, int | None], None]


def pull(name: str, store: ModelStore | None = None, mirror: str | None = None, say: Callable[[str], None] = print,
         progress: Progress | None = None, timeout: float = TIMEOUT) -> StoredModel:
    """Download a pretrained generator (reference pix2pix / CycleGAN, Real-ESRGAN), convert it to ONNX and store it.

    The download resumes if interrupted; converting needs PyTorch (translating with the result does not), which
    is checked before anything is downloaded. ``timeout``: seconds a silent server is waited for.
    """
    store = store or ModelStore()
    entry = PRETRAINED.get(name)
    if entry is None:
        raise ModelError(f"no pretrained model '{name}'{did_you_mean(name, PRETRAINED)}; see `i2i models list`")
    try:  # before the download: without torch the file could not be converted anyway
        from .export import export_reference
    except ImportError as e:
        raise ModelError(f"converting {name} to ONNX needs PyTorch and onnx ({e.name} is missing): "
                         "pip install torch onnx onnxscript, or pull it on a machine that has them and copy "
                         f"{store.models / name} here") from None
    url = entry.url(mirror)
    pth = store.downloads / f"{entry.family}-{entry.file}.pth"
    say(f"downloading {name} from {url}")
    digest = download(url, pth, entry.sha256, progress=progress, say=say, timeout=timeout)
    card = {"source": url, "licence": entry.licence, "pretrained": entry.family, "source_file_sha256": digest}
    # the published names say what they translate (horse2zebra, facades_label2photo, style_monet)
    result = export_reference(pth, entry.architecture, entry.norm, name, card, entry.family, entry.direction, store,
                              say, scale=entry.scale if entry.scale > 1 else None)
    pth.unlink()  # the converted model replaces the download; the card keeps its checksum
    return StoredModel(name, result.path, result.card)


def resolve_model(spec: str, store: ModelStore | None = None, mirror: str | None = None,
                  say: Callable[[str], None] = print, progress: Progress | None = None,
                  timeout: float = TIMEOUT) -> tuple[Path, str]:
    """(ONNX file, display name) for a file path, a stored model name, or a pretrained name (pulled if needed)."""
    store = store or ModelStore()
    path = Path(spec).expanduser()
    if spec.endswith(".onnx") or path.is_file():
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        return path, path.stem.split(".")[0]
    stored = store.get(spec)
    if stored is not None:
        return stored.path, spec
    if spec in PRETRAINED:
        return pull(spec, store, mirror, say, progress, timeout).path, spec
    known = sorted({*store.names(), *PRETRAINED})
    raise ModelError(f"unknown model '{spec}'{did_you_mean(spec, known)}; `i2i models list` shows the models "
                     "you have and the pretrained ones")
