"""`i2i app`: the settings, the shared state of one running app, and serving it with uvicorn.

Memory is bounded by the settings: at most ``pending_uploads`` request bodies are held at once (each at most
``max_upload_mb``; more requests wait, unread, in the network stack), at most ``workers`` images are decoded
and translated at a time (each at most ``max_pixels``; large images go in tiles as `i2i translate` does), at
most ``max_live`` live sockets are open (each holding the newest frame and the one being translated), and at
most ``keep_models`` ONNX Runtime sessions stay open (least recently used closed first).
"""

from __future__ import annotations

import asyncio
import math
import socket
import ssl
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError
from ..images import list_images
from .catalog import Catalog
from .runs import RunsFolder
from .security import Guard, is_loopback, new_token

T = TypeVar("T")


@dataclass
class AppSettings:
    """The ``i2i app`` flags."""

    host: str = "127.0.0.1"
    port: int = 7860
    models: list[str] | None = None  # names, pretrained names or .onnx files (None: every stored model)
    runs: Path = Path("runs")
    folder: Path | None = None  # images the Translate page can pick from
    token: str | None = None  # required beyond this machine (generated when not given)
    max_upload_mb: float = 50.0
    max_pixels: int = 40_000_000
    device: str = "auto"
    workers: int = 1  # images (or live frames) translated at a time; ONNX Runtime uses every core for each
    pending_uploads: int = 8
    max_live: int = 8
    keep_models: int = 2
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    def check(self) -> None:
        """One-line errors for values that cannot work, before anything starts."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port {self.port}: choose 0-65535 (0: any free port)")
        for flag, value in (("--max-upload-mb", self.max_upload_mb), ("--max-pixels", self.max_pixels),
                            ("--workers", self.workers), ("--max-live", self.max_live),
                            ("keep_models", self.keep_models), ("pending_uploads", self.pending_uploads)):
            if not (math.isfinite(value) and value > 0):  # NaN compares false with everything
                raise ConfigError(f"{flag} {value}: must be a positive number")
        if self.folder is not None and not self.folder.is_dir():
            raise ConfigError(f"--folder {self.folder}: no such folder")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ConfigError("--ssl-certfile and --ssl-keyfile go together")
        for path in (self.ssl_certfile, self.ssl_keyfile):
            if path is not None and not path.is_file():
                raise ConfigError(f"{path}: no such file")
        if self.ssl_certfile is not None:
            try:  # as uvicorn will load them, so a bad file is one line here rather than its traceback later
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(self.ssl_certfile,
                                                                                    self.ssl_keyfile)
            except (ssl.SSLError, OSError) as e:
                raise ConfigError(f"--ssl-certfile {self.ssl_certfile} / --ssl-keyfile {self.ssl_keyfile}: not a "
                                  f"certificate and its key ({e.strerror or e.reason or e})") from None

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


@dataclass
class Counters:
    """What the app holds right now (``/api/status``): the tests check that everything is given back."""

    uploads: int = 0  # request bodies being read or held
    jobs: int = 0  # images being decoded, translated, encoded
    live: int = 0  # open live sockets
    lock: threading.Lock = field(default_factory=threading.Lock)

    def change(self, name: str, by: int) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + by)

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {"uploads": self.uploads, "jobs": self.jobs, "live": self.live}


class AppState:
    """One running app: its settings, models, runs, the worker threads and the limits."""

    def __init__(self, settings: AppSettings, say: Callable[[str], None] = print) -> None:
        settings.check()
        self.settings = settings
        self.catalog = Catalog(settings.models, device=settings.device, keep=settings.keep_models, say=say)
        self.runs = RunsFolder(settings.runs)
        self.folder_images = list_images(settings.folder) if settings.folder is not None else []
        self.executor = ThreadPoolExecutor(settings.workers, "i2i-app")
        self.model_slots = threading.BoundedSemaphore(settings.workers)  # live frames and uploads share them
        self.uploads: asyncio.Semaphore | None = None  # made on the server's event loop
        self.counters = Counters()

    def upload_slots(self) -> asyncio.Semaphore:
        if self.uploads is None:
            self.uploads = asyncio.Semaphore(self.settings.pending_uploads)
        return self.uploads

    async def run(self, work: Callable[[], T]) -> T:
        """``work`` on a worker thread (decoding and ONNX Runtime release the GIL; the event loop stays free)."""
        self.counters.change("jobs", 1)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, work)
        finally:
            self.counters.change("jobs", -1)

    @staticmethod
    async def light(work: Callable[[], T]) -> T:
        """Quick file work (listings, reports) on another thread, so it never waits behind an image's translation."""
        return await asyncio.to_thread(work)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def create_app(settings: AppSettings, say: Callable[[str], None] = print) -> tuple[Any, AppState]:
    """(the ASGI application: the routes of i2i.app.api and i2i.app.live behind the security layer, its state).

    Beyond this machine a token is required: ``settings.token`` is set to a new one when none was given.
    """
    from starlette.applications import Starlette

    from .api import routes, startup_check
    from .live import live_route

    state = AppState(settings, say)
    startup_check()
    app = Starlette(routes=[*routes(), live_route()])
    app.state.i2i = state
    token = settings.token if settings.token or settings.loopback else new_token()
    settings.token = token
    return Guard(app, token, settings.loopback), state


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or a one-line ConfigError (address in use, no such interface)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        hint = f" (another program listens there: --port {port + 1}, or --port 0 for any free one)" \
            if e.errno in (98, 48) else ""
        raise ConfigError(f"--host {host} --port {port}: cannot listen ({e.strerror or e}){hint}") from None
    sock.listen(128)
    return sock


def address(settings: AppSettings, port: int) -> str:
    """The address to open, with the token when there is one (as Jupyter prints it)."""
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if settings.ssl_certfile else "http"
    return f"{scheme}://{shown}:{port}/" + (f"?token={settings.token}" if settings.token else "")


def serve(settings: AppSettings, say: Callable[[str], None] = print) -> None:
    """Run the app until Ctrl-C (uvicorn, one process; the socket is bound first so errors are one line)."""
    import uvicorn

    app, state = create_app(settings, say)
    sock = bind(settings.host, settings.port)
    port = sock.getsockname()[1]
    names = ", ".join(state.catalog.entries()) or "none yet (i2i export, or i2i models pull)"
    say(f"i2i app: {address(settings, port)}")
    say(f"  models: {names}; runs: {settings.runs}" + (f"; images: {settings.folder}" if settings.folder else ""))
    if not settings.loopback:
        say("  listening beyond this machine: every request needs the token above; browsers allow the webcam only "
            "on https or localhost (ssh -L 7860:localhost:7860, or --ssl-certfile/--ssl-keyfile)")
    config = uvicorn.Config(app, log_level="warning", ws="auto", lifespan="off", ws_max_size=16 * 2**20,
                            ssl_certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
                            ssl_keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn has shut down gracefully and passes Ctrl-C on: stopping a server is its normal end
    finally:
        state.close()
        sock.close()
    print("i2i app stopped", file=sys.stderr)
