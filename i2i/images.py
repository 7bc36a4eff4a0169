"""Reading and writing images with OpenCV and NumPy only (no torch), shared by training and inference.

Images come back as (H, W, C) uint8 arrays in RGB(A) order, upright (EXIF orientation applied).
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import cv2
import numpy as np

from .errors import DataError
from .fileio import atomic_path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
# Images a user hands to a command are refused above this many pixels (--max-pixels), before they are decoded
MAX_PIXELS = 100_000_000



class _QuietOpenCV:
    """OpenCV's own log silenced while i2i decodes (its one-line errors say it once), restored afterwards.

    Counted, so that threads decoding at once leave the level as the program had it when the last one ends.
    """

    def __init__(self) -> None:
        self.lock, self.users, self.saved = threading.Lock(), 0, 0

    def __enter__(self) -> None:
        with self.lock:
            if self.users == 0:
                self.saved = cv2.utils.logging.getLogLevel()
                cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
            self.users += 1

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                cv2.utils.logging.setLogLevel(self.saved)


_quiet_opencv = _QuietOpenCV()

_JPEG_SOI = b"\xff\xd8"


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is at least ``value``."""
    return -(-value // multiple) * multiple


def resize_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area filter to shrink (no aliasing), bicubic to enlarge (the reference's filter); keeps a channel axis."""
    if (width, height) == (image.shape[1], image.shape[0]):
        return image
    shrink = width < image.shape[1] and height < image.shape[0]
    out = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return out.reshape(height, width, -1) if image.ndim == 3 else out


def is_image_file(path: str | os.PathLike[str]) -> bool:
    name = os.fspath(path)
    return name.lower().endswith(IMAGE_EXTENSIONS) and not os.path.basename(name).startswith(".")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files under ``folder`` (recursively, hidden files skipped), sorted by path."""
    root = Path(folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath) / f for f in filenames if is_image_file(f)]
    return sorted(found)


def decode_image(data: bytes, name: str = "<bytes>", max_pixels: int | None = None) -> np.ndarray:
    """Decode encoded image bytes to (H, W, C) uint8 RGB, RGBA or grey (C=1), upright.

    16-bit images are scaled to 8 bits. ``max_pixels`` is checked against the header before decoding, so a
    small file that would expand to gigabytes (a decompression bomb) is refused without allocating them.
    Raises DataError naming ``name`` for anything unreadable or too large.
    """
    _check_size(data, name, max_pixels)
    if data[:2] == _JPEG_SOI and data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        raise DataError(f"{name}: truncated JPEG (the file ends before the image data does)")
    buf = np.frombuffer(data, np.uint8)
    try:
        with _quiet_opencv:
            image, kinds, blocks = cv2.imdecodeWithMetadata(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image, kinds, blocks = None, None, ()
    if image is None or image.size == 0:
        raise DataError(f"{name}: not a readable image (corrupt, truncated or an unsupported format)")
    orientation = 1
    for kind, block in zip(np.asarray(kinds).ravel() if kinds is not None else (), blocks, strict=False):
        if kind == cv2.IMAGE_METADATA_EXIF:
            orientation = exif_orientation(np.asarray(block).tobytes())
    image = _to_uint8(image, name)
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif channels == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    elif channels != 1:
        raise DataError(f"{name}: {channels}-channel images are not supported")
    return _upright(image, orientation)


def _check_size(data: bytes, name: str, max_pixels: int | None) -> None:
    """DataError when the header of encoded image ``data`` gives it more than ``max_pixels`` pixels."""
    if max_pixels is None:
        return
    size = image_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        w, h = size
        raise DataError(f"{name}: {w}x{h} is {w * h / 1e6:.0f} megapixels, over the limit of "
                        f"{max_pixels / 1e6:.0f} (--max-pixels)")


def check_pixels(path: str | os.PathLike[str], max_pixels: int | None) -> None:
    """``read_image``'s decompression-bomb check alone, for a file another reader decodes."""
    if max_pixels is not None:
        try:
            _check_size(Path(path).read_bytes(), os.fspath(path), max_pixels)
        except OSError as e:
            raise DataError(f"{path}: cannot read ({e.strerror})") from None


def read_image(path: str | os.PathLike[str], channels: int | None = None, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as (H, W, C) uint8; ``channels`` 1 or 3 converts it (see ``to_channels``)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    image = decode_image(data, os.fspath(path), max_pixels)
    return image if channels is None else to_channels(image, channels)


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Convert grey / RGB / RGBA to ``channels`` (1 grey or 3 RGB); alpha is dropped, as the reference does."""
    have = image.shape[2]
    if have == channels:
        return image
    if have == 4:
        image, have = image[:, :, :3], 3
        if channels == 3:
            return np.ascontiguousarray(image)
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
    if channels == 3:
        return np.repeat(image, 3, axis=2)
    raise ValueError(f"cannot convert {have} channels to {channels}")


def encode_image(image: np.ndarray, ext: str = ".png", quality: int = 95) -> bytes:
    """Encode (H, W, C) uint8 RGB(A) or grey to ``ext`` format bytes."""
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext.lower() in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise DataError(f"cannot encode an image of shape {image.shape} as {ext}")
    return buf.tobytes()


def write_image(path: str | os.PathLike[str], image: np.ndarray, quality: int = 95) -> None:
    """Write an image atomically; the format follows the file extension."""
    data = encode_image(image, Path(path).suffix or ".png", quality)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, WebP, BMP or TIFF, without decoding; None if unknown."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return struct.unpack(">II", data[16:24])
        if data.startswith(_JPEG_SOI):
            return _jpeg_size(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data.startswith(b"BM"):
            width, height = struct.unpack("<ii", data[18:26])
            return abs(width), abs(height)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(data)
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            pos += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(endian + "I", data, 4)
    (count,) = struct.unpack_from(endian + "H", data, ifd)
    found = {}
    for i in range(count):
        tag, kind, _ = struct.unpack_from(endian + "HHI", data, ifd + 2 + 12 * i)
        if tag in (256, 257):
            fmt = "H" if kind == 3 else "I"
            (found[tag],) = struct.unpack_from(endian + fmt, data, ifd + 10 + 12 * i)
    return (found[256], found[257]) if len(found) == 2 else None


def exif_orientation(exif: bytes) -> int:
    """The EXIF orientation (1-8) in a TIFF-structured EXIF block; 1 when absent or unreadable."""
    if exif.startswith(b"Exif\x00\x00"):
        exif = exif[6:]
    if len(exif) < 8 or exif[:2] not in (b"II", b"MM"):
        return 1
    endian = "<" if exif[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(endian + "I", exif, 4)
        (count,) = struct.unpack_from(endian + "H", exif, ifd)
        for i in range(count):
            tag, kind, _, value = struct.unpack_from(endian + "HHIH", exif, ifd + 2 + 12 * i)
            if tag == 0x0112 and kind == 3:
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def _upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation so the array shows what the camera saw."""
    if orientation in (5, 6, 7, 8):
        image = np.swapaxes(image, 0, 1)  # transpose, then flip as needed
    flips = {2: (1,), 3: (0, 1), 4: (0,), 6: (1,), 7: (0, 1), 8: (0,)}.get(orientation, ())
    for axis in flips:
        image = np.flip(image, axis)
    return np.ascontiguousarray(image)


def _to_uint8(image: np.ndarray, name: str) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    raise DataError(f"{name}: {image.dtype} pixels are not supported (8- or 16-bit images only)")
