"""The Live page's on-server mode: webcam frames over a WebSocket to ONNX Runtime, results back.

The page sends each frame as a JPEG (binary message); the server keeps only the newest one in i2i.live's
FrameSlot, exactly as `i2i webcam` does with a camera: a frame that arrives while the model is busy replaces
the waiting one and counts as dropped, so a slow model drops frames and never queues them. A worker thread per
socket fits the frame to the model's side (crop or pad, i2i.live.view.fit), translates it (i2i.infer.Translator)
and sends back a JSON line (frame number, model and server time, dropped frames) followed by the JPEG result.
When the client goes, the slot closes and the worker ends after the frame in hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import numpy as np
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import ConfigError, I2IError
from ..images import decode_image, encode_image, round_up, to_channels
from ..infer.files import describe
from ..infer.translate import Translator
from ..live.capture import Frame, FrameSlot
from ..live.session import default_side
from ..live.view import FITS, fit
from .api import ModelFailed
from .catalog import TRANSLATE

MAX_FRAME_BYTES = 8 * 2**20
MAX_FRAME_PIXELS = 3840 * 2160  # a 4K camera: what a live frame may decode to, whatever --max-pixels allows
MAX_SIDE = 2048
SEND_TIMEOUT = 30.0  # seconds a client may take to accept a result before the socket is given up


def live_route() -> WebSocketRoute:
    """The Live page's socket."""
    return WebSocketRoute("/ws/live", live)


async def live(websocket: WebSocket) -> None:
    """One live client: its options checked, then frames in and results out until it goes."""
    state = websocket.app.state.i2i
    await websocket.accept()
    params = websocket.query_params
    try:
        entry = await state.light(lambda: state.catalog.get(params.get("model", ""), TRANSLATE))
        mode = params.get("fit", "crop")
        if mode not in FITS:
            raise ConfigError(f"fit {mode}: choose {' or '.join(FITS)}")
        size = _side(params.get("size", ""))
        if state.counters.live >= state.settings.max_live:
            raise ConfigError(f"the server is busy: {state.settings.max_live} live clients already (--max-live)")
    except I2IError as e:
        await websocket.send_json({"error": str(e)})
        await websocket.close(1008)
        return
    state.counters.change("live", 1)
    slot = FrameSlot(drop_stale=True)
    loop = asyncio.get_running_loop()
    worker_done = asyncio.Event()
    worker: threading.Thread | None = None
    try:
        try:
            model = await state.light(lambda: state.catalog.translator_model(entry.name))
        except I2IError:
            raise
        except Exception as e:  # ONNX Runtime could not open the file: one line, the server goes on
            raise ModelFailed(f"model {entry.name} could not be opened ({describe(e)})") from None
        side = round_up(size or default_side(model.info.scale, model.info.train_size), model.info.size_multiple)
        translator = Translator(model, tile=0)
        await websocket.send_json({"ready": True, "model": entry.name, "side": side, "provider": model.provider,
                                   "scale": model.info.scale})
        worker = threading.Thread(target=_worker, name="i2i-live", daemon=True,
                                  args=(state, slot, translator, side, mode, websocket, loop, worker_done))
        worker.start()
        index = 0
        while True:
            try:
                message = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError):  # the client went away mid-message: a goodbye
                break
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if data is None:
                continue  # text messages carry nothing the server needs
            if len(data) > MAX_FRAME_BYTES:
                await _try_send(websocket, {"error": f"a frame of {len(data) / 1e6:.1f} MB is over the "
                                                    f"{MAX_FRAME_BYTES / 2**20:.0f} MB limit"})
                break
            # the encoded frame, as bytes in an array: decoded by the worker, never here on the event loop
            slot.put(Frame(np.frombuffer(data, np.uint8), index, time.perf_counter()))
            index += 1
    except I2IError as e:
        await _try_send(websocket, {"error": str(e)})
    finally:
        slot.close("client left")
        if worker is None:
            state.counters.change("live", -1)
        else:  # the worker gives its place back itself when it ends (after the frame in hand); no thread waits
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(worker_done.wait(), SEND_TIMEOUT)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # already closed, or the client is gone
            await websocket.close()


def _side(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_SIDE:
        raise ConfigError(f"size {text[:10]}: a side from 1 to {MAX_SIDE} pixels")
    return int(text)


def _worker(state: Any, slot: FrameSlot, translator: Translator, side: int, mode: str, websocket: WebSocket,
            loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
    """A live socket's thread: translate frames until the socket ends, then free its --max-live place and say so
    (so --max-live counts running workers, also one still finishing a slow frame)."""
    try:
        _translate_frames(state, slot, translator, side, mode, websocket, loop)
    finally:
        state.counters.change("live", -1)
        with contextlib.suppress(RuntimeError):  # the event loop has already ended (the app stopped)
            loop.call_soon_threadsafe(done.set)


def _translate_frames(state: Any, slot: FrameSlot, translator: Translator, side: int, mode: str,
                      websocket: WebSocket, loop: asyncio.AbstractEventLoop) -> None:
    """The worker: newest frame -> fit -> model -> JPEG, until the slot closes or the client stops reading."""
    while True:
        frame = slot.take(timeout=0.5)
        if frame is None:
            if slot.closed is not None:
                return
            continue
        started = time.perf_counter()
        header: dict[str, Any] = {"frame": frame.index}
        result = None
        try:
            limit = min(MAX_FRAME_PIXELS, state.settings.max_pixels)
            image = to_channels(decode_image(frame.image.tobytes(), f"frame {frame.index}", limit), 3)
            fitted = fit(image, side, mode)
            with state.model_slots:
                begin = time.perf_counter()
                output = translator(fitted.image)
                header["model_ms"] = round(1000 * (time.perf_counter() - begin), 2)
            result = encode_image(output, ".jpg", 90)
        except I2IError as e:
            header["error"] = str(e)
        except Exception as e:  # the model failed on this frame: say so, keep the socket
            header["error"] = f"the model failed on frame {frame.index} ({describe(e)})"
        header["server_ms"] = round(1000 * (time.perf_counter() - started), 2)
        header["dropped"] = slot.dropped
        try:
            asyncio.run_coroutine_threadsafe(_send(websocket, header, result), loop).result(SEND_TIMEOUT)
        except Exception:  # the client went away (or stopped reading): end this worker
            slot.close("client left")
            return


async def _send(websocket: WebSocket, header: dict[str, Any], image: bytes | None) -> None:
    await websocket.send_json(header)
    if image is not None:
        await websocket.send_bytes(image)


async def _try_send(websocket: WebSocket, message: dict[str, Any]) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_json(message)
