"""Translating images with exported models: sizes, channels, alpha, EXIF, tiling, files, errors, no torch."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SAMPLE
from PIL import Image

from i2i.cli.main import main
from i2i.errors import ConfigError, DataError
from i2i.images import read_image, write_image
from i2i.infer import OnnxModel, Translator, plan
from i2i.infer.tiling import tile_starts, translate_tiled


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth real-looking image: a crop of the bundled sample, resized."""
    tile = cv2.cvtColor(cv2.imread(str(SAMPLE / "val" / "pixels_r2c1.jpg")), cv2.COLOR_BGR2RGB)[:, :256]
    return cv2.resize(np.roll(tile, seed * 17, axis=1), (width, height), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("model", ["unet", "resnet"])
def test_output_keeps_the_input_size(tiny_models: dict[str, Path], model: str) -> None:
    translate = Translator(OnnxModel(tiny_models[model], "cpu"))
    for height, width in ((37, 53), (64, 64), (100, 31)):
        assert translate(photo(height, width)).shape == (height, width, 3)


def test_grey_rgba_and_16_bit_inputs(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    translate = Translator(OnnxModel(tiny_models["unet"], "cpu"))
    grey = cv2.cvtColor(photo(40, 48), cv2.COLOR_RGB2GRAY)[:, :, None]
    assert translate(grey).shape == (40, 48, 3)
    rgba = np.concatenate([photo(40, 48), np.arange(40 * 48, dtype=np.uint16).reshape(40, 48, 1) % 256], axis=2)
    out = translate(rgba.astype(np.uint8))
    assert out.shape == (40, 48, 4) and np.array_equal(out[:, :, 3], rgba[:, :, 3])  # alpha carried over exactly
    cv2.imwrite(str(tmp_path / "deep.png"), (photo(40, 48).astype(np.uint16) * 257)[:, :, ::-1])
    assert translate(read_image(tmp_path / "deep.png")).shape == (40, 48, 3)
    grey_model = Translator(OnnxModel(tiny_models["grey"], "cpu"), tile=0)
    assert grey_model(grey).shape == (40, 48, 1)
    with pytest.raises(DataError, match="a colour image, but model grey takes 1-channel"):
        grey_model(photo(40, 48))


def test_tiles_match_the_whole_image_away_from_borders(tiny_models: dict[str, Path]) -> None:
    """Instance norm per tile would shift each tile's tone; tiles share the whole image's statistics instead."""
    model = OnnxModel(tiny_models["resnet"], "cpu")
    image = photo(300, 460)
    whole = Translator(model, tile=0)(image).astype(np.float32)
    tiled = Translator(model, tile=128, overlap=64)(image).astype(np.float32)
    inner = np.abs(whole - tiled)[16:-16, 16:-16]
    assert inner.mean() < 0.5 and np.percentile(inner, 99) < 4, (inner.mean(), np.percentile(inner, 99))
    alone = Translator(model, tile=128, overlap=64)
    alone.model.norm_inputs = []  # what tiling without shared statistics would give, for comparison
    assert np.abs(whole - alone(image).astype(np.float32))[16:-16, 16:-16].mean() > 2 * inner.mean()


def test_output_names_never_replace_inputs(tmp_path: Path) -> None:
    for name in ("a.png", "a_m.png", "b.jpg"):
        write_image(tmp_path / "in" / name, photo(8, 8))
    write_image(tmp_path / "in" / "sub" / "c.webp", photo(8, 8))
    jobs = {j.source.name: j.target for j in plan([str(tmp_path / "in")], "m")}
    assert jobs["a.png"].name == "a_m_2.png"  # a_m.png is an input
    assert jobs["a_m.png"].name == "a_m_m.png" and jobs["c.webp"] == tmp_path / "in" / "sub" / "c_m.webp"
    jobs = {j.source.name: j.target for j in plan([str(tmp_path / "in")], "m", str(tmp_path / "out"))}
    assert jobs["c.webp"] == tmp_path / "out" / "in" / "sub" / "c_m.webp"
    (single,) = plan([str(tmp_path / "in" / "b.jpg")], "m", str(tmp_path / "x.png"))
    assert single.target == tmp_path / "x.png"
    (glob_job,) = plan([str(tmp_path / "in" / "**" / "*.webp")], "m")
    assert glob_job.source.name == "c.webp"
    (missing,) = plan([str(tmp_path / "none.jpg")], "m")
    assert missing.problem is not None and missing.problem.endswith("no such file or folder")


def test_exif_orientation_is_kept(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    Image.fromarray(photo(30, 50)).save(tmp_path / "p.jpg", exif=exif.tobytes())
    assert main(["translate", str(tmp_path / "p.jpg"), "--model", str(tiny_models["unet"]), "--no-progress"]) == 0
    assert read_image(tmp_path / "p_unet.jpg").shape == (50, 30, 3)


def test_a_folder_with_bad_files(tiny_models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                 ) -> None:
    folder = tmp_path / "photos"
    for i in range(5):
        write_image(folder / f"{i}.jpg", photo(32 + i, 40, i))
    good = (folder / "0.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (folder / "text.png").write_text("not an image")
    # a PNG whose header claims 30000x30000 pixels: refused before anything is decoded
    ihdr = b"IHDR" + (30000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    bomb = b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr + zlib.crc32(ihdr).to_bytes(4, "big")
    (folder / "bomb.png").write_bytes(bomb)
    code = main(["translate", str(folder), "--model", str(tiny_models["unet"]), "-o", str(tmp_path / "out"),
                 "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "out" / "photos").iterdir()) == [f"{i}_unet.jpg" for i in range(5)]
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 3 and len(captured.err.splitlines()) == 3
    assert any("truncated.jpg" in e and "truncated" in e for e in errors)
    assert any("text.png: not a readable image" in e for e in errors)
    assert any("bomb.png: 30000x30000 is 900 megapixels, over the limit" in e for e in errors)
    assert "translated 5 of 8 images" in captured.out
    assert not list(folder.glob("*_unet*"))  # nothing written beside the inputs, nothing half-written


@pytest.mark.parametrize(("args", "message"), [
    (["{dir}/missing.jpg", "--model", "{unet}"], "missing.jpg: no such file or folder"),
    (["{dir}/x.jpg", "--model", "day2nite"], "unknown model 'day2nite' (did you mean 'day2night'?)"),
    (["{dir}/x.jpg", "--model", "{dir}/nothing.onnx"], "nothing.onnx: no such model file"),
    (["{dir}/x.jpg", "--model", "{unet}", "--max-pixels", "100"], "x.jpg: 16x16 is 0 megapixels, over the limit"),
    (["{dir}/x.jpg", "--model", "{unet}", "--tlie", "64"], "unknown option --tlie (did you mean '--tile'?)"),
    (["{dir}/x.jpg", "--model", "{unet}", "--tile", "50"], "--overlap 64: at most half the tile side (--tile 50, "
                                                          "so tiles of 64 pixels for this model: --overlap 32 or less"),
    (["{dir}/x.jpg", "--model", "{unet}", "--tile", "64", "--overlap", "64"], "--overlap 64: at most half"),
    (["{dir}/x.jpg", "--model", "{unet}", "--overlap", "-8"], "--overlap -8: the overlap of tiles cannot be negative"),
    (["{dir}/x.jpg", "--model", "{unet}", "--tile", "-64"], "--tile -64: give a positive tile side"),
    (["{dir}/x.jpg", "--model", "{unet}", "--overlap", "600"], "--overlap 600: at most half the tile side (the "
                                                               "default tile of 1024 pixels"),
    (["{dir}/x.jpg", "--model", "{unet}", "--size", "-3"], "--size -3: give a positive number of pixels"),
])
def test_errors_are_one_line(tiny_models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    write_image(tmp_path / "x.jpg", photo(16, 16))
    argv = [a.format(dir=tmp_path, unet=tiny_models["unet"]) for a in args]
    code = main(["translate", *argv, "--no-progress"])
    err = capsys.readouterr().err
    assert code in (1, 2) and message in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line]) == 1
    assert not (tmp_path / "x_unet.jpg").exists()


def test_the_tiler_refuses_tiles_that_would_never_advance() -> None:
    """Through the Python API too: an overlap of the whole tile used to loop (or run millions of tiles) forever."""
    image = np.zeros((300, 300, 3), np.float32)
    runs: list[int] = []

    def run(part: np.ndarray) -> np.ndarray:
        runs.append(1)
        return part

    for tile, overlap, message in ((64, 64, "at most half the tile"), (64, 63, "at most half the tile"),
                                   (0, 0, "must be a positive"), (-64, 8, "must be a positive"),
                                   (64, -1, "cannot be negative")):
        with pytest.raises(ConfigError, match=message):
            translate_tiled(image, run, tile, overlap, 3)
        with pytest.raises(ConfigError, match=message):
            tile_starts(3000, tile, overlap)
    assert not runs
    assert tile_starts(3000, 64, 32) == [*range(0, 2936, 32), 2936]  # at most half: tiles advance half a tile
    assert tile_starts(50, 64, 64) == [0]  # one tile covers it: no overlap to get wrong
    assert translate_tiled(image, run, 128, 64, 3).shape == (300, 300, 3) and len(runs) == 16


def test_tiling_errors_come_from_the_translator_too(tiny_models: dict[str, Path]) -> None:
    model = OnnxModel(tiny_models["unet"], "cpu")
    with pytest.raises(ConfigError, match="--overlap 64: at most half the tile side"):
        Translator(model, tile=50)
    with pytest.raises(ConfigError, match="--overlap -1"):
        Translator(model, tile=0, overlap=-1)
    assert Translator(model, tile=0, overlap=5000)(photo(40, 40)).shape == (40, 40, 3)  # never tiles: no limit


def test_a_model_error_on_one_file_does_not_stop_the_folder(tiny_models: dict[str, Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX Runtime's own errors and MemoryError fail that file, by name; the rest are translated (exit 1)."""
    from onnxruntime.capi.onnxruntime_pybind11_state import RuntimeException

    folder = tmp_path / "photos"
    for name in ("a", "huge", "m", "odd", "z"):
        write_image(folder / f"{name}.png", photo(32, 40))
    original = Translator.__call__

    def flaky(self: Translator, image: np.ndarray, name: str = "image") -> np.ndarray:
        if name.endswith("odd.png"):
            raise RuntimeException("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned "
                                   "while running Conv node.\nStacktrace: ...")
        if name.endswith("huge.png"):
            raise MemoryError
        return original(self, image, name)

    monkeypatch.setattr(Translator, "__call__", flaky)
    code = main(["translate", str(folder), "--model", str(tiny_models["unet"]), "-o", str(tmp_path / "out"),
                 "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "out" / "photos").iterdir()) == ["a_unet.png", "m_unet.png",
                                                                               "z_unet.png"]
    errors = captured.err.splitlines()
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors)
    assert any("odd.png: RuntimeException: [ONNXRuntimeError]" in e and "Conv node." in e for e in errors)
    assert any("huge.png: out of memory" in e for e in errors)
    assert "translated 3 of 5 images" in captured.out


def test_device_cuda_without_cuda_points_to_doctor(tiny_models: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    write_image(tmp_path / "x.png", photo(16, 16))
    code = main(["translate", str(tmp_path / "x.png"), "--model", str(tiny_models["unet"]), "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--device cuda" in err and "`i2i doctor`" in err


def test_translate_runs_without_torch(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    """ONNX Runtime, OpenCV and NumPy are enough: importing torch is made to fail in this process."""
    write_image(tmp_path / "x.png", photo(20, 30))
    code = ("import sys; sys.modules['torch'] = None\n"
            "from i2i.cli.main import main\n"
            f"sys.exit(main(['translate', {str(tmp_path / 'x.png')!r}, '--model', {str(tiny_models['unet'])!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert read_image(tmp_path / "x_unet.png").shape == (20, 30, 3)
