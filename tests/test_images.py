"""Image reading: every EXIF orientation, grey / RGBA / 16-bit inputs, and the errors for bad files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from i2i.errors import DataError
from i2i.images import list_images, read_image, to_channels, write_image


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


def test_write_is_atomic_and_listing_skips_hidden(tmp_path: Path) -> None:
    write_image(tmp_path / "a" / "x.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "a" / ".hidden.png").write_bytes(b"")
    (tmp_path / "a" / "readme.txt").write_text("")
    assert [p.name for p in list_images(tmp_path)] == ["x.png"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [".hidden.png", "readme.txt", "x.png"]  # no temp left
