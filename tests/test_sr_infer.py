"""SR models after training: export (parity, metadata, variants), `i2i upscale`, tiles, imports, the zoo, live view."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import run_cli
from test_hub import FileServer

from i2i.cli.main import main
from i2i.config import apply_overrides
from i2i.deploy.export import export_run
from i2i.engine.checkpoint import latest_checkpoint, load_checkpoint
from i2i.hub.store import ModelStore
from i2i.images import read_image, write_image
from i2i.infer import OnnxModel, Translator
from i2i.infer.tiling import translate_tiled
from i2i.live.view import compose, fit
from i2i.models import create_model
from i2i.tasks import default_config
from i2i.training.trainer import train

SR_SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "kde-photos-sr"


def photo(height: int, width: int) -> np.ndarray:
    tile = cv2.cvtColor(cv2.imread(str(SR_SAMPLE / "val" / "EveningGlow_r2c0.jpg")), cv2.COLOR_BGR2RGB)
    return cv2.resize(tile, (width, height), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def sr_export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A tiny x4 SRResNet trained for a few steps on the bundled photos, exported with its int8 variant."""
    root = tmp_path_factory.mktemp("sr")
    config = apply_overrides(default_config("srresnet"), {
        "data": {"root": str(SR_SAMPLE), "crop_size": 32, "num_workers": 0, "val_images": 2},
        "model": {"net_g": "srresnet_2blocks", "ngf": 8}, "optim": {"batch_size": 4},
        "run": {"out": str(root), "name": "sr4", "max_steps": 3, "sample_every": 0},
        "method": {"patches_per_image": 1}})
    run = train(config, progress_bar=False).run_dir
    store = ModelStore(root / "home")
    results = export_run(run, out=root / "sr4.onnx", int8=True, store=store, say=lambda _: None)
    return {"run": run, "results": results, "store": store, "home": root / "home", "path": root / "sr4.onnx"}


def test_export_is_checked_and_says_scale_and_value_range(sr_export: dict) -> None:
    fp32, int8 = sr_export["results"]
    assert float(fp32.check.split("= ")[1].split()[0]) <= 1e-4
    assert "PSNR-Y against fp32 = " in int8.check and float(int8.check.split("= ")[1].split()[0]) > 30
    info = OnnxModel(fp32.path, "cpu").info
    assert (info.task, info.architecture, info.scale, info.value_range, info.train_size, info.size_multiple) == (
        "srresnet", "srresnet_2blocks", 4, "0,1", 8, 1)
    assert info.normalisation == "x / 255, RGB, NCHW" and info.direction == ""
    card = json.loads(fp32.path.with_suffix(".json").read_text())
    assert card["scale"] == 4 and card["value_range"] == "0,1"
    # the graph upscales any size by 4 and agrees with PyTorch on a size it was not traced at
    net = load_checkpoint(latest_checkpoint(sr_export["run"])).build("G").eval()
    x = np.random.default_rng(0).random((1, 3, 21, 34), np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = OnnxModel(fp32.path, "cpu")(x)
    assert got.shape == (1, 3, 84, 136) and np.abs(got - expected).max() < 1e-4


def test_upscale_gives_exactly_scale_times_the_input(sr_export: dict) -> None:
    upscale = Translator(OnnxModel(sr_export["path"], "cpu"))
    for height, width in ((37, 53), (64, 64), (100, 31)):
        assert upscale(photo(height, width)).shape == (4 * height, 4 * width, 3)
    grey = cv2.cvtColor(photo(20, 24), cv2.COLOR_RGB2GRAY)[:, :, None]
    assert upscale(grey).shape == (80, 96, 1)  # a grey picture stays grey
    alpha = (np.arange(20 * 24).reshape(20, 24, 1) % 256).astype(np.uint8)
    out = upscale(np.concatenate([photo(20, 24), alpha], axis=2))
    assert out.shape == (80, 96, 4)
    assert np.abs(out[:, :, 3].astype(int) - cv2.resize(alpha, (96, 80), interpolation=cv2.INTER_CUBIC)).max() == 0


def test_tiles_are_placed_and_blended_in_output_coordinates(sr_export: dict) -> None:
    image = np.random.default_rng(1).random((45, 70, 3)).astype(np.float32)
    nearest = translate_tiled(image, lambda t: t.repeat(3, axis=0).repeat(3, axis=1), 16, 4, 3, scale=3)
    assert nearest.shape == (135, 210, 3) and np.abs(nearest - image.repeat(3, 0).repeat(3, 1)).max() < 1e-6
    model = OnnxModel(sr_export["path"], "cpu")
    big = photo(96, 120)
    whole = Translator(model, tile=0)(big).astype(np.float32)
    tiled = Translator(model, tile=32, overlap=8)(big).astype(np.float32)
    inner = np.abs(whole - tiled)[16:-16, 16:-16]
    assert tiled.shape == whole.shape == (384, 480, 3) and inner.mean() < 0.5 and inner.max() <= 12


def test_upscale_command(sr_export: dict, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    env = {"I2I_HOME": str(sr_export["home"])}
    write_image(tmp_path / "in" / "small.png", photo(30, 40))
    deep = (photo(30, 40).astype(np.uint16) * 257)[:, :, ::-1]  # a 16-bit PNG
    cv2.imwrite(str(tmp_path / "in" / "deep.png"), deep)
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    result = run_cli("upscale", str(tmp_path / "in"), "--model", "sr4", "-o", str(tmp_path / "out"), env=env)
    assert result.returncode == 1 and "broken.jpg" in result.stderr, result.stderr
    assert read_image(tmp_path / "out" / "in" / "small_sr4.png").shape == (120, 160, 3)
    assert read_image(tmp_path / "out" / "in" / "deep_sr4.png").shape == (120, 160, 3)
    assert "upscaled x4 2 of 3 images with sr4" in result.stdout
    one = run_cli("translate", str(tmp_path / "in" / "small.png"), "--model", "sr4", "-o", str(tmp_path / "b.png"),
                  env=env)
    assert one.returncode == 0 and read_image(tmp_path / "b.png").shape == (120, 160, 3)
    same = run_cli("upscale", str(tmp_path / "in" / "small.png"), "--model", str(tiny_models["unet"]), env=env)
    assert same.returncode == 2 and same.stderr.strip() == (
        "error: model unet does not upscale (its output has its input's size): use i2i translate")


def rrdbnet_file(path: Path, scale: int = 4) -> torch.nn.Module:
    """A small RRDBNet saved as Real-ESRGAN publishes its generators (tensors under params_ema)."""
    torch.manual_seed(3)
    net = create_model("rrdbnet_1blocks", ngf=8, growth=4, scale=scale)
    buffer = io.BytesIO()
    torch.save({"params_ema": net.state_dict()}, buffer)
    path.write_bytes(buffer.getvalue())
    return net.eval()


def test_models_import_rrdbnet_and_upscale_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    net = rrdbnet_file(tmp_path / "RealESRGAN_x4plus.pth")
    assert main(["models", "import", str(tmp_path / "RealESRGAN_x4plus.pth"), "--arch", "rrdbnet", "--scale", "4",
                 "--name", "realesrgan-x4"]) == 0
    stored = ModelStore(tmp_path / "home").get("realesrgan-x4")
    assert stored is not None and stored.card["scale"] == 4 and stored.card["task"] == "esrgan"
    model = OnnxModel(stored.path, "cpu")
    x = np.random.default_rng(2).random((1, 3, 16, 24), np.float32)
    with torch.no_grad():
        assert np.abs(model(x) - net(torch.from_numpy(x)).numpy()).max() < 1e-4
    capsys.readouterr()
    for flags, message in ((["--scale", "2"], "holds an x4 network, not --scale 2"),
                           (["--norm", "batch"], "--norm batch: rrdbnet has no normalisation layers"),
                           (["--arch", "unet_256"], "--norm is required for unet_256")):
        args = ["models", "import", str(tmp_path / "RealESRGAN_x4plus.pth"), "--arch", "rrdbnet", "--name", "x"]
        assert main([*args, *flags]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_realesrgan_is_fetched_on_first_use(tmp_path: Path) -> None:
    server = FileServer()
    try:
        rrdbnet_file(tmp_path / "x.pth")
        server.files["/realesrgan/RealESRGAN_x4plus.pth"] = (tmp_path / "x.pth").read_bytes()
        write_image(tmp_path / "small.png", photo(16, 20))
        env = {"I2I_HOME": str(tmp_path / "home")}
        result = run_cli("upscale", str(tmp_path / "small.png"), "--model", "realesrgan-x4", "--mirror", server.url,
                         env=env)
        assert result.returncode == 0, result.stderr
        assert read_image(tmp_path / "small_realesrgan-x4.png").shape == (64, 80, 3)
        card = json.loads((tmp_path / "home" / "models" / "realesrgan-x4" / "card.json").read_text())
        assert card["task"] == "realesrgan" and card["scale"] == 4 and "BSD-3-Clause" in card["licence"]
        assert card["source"] == f"{server.url}/realesrgan/RealESRGAN_x4plus.pth"
    finally:
        server.httpd.shutdown()


def test_live_view_shows_bicubic_next_to_the_model(sr_export: dict, tmp_path: Path) -> None:
    frame = photo(120, 160)
    fitted = fit(frame, 60, "crop")
    output = Translator(OnnxModel(sr_export["path"], "cpu"), tile=0)(fitted.image)
    assert output.shape == (240, 240, 3)
    side = compose(fitted, output, "side", height=240)
    assert side.shape == (240, 480, 3)
    bicubic = cv2.resize(fitted.image, (240, 240), interpolation=cv2.INTER_CUBIC)
    assert np.array_equal(side[:, :240], bicubic) and np.array_equal(side[:, 240:], output)
    clip = tmp_path / "frames"
    for i in range(3):
        write_image(clip / f"{i}.png", np.roll(frame, 10 * i, axis=1))
    result = run_cli("webcam", "--model", str(sr_export["path"]), "--source", str(clip), "--no-window", "--view",
                     "split", "--frames", "3", "--report", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["frames"] == 3 and report["size"] == 120  # x4: 120-pixel inputs fill the 480-pixel view
