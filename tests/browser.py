"""Headless Chromium driven over the DevTools protocol, for the browser tests and bench/app.py.

Debian's ``chromium`` is used as it is (Playwright's own browser download is not reachable everywhere): it is
started with a fresh profile and a DevTools port, and one page is driven over a WebSocket: open a URL, run
JavaScript in it (awaiting promises), give a file input files, take screenshots, and collect what went wrong
(console errors, uncaught exceptions, failed or refused requests) and every URL it requested.
A fake camera plays a .y4m clip (``camera=``), as Chromium's test flags allow.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--disable-default-apps", "--mute-audio", "--force-device-scale-factor=1", "--hide-scrollbars",
         "--remote-debugging-port=0", "--remote-allow-origins=*")


class BrowserError(Exception):
    """A page script that threw, a DevTools call that failed, or a browser that did not answer in time."""


class Chromium:
    """One headless Chromium process with one page; use as a context manager."""

    def __init__(self, *args: str, camera: Path | None = None, size: tuple[int, int] = (1280, 900)) -> None:
        assert CHROMIUM is not None, "chromium is not installed"
        self.profile = Path(tempfile.mkdtemp(prefix="i2i-chromium-"))
        extra = [] if camera is None else ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                                           f"--use-file-for-fake-video-capture={camera}"]
        self.log = open(self.profile / "chromium.log", "wb")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}",
                                         f"--window-size={size[0]},{size[1]}", *extra, *args, "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        self.size = size
        try:
            self.page = Page(self._page_socket(), size)
        except BaseException:
            self.close()
            raise

    def _page_socket(self) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.is_file() or not port_file.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BrowserError(f"chromium did not start: {self.stderr()[-1500:]}")
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
                targets = json.loads(response.read())
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            if time.monotonic() > deadline:
                raise BrowserError("chromium opened no page")
            time.sleep(0.05)

    def stderr(self) -> str:
        self.log.flush()
        return (self.profile / "chromium.log").read_text(errors="replace")

    def close(self) -> None:
        if getattr(self, "page", None) is not None:
            self.page.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """A page target: calls are answered by a reader thread, which also records console output and requests."""

    def __init__(self, url: str, size: tuple[int, int]) -> None:
        self.socket = connect(url, max_size=None, open_timeout=30).__enter__()  # closed in close()
        self.ids = itertools.count(1)
        self.answers: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.errors: list[str] = []  # uncaught exceptions, console.error, errors logged by the browser (CSP, ...)
        self.requests: list[str] = []  # every URL the page asked for
        self.condition = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1,
                  mobile=False)

    def _read(self) -> None:
        try:
            for message in self.socket:
                data = json.loads(message)
                with self.condition:
                    if "id" in data:
                        self.answers[data["id"]] = data
                    else:
                        self._record(data)
                    self.condition.notify_all()
        except Exception:  # the socket closed: the browser is gone
            with self.condition:
                self.condition.notify_all()

    def _record(self, event: dict[str, Any]) -> None:
        method, params = event.get("method"), event.get("params", {})
        self.events.append(event)
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])

    def call(self, method: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result, or BrowserError."""
        key = next(self.ids)
        self.socket.send(json.dumps({"id": key, "method": method, "params": params}))
        with self.condition:
            if not self.condition.wait_for(lambda: key in self.answers or not self.reader.is_alive(), timeout):
                raise BrowserError(f"{method}: no answer in {timeout} s")
            if key not in self.answers:
                raise BrowserError(f"{method}: the browser went away")
            answer = self.answers.pop(key)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error'].get('message')}")
        return answer["result"]

    def goto(self, url: str, timeout: float = 60) -> None:
        """Open ``url`` and wait for its load event."""
        with self.condition:
            seen = len(self.events)
        self.call("Page.navigate", url=url)
        with self.condition:
            loaded = self.condition.wait_for(
                lambda: any(e.get("method") == "Page.loadEventFired" for e in self.events[seen:]), timeout)
        if not loaded:
            raise BrowserError(f"{url}: not loaded in {timeout} s")

    def evaluate(self, expression: str, timeout: float = 120) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited); BrowserError if it throws."""
        result = self.call("Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True,
                           returnByValue=True, userGesture=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60, every: float = 0.1) -> Any:
        """Evaluate ``expression`` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"still false after {timeout} s: {expression}; errors: {self.errors[-5:]}")
            time.sleep(every)

    def set_files(self, selector: str, paths: list[Path]) -> None:
        """Give the file input ``selector`` these files, as a user picking them would (its change event fires)."""
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        if not node:
            raise BrowserError(f"no element {selector}")
        self.call("DOM.setFileInputFiles", nodeId=node, files=[str(p) for p in paths])

    def screenshot(self) -> bytes:
        """The viewport as PNG."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        self.socket.close()
