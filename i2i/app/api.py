"""The HTTP side of `i2i app`: the pages and their files, and a thin JSON/image API over i2i's Python API.

Translate and upscale go through i2i.infer.Translator (tiles, alpha, grey, the decompression-bomb guard of
`i2i translate`), samples through i2i.sampling, reports through i2i.report. No request names a file: models,
runs, folder images and page files are looked up by name or index in listings the app made itself.
Every problem is a one-line message in JSON with a 4xx status; the server keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..errors import ConfigError, DataError, I2IError, ModelError
from ..images import decode_image, encode_image
from ..infer.files import describe
from ..infer.translate import AUTO_TILE, Translator, side_scaled
from ..report.html import CSP as REPORT_CSP
from . import ortweb
from .catalog import GENERATE, TRANSLATE
from .runs import NotFound, safe_file_name

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "translate.html", "/sample": "sample.html", "/live": "live.html", "/runs": "runs.html"}
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".wasm": "application/wasm", ".png": "image/png", ".json": "application/json", "": "text/plain"}
UPLOAD_TIMEOUT = 300.0  # seconds a request body may take to arrive: a client that trickles cannot hold a place
MAX_SAMPLES = 256
MAX_WALK = 32
ALPHA_OUT = (".png", ".webp")


class TooLarge(I2IError):
    """An upload over --max-upload-mb."""


class ModelFailed(I2IError):
    """The model could not translate this image (ONNX Runtime's error, out of memory)."""


STATUS = ((NotFound, 404), (ModelError, 404), (TooLarge, 413), (ModelFailed, 422), (ConfigError, 400),
          (DataError, 400), (I2IError, 400))


def problem(error: I2IError) -> JSONResponse:
    """The JSON answer for a user's problem: its one-line message and the status its kind calls for."""
    status = next(code for kind, code in STATUS if isinstance(error, kind))
    return JSONResponse({"error": str(error)}, status_code=status, headers={"cache-control": "no-store"})


def answers(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Wrap a handler: i2i's errors become 4xx JSON; anything else is a 500 without a traceback, logged."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except I2IError as e:
            return problem(e)
        except ClientDisconnect:  # the client went away mid-upload: nobody to answer, nothing kept
            return Response(status_code=400)
        except asyncio.TimeoutError:
            return JSONResponse({"error": f"the upload took over {UPLOAD_TIMEOUT:g} s; try again"}, status_code=408)
        except Exception as e:  # a bug: the user gets one line, the console the details
            import traceback

            traceback.print_exc()
            return JSONResponse({"error": f"internal error ({type(e).__name__}); see the app's console"},
                                status_code=500)

    return wrapped


def state_of(request: Request) -> Any:
    return request.app.state.i2i


def number(request: Request, name: str, low: int, high: int | None = None, default: int | None = None) -> int | None:
    """An integer query parameter in [low, high]; ConfigError naming it otherwise."""
    text = request.query_params.get(name, "")
    if text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} '{text[:20]}': expected a whole number") from None
    if value < low or (high is not None and value > high):
        raise ConfigError(f"{name} {value}: must be {low} or more" + (f" and at most {high}" if high is not None
                                                                        else ""))
    return value


# -- pages and their files -------------------------------------------------------------------------------------

def startup_check() -> None:
    """The page files and the pinned onnxruntime-web must be there (one line saying how to get them if not)."""
    for page in PAGES.values():
        if not (STATIC / page).is_file():
            raise I2IError(f"{STATIC / page}: missing from the package; reinstall i2i")
    ortweb.runtime_folder()


def static_files() -> dict[str, Path]:
    """Every file the pages may load, by URL path: the page files, and the runtime's (fixed names only)."""
    files = {f"/static/{p.name}": p for p in STATIC.iterdir() if p.is_file() and not p.is_symlink()}
    folder = ortweb.FOLDER
    files.update({f"/static/ort/{name}": folder / name for name in (*ortweb.FILES, ortweb.LICENCE)})
    return files


def send_file(request: Request, path: Path, cache: str = "no-cache") -> Response:
    """A file with its media type; 304 when the browser's copy is current (ETag), so large files load once."""
    try:
        stat = path.stat()
    except OSError:
        raise NotFound(f"{request.url.path}: no such file") from None
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {"cache-control": cache, "etag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"), headers=headers,
                        stat_result=stat)


def page_route(path: str, file: str) -> Route:
    async def page(request: Request) -> Response:
        return send_file(request, STATIC / file)

    return Route(path, page)


async def static(request: Request) -> Response:
    path = static_files().get(request.url.path)
    if path is None or not path.is_file():
        raise NotFound(f"{request.url.path}: no such file")
    return send_file(request, path)


# -- models ----------------------------------------------------------------------------------------------------

async def config(request: Request) -> Response:
    state = state_of(request)
    settings = state.settings
    return JSONResponse({"version": __version__, "runtime": ortweb.Pin.read().version,
                         "max_upload_mb": settings.max_upload_mb, "max_pixels": settings.max_pixels,
                         "folder": [str(p.relative_to(settings.folder)) for p in state.folder_images]})


async def models(request: Request) -> Response:
    catalog = state_of(request).catalog
    entries = await state_of(request).light(catalog.entries)
    return JSONResponse({"models": [entry.public() for entry in entries.values()]})


async def model_file(request: Request) -> Response:
    """A model's graph or weights file, for the in-browser runtime (only files of models on offer)."""
    entries = await state_of(request).light(state_of(request).catalog.entries)
    entry = entries.get(request.path_params["name"])
    path = entry.files.get(request.path_params["file"]) if entry is not None else None
    if path is None:
        raise NotFound(f"{request.url.path}: no such model file")
    return send_file(request, path)


async def status(request: Request) -> Response:
    state = state_of(request)
    return JSONResponse({**state.counters.snapshot(), "open_models": state.catalog.open_sessions()})


# -- translate -------------------------------------------------------------------------------------------------

@dataclass
class Translated:
    data: bytes
    media_type: str
    file_name: str
    model_ms: float
    size: tuple[int, int]


async def read_upload(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it exceeds ``limit`` bytes (or says it will), or once it has taken
    ``UPLOAD_TIMEOUT`` seconds to arrive (a 408)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the upload is {int(declared) / 1e6:.1f} MB, over the limit of {limit / 1e6:g} MB "
                       "(--max-upload-mb)")

    async def body() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the upload is over the limit of {limit / 1e6:g} MB (--max-upload-mb)")
            chunks.append(chunk)
        return b"".join(chunks)

    return await asyncio.wait_for(body(), UPLOAD_TIMEOUT)


def translate_bytes(state: Any, data: bytes, name: str, model_name: str, size: int | None, tile: int | None,
                    overlap: int) -> Translated:
    """Decode (with the bomb guard), translate as `i2i translate` does, encode in the input's format."""
    if not data:
        raise DataError(f"{name}: the file is empty (0 bytes)")
    limit = state.settings.max_pixels
    image = decode_image(data, name, limit)
    model = state.catalog.translator_model(model_name)
    check_work_size(image.shape[:2], size, model.info.scale, limit, name)
    translator = Translator(model, size=size, tile=tile, overlap=overlap)
    with state.model_slots:
        start = time.perf_counter()
        try:
            output = translator(image, name)
        except I2IError:
            raise
        except Exception as e:  # ONNX Runtime's errors, MemoryError: this image fails, the app goes on
            raise ModelFailed(f"{name}: model {model_name} failed on this image ({describe(e)})") from None
        model_ms = 1000 * (time.perf_counter() - start)
    stem, ext = Path(name).stem or "image", Path(name).suffix.lower()
    ext = ".jpg" if ext in (".jpg", ".jpeg") else ".webp" if ext == ".webp" else ".png"
    if output.shape[2] in (2, 4) and ext not in ALPHA_OUT:
        output = output[:, :, : output.shape[2] - 1]
    media = {".jpg": "image/jpeg", ".webp": "image/webp", ".png": "image/png"}[ext]
    return Translated(encode_image(output, ext, 95), media, safe_file_name(f"{stem}_{model_name}{ext}"), model_ms,
                      (output.shape[1], output.shape[0]))


def check_work_size(shape: tuple[int, int], size: int | None, scale: int, limit: int, name: str) -> None:
    """Refuse an image whose resized input (``size``) or output (``scale`` times larger) would exceed ``limit``
    pixels: --max-pixels bounds what a request makes, not only what it sends."""
    height, width = shape
    if size:
        work_width, work_height = side_scaled(width, height, size)
        work = work_width * work_height
        if work > limit:
            raise DataError(f"{name}: at size {size} it would be {work / 1e6:.1f} megapixels, over the app's limit "
                            f"of {limit / 1e6:g} (--max-pixels); give a smaller size")
    out = height * width * scale * scale
    if out > limit:
        raise DataError(f"{name}: upscaled x{scale} it would be {out / 1e6:.1f} megapixels, over the app's limit of "
                        f"{limit / 1e6:g} (--max-pixels); upscale a smaller image or start the app with a larger "
                        "--max-pixels")


async def translate(request: Request) -> Response:
    """POST the image as the body (or ?file=N, an image of --folder); the translated image comes back."""
    state = state_of(request)
    model_name = request.query_params.get("model", "")
    # an unknown model is refused before the upload is read
    entry = await state.light(lambda: state.catalog.get(model_name, TRANSLATE))
    size = number(request, "size", 1, 8192)
    # the app always tiles large images (automatically, or at most 1024-pixel tiles): tiles bound ONNX Runtime's
    # memory whatever the client asks
    tile = number(request, "tile", 1, AUTO_TILE)
    # the defaults of `i2i translate` (64) and, for a model that upscales, of `i2i upscale` (16)
    overlap = number(request, "overlap", 0, 4096, default=64 if entry.meta.get("scale", "1") == "1" else 16)
    limit = int(state.settings.max_upload_mb * 1e6)
    async with state.upload_slots():
        state.counters.change("uploads", 1)
        try:
            index = None
            if "file" in request.query_params:
                if not state.folder_images:
                    raise NotFound("no folder of images here (start the app with --folder DIR)")
                index = number(request, "file", 0, len(state.folder_images) - 1)
            if index is not None:
                path = state.folder_images[index]
                name = path.name
                data = await state.light(lambda: read_folder_image(path, limit))
            else:
                name = safe_file_name(request.query_params.get("name", "image"))
                data = await read_upload(request, limit)
            result = await state.run(lambda: translate_bytes(state, data, name, model_name, size, tile, overlap))
        finally:
            state.counters.change("uploads", -1)
    return Response(result.data, media_type=result.media_type, headers={
        "content-disposition": f'attachment; filename="{result.file_name}"', "cache-control": "no-store",
        "x-i2i-model-ms": f"{result.model_ms:.2f}", "x-i2i-size": f"{result.size[0]}x{result.size[1]}"})


def read_folder_image(path: Path, limit: int) -> bytes:
    """An image of --folder, read whole as an upload would be (and held to the same size limit)."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise TooLarge(f"{path.name}: {size / 1e6:.1f} MB, over the limit of {limit / 1e6:g} MB (--max-upload-mb)")
        return path.read_bytes()
    except OSError as e:
        raise NotFound(f"{path.name}: cannot be read from the folder ({e.strerror or e})") from None


async def folder_image(request: Request) -> Response:
    """An image of --folder by its index in the listing (for the page to show it before translating)."""
    images = state_of(request).folder_images
    index = request.path_params["index"]
    if not 0 <= index < len(images):
        raise NotFound(f"no image {index} in the folder")
    return send_file(request, images[index])


# -- sample ----------------------------------------------------------------------------------------------------

async def sample(request: Request) -> Response:
    """POST {"model", "count", "seed", "label", "walk": {"rows", "steps"}}: the grid as PNG."""
    state = state_of(request)
    async with state.upload_slots():  # a sample request holds a place as an upload does, so they cannot pile up
        return await _sample(state, request)


async def _sample(state: Any, request: Request) -> Response:
    try:
        body = json.loads(await read_upload(request, 65536) or b"{}")
    except ValueError:
        raise ConfigError("the request is not JSON") from None
    if not isinstance(body, dict):
        raise ConfigError("the request must be a JSON object")
    model_name = str(body.get("model", ""))
    await state.light(lambda: state.catalog.get(model_name, GENERATE))
    seed = _field(body, "seed", 0, 2**32 - 1, 0)
    label = body.get("label")
    label = None if label in (None, "") else str(label)
    walk = body.get("walk")

    def draw() -> tuple[bytes, float]:
        from ..sampling.sheets import sample_sheet, walk_sheet

        generator = state.catalog.generator(model_name)
        with state.model_slots:
            start = time.perf_counter()
            if isinstance(walk, dict):
                rows, steps = _field(walk, "rows", 1, MAX_WALK, 4), _field(walk, "steps", 2, MAX_WALK, 8)
                sheet = walk_sheet(generator, rows, steps, seed, label)
            else:
                sheet = sample_sheet(generator, _field(body, "count", 1, MAX_SAMPLES, 16), seed, label)[1]
            ms = 1000 * (time.perf_counter() - start)
        return encode_image(sheet, ".png"), ms

    data, ms = await state.run(draw)
    return Response(data, media_type="image/png", headers={"cache-control": "no-store", "x-i2i-model-ms": f"{ms:.2f}"})


def _field(body: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{name} {value!r}: a whole number from {low} to {high}")
    return value


# -- runs ------------------------------------------------------------------------------------------------------

async def runs(request: Request) -> Response:
    state = state_of(request)
    return JSONResponse({"root": str(state.settings.runs), "runs": await state.light(state.runs.summary)})


async def run_sample(request: Request) -> Response:
    runs_folder = state_of(request).runs
    return send_file(request, runs_folder.latest_sample(request.path_params["name"]))


async def run_report(request: Request) -> Response:
    state = state_of(request)
    html = await state.light(lambda: state.runs.report([request.path_params["name"]]))
    return report_page(html)


async def compare(request: Request) -> Response:
    state = state_of(request)
    names = request.query_params.getlist("run")
    html = await state.light(lambda: state.runs.report(names))
    return report_page(html)


def report_page(html: str) -> Response:
    """A report, under the report's own policy: it loads nothing at all (its scripts and styles are inline)."""
    return HTMLResponse(html, headers={"content-security-policy": REPORT_CSP, "cache-control": "no-store"})


async def not_found(request: Request) -> Response:
    raise NotFound(f"{request.url.path}: no such page")


def routes() -> list[Route]:
    table: list[tuple[str, Callable[[Request], Any], list[str]]] = [
        ("/static/{path:path}", static, ["GET", "HEAD"]),
        ("/api/config", config, ["GET"]),
        ("/api/models", models, ["GET"]),
        ("/api/status", status, ["GET"]),
        ("/api/translate", translate, ["POST"]),
        ("/api/folder/{index:int}", folder_image, ["GET"]),
        ("/api/sample", sample, ["POST"]),
        ("/api/runs", runs, ["GET"]),
        ("/models/{name}/{file}", model_file, ["GET", "HEAD"]),
        ("/runs/compare", compare, ["GET"]),
        ("/runs/{name}/sample.png", run_sample, ["GET"]),
        ("/runs/{name}/report.html", run_report, ["GET"]),
    ]
    found = [page_route(path, file) for path, file in PAGES.items()]
    found += [Route(path, answers(handler), methods=methods) for path, handler, methods in table]
    found.append(Route("/{rest:path}", answers(not_found), methods=["GET", "HEAD", "POST", "PUT", "DELETE"]))
    return found
