"""The models `i2i app` serves, what each is (from its metadata and card), and a few open ONNX Runtime sessions.

Only models named here are ever reachable: the stored ones (re-listed on each request, so a model exported
while the app runs appears), or exactly those given with ``--models`` (names, pretrained names fetched on first
use, or .onnx files). A model's kind comes from its ``i2i.*`` metadata, as the CLI reads it: generators from
noise go to the Sample page, VAE encoders nowhere, the others to Translate and Live.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import I2IError, ModelError, did_you_mean
from ..hub.store import NAME, ModelStore
from ..infer.model import PREFIX, ModelInfo, OnnxModel

WEB_LIMIT_BYTES = 100 * 10**6  # above this a browser downloads and compiles a model too slowly to be usable
TRANSLATE, GENERATE, ENCODE = "translate", "generate", "encode"
CARD_FIELDS = ("task", "architecture", "direction", "precision", "source", "licence", "check", "created", "classes")


@dataclass(frozen=True)
class Entry:
    """One model: its files (the graph, and the weights beside it for large stored models), metadata and card."""

    name: str
    path: Path
    files: dict[str, Path]  # what /models/NAME/FILE may serve, by file name
    meta: dict[str, str]  # the i2i metadata, without the "i2i." prefix
    card: dict[str, Any]
    kind: str
    stamp: int = 0  # the graph file's modification time: a replaced model is a new entry

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files.values())

    def public(self) -> dict[str, Any]:
        """What the pages are told: enough to choose, describe and run the model (no file system paths)."""
        size = self.bytes
        return {"name": self.name, "kind": self.kind, "meta": self.meta, "bytes": size,
                "card": {k: self.card[k] for k in CARD_FIELDS if k in self.card},
                "files": [f"/models/{self.name}/{f}" for f in self.files],
                "graph": f"/models/{self.name}/{self.path.name}",
                "browser": size <= WEB_LIMIT_BYTES, "browser_note": "" if size <= WEB_LIMIT_BYTES else too_big(size)}


def too_big(size: int) -> str:
    return (f"{size / 1e6:.0f} MB is more than a browser loads in practice ({WEB_LIMIT_BYTES / 1e6:.0f} MB): export "
            "it with --int8 (4x smaller) or train the compact generator (--netG mobile_resnet_9blocks), or run it "
            "on the server")


def read_entry(name: str, path: Path, card: dict[str, Any] | None = None, stamp: int = 0) -> Entry:
    """Describe the model file ``path``: metadata and external data files read without loading the weights."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except (OSError, DecodeError, ValueError) as e:
        raise ModelError(f"{path}: not a readable ONNX model ({str(e).splitlines()[0][:160] if str(e) else e})"
                         ) from None
    raw = {p.key: p.value for p in model.metadata_props}
    meta = {k[len(PREFIX):]: v for k, v in raw.items() if k.startswith(PREFIX)}
    kind = {"latent": GENERATE, "encoder": ENCODE}.get(meta.get("kind", ""), TRANSLATE)
    if kind == TRANSLATE:
        ModelInfo.from_metadata(raw, str(path))  # not an i2i translator: a one-line ModelError
    files = {path.name: path}
    for tensor in model.graph.initializer:
        for item in tensor.external_data:
            if item.key == "location":
                if Path(item.value).name != item.value or not NAME.match(item.value):
                    raise ModelError(f"{path}: its weights file '{item.value}' is not beside it")
                files[item.value] = path.parent / item.value
    for file in files.values():
        if not file.is_file():
            raise ModelError(f"{path}: {file.name} is missing beside it")
    if card is None:
        sibling = path.with_suffix(".json")
        try:
            card = json.loads(sibling.read_text()) if sibling.is_file() else {}
        except (OSError, ValueError):
            card = {}
    return Entry(name, path, files, meta, card if isinstance(card, dict) else {}, kind, stamp)


class Catalog:
    """The models on offer, and up to ``keep`` open sessions of them (least recently used closed first)."""

    def __init__(self, names: list[str] | None = None, store: ModelStore | None = None, device: str = "auto",
                 keep: int = 2, say: Callable[[str], None] = print) -> None:
        self.store = store or ModelStore()
        self.device, self.keep, self.say = device, keep, say
        self.fixed: dict[str, tuple[Path, dict[str, Any] | None]] | None = None
        if names is not None:
            from ..deploy.resolve import resolve_model

            self.fixed = {}
            for spec in names:
                path, shown = resolve_model(spec, self.store, say=say)
                stored = self.store.get(shown)
                self.fixed[shown] = (path, stored.card if stored is not None and stored.path == path else None)
        self._described: dict[tuple[str, Path, int], Entry | None] = {}
        self._sessions: OrderedDict[tuple[str, str, int], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.entries()  # a broken --models file is an error at start, not on the first request

    def _candidates(self) -> dict[str, tuple[Path, dict[str, Any] | None]]:
        if self.fixed is not None:
            return self.fixed
        found = {}
        for name in self.store.names():
            stored = self.store.get(name)
            if stored is not None:
                found[name] = (stored.path, stored.card)
        return found

    def entries(self) -> dict[str, Entry]:
        """Every usable model by name (files that are not i2i models are named once and left out)."""
        out = {}
        for name, (path, card) in self._candidates().items():
            try:
                key = (name, path, path.stat().st_mtime_ns)
            except OSError:
                continue
            if key not in self._described:
                try:
                    self._described[key] = read_entry(name, path, card, key[2])
                except I2IError as e:
                    if self.fixed is not None:
                        raise
                    self.say(f"note: model {name} left out: {e}")
                    self._described[key] = None
            entry = self._described[key]
            if entry is not None and entry.kind != ENCODE:
                out[name] = entry
        return out

    def get(self, name: str, kind: str | None = None) -> Entry:
        """The model ``name`` (of ``kind``, when given); ModelError naming the choices otherwise."""
        entries = self.entries()
        entry = entries.get(name)
        if entry is None or (kind is not None and entry.kind != kind):
            choices = [n for n, e in entries.items() if kind is None or e.kind == kind]
            what = {TRANSLATE: "image-to-image ", GENERATE: "from-noise "}.get(kind or "", "")
            raise ModelError(f"no {what}model '{name}' here{did_you_mean(name, choices)}"
                             + (f" (choose {', '.join(choices)})" if choices else ""))
        return entry

    def translator_model(self, name: str) -> OnnxModel:
        """An open session of the image-to-image model ``name`` (shared; ONNX Runtime's run is thread-safe)."""
        entry = self.get(name, TRANSLATE)
        return self._open((TRANSLATE, name, entry.stamp),
                          lambda: OnnxModel(entry.path, self.device, name=name, spin=False))

    def generator(self, name: str) -> Any:
        """An open generator from noise (i2i.sampling's interface)."""
        from ..sampling import open_generator

        entry = self.get(name, GENERATE)
        return self._open((GENERATE, name, entry.stamp), lambda: open_generator(str(entry.path), self.device))

    def _open(self, key: tuple[str, str, int], opener: Callable[[], Any]) -> Any:
        with self._lock:  # one model opens at a time; sessions in use elsewhere stay alive until released
            if key in self._sessions:
                self._sessions.move_to_end(key)
                return self._sessions[key]
            session = opener()
            self._sessions[key] = session
            while len(self._sessions) > self.keep:
                self._sessions.popitem(last=False)
            return session

    def open_sessions(self) -> int:
        """Sessions in the cache (at most ``keep``; a live socket keeps its own open after it leaves the cache)."""
        return len(self._sessions)
