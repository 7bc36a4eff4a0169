"""Reading and writing images with OpenCV and NumPy only (no torch), shared by training and inference.

Images come back as (H, W, C) uint8 arrays in RGB(A) order, upright (EXIF orientation applied).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np

from ..errors import DataError
from ..fileio import atomic_path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our errors say it once

_JPEG_SOI = b"\xff\xd8"


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


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes to (H, W, C) uint8 RGB, RGBA or grey (C=1), upright.

    16-bit images are scaled to 8 bits. Raises DataError naming ``name`` for anything unreadable.
    """
    if data[:2] == _JPEG_SOI and data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        raise DataError(f"{name}: truncated JPEG (the file ends before the image data does)")
    buf = np.frombuffer(data, np.uint8)
    try:
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


def read_image(path: str | os.PathLike[str], channels: int | None = None) -> np.ndarray:
    """Read an image file as (H, W, C) uint8; ``channels`` 1 or 3 converts it (see ``to_channels``)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    image = decode_image(data, os.fspath(path))
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
