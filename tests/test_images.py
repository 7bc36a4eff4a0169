"""Image reading: every EXIF orientation, grey / RGBA / 16-bit inputs, and the errors for bad files."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from i2i.errors import DataError, WriteError
from i2i.images import encode_image, list_images, read_image, to_channels, write_image


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("ext", ["jpg", "png", "webp"])
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int, ext: str) -> None:
    base = np.zeros((20, 40, 3), np.uint8)
    base[:5, :10] = (255, 0, 0)
    base[15:, 30:] = (0, 255, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o.{ext}"
    Image.fromarray(base).save(path, exif=exif.tobytes(), **({"quality": 100} if ext == "jpg" else {}))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB")).astype(int)
    got = read_image(path).astype(int)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 2


def test_grey_rgba_and_16bit_inputs(tmp_path: Path) -> None:
    grey16 = (np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500)
    cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    image = read_image(tmp_path / "g16.png")
    assert image.shape == (12, 10, 1) and image.dtype == np.uint8
    assert image[5, 5, 0] == (grey16[5, 5] >> 8)
    assert read_image(tmp_path / "g16.png", 3).shape == (12, 10, 3)

    rgba = np.zeros((8, 6, 4), np.uint8)
    rgba[..., 2] = 200  # red in BGRA
    rgba[..., 3] = 128
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    assert read_image(tmp_path / "rgba.png").shape == (8, 6, 4)
    rgb = read_image(tmp_path / "rgba.png", 3)
    assert rgb.shape == (8, 6, 3) and tuple(rgb[0, 0]) == (200, 0, 0)
    assert read_image(tmp_path / "rgba.png", 1).shape == (8, 6, 1)

    rgb16 = np.full((4, 4, 3), 40000, np.uint16)
    cv2.imwrite(str(tmp_path / "c16.tiff"), rgb16)
    assert read_image(tmp_path / "c16.tiff")[0, 0, 0] == 40000 >> 8


def test_channel_conversion() -> None:
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = 255
    assert to_channels(rgb, 1)[0, 0, 0] == 76  # ITU-R 601 luma of pure red
    assert to_channels(to_channels(rgb, 1), 3).shape == (2, 2, 3)


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    write_image(good, np.full((32, 32, 3), 100, np.uint8))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(DataError, match=r"truncated\.jpg: .*truncated"):
        read_image(truncated)
    with pytest.raises(DataError, match=r"notes\.png: not a readable image"):
        read_image(text)
    with pytest.raises(DataError, match=r"missing\.png: no such file"):
        read_image(tmp_path / "missing.png")


def test_listing_skips_hidden_files(tmp_path: Path) -> None:
    write_image(tmp_path / "a" / "x.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "a" / ".hidden.png").write_bytes(b"")
    (tmp_path / "a" / "readme.txt").write_text("")
    assert [p.name for p in list_images(tmp_path)] == ["x.png"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [".hidden.png", "readme.txt", "x.png"]  # no temp left


def noise(seed: int, side: int = 64) -> np.ndarray:
    """An image that PNG cannot compress much, so that writing it takes many write() calls."""
    return np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)


def test_an_image_write_that_fails_midway_leaves_the_previous_file(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoder failing, or the disk filling up after half the bytes are out: the old file, byte for byte."""
    target = tmp_path / "x.png"
    write_image(target, noise(0))
    old = target.read_bytes()

    def encoder_fails(*_: object) -> tuple[bool, None]:
        return False, None

    monkeypatch.setattr(cv2, "imencode", encoder_fails)
    with pytest.raises(DataError, match="cannot encode"):
        write_image(target, noise(1))
    monkeypatch.undo()
    assert target.read_bytes() == old

    real_write = Path.write_bytes

    def half_then_disk_full(self: Path, data: bytes) -> int:
        real_write(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", half_then_disk_full)
    with pytest.raises(WriteError, match=r"x\.png: cannot write \(No space left on device\)"):
        write_image(target, noise(1))
    monkeypatch.undo()
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # the half-written temporary file is gone


def test_readers_see_the_old_image_or_the_whole_new_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mid-write, the path still holds the old file (not a truncated one); and a reader polling the path while it
    is rewritten 30 times only ever reads one of the two complete files."""
    target = tmp_path / "x.png"
    first, second = noise(0, 256), noise(1, 256)
    write_image(target, first)
    versions = {encode_image(first, ".png"), encode_image(second, ".png")}
    old = target.read_bytes()

    real_write, mid_write = Path.write_bytes, []

    def write_in_two_halves(self: Path, data: bytes) -> int:
        real_write(self, data[: len(data) // 2])
        mid_write.append(target.read_bytes())  # what a reader would get now
        with open(self, "ab") as f:
            return f.write(data[len(data) // 2 :])

    monkeypatch.setattr(Path, "write_bytes", write_in_two_halves)
    write_image(target, second)
    monkeypatch.undo()
    assert mid_write == [old] and target.read_bytes() == encode_image(second, ".png")

    seen, stop = [], threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.append(target.read_bytes())

    polling = threading.Thread(target=reader)
    polling.start()
    try:
        for i in range(30):
            write_image(target, first if i % 2 else second)
    finally:
        stop.set()
        polling.join()
    assert len(seen) > 30 and all(data in versions for data in seen)


def test_decoding_leaves_opencvs_log_level_as_the_program_set_it() -> None:
    """i2i silences OpenCV while it decodes (its own error says it once), not for the whole program."""
    import subprocess
    import sys

    program = (
        "import cv2\n"
        "cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_WARNING)\n"
        "from i2i.images import decode_image\n"
        "from i2i.errors import DataError\n"
        "try:\n"
        "    decode_image(b'\\x89PNG\\r\\n\\x1a\\n not really', 'bad.png')\n"
        "except DataError:\n"
        "    pass\n"
        "print(cv2.utils.logging.getLogLevel() == cv2.utils.logging.LOG_LEVEL_WARNING)\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "True", result.stdout + result.stderr
