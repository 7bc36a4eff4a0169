"""SR data: MATLAB's bicubic against known values, aligned crops, layouts and their one-line errors, degradations."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from i2i.data.degradations import RealDegradation, bicubic_downscale, cubic, imresize, imresize_torch, resize_matrix
from i2i.data.sr import SRDataset, find_div2k, find_folder, scan_sources
from i2i.errors import ConfigError, DataError
from i2i.images import write_image

ROOT = Path(__file__).resolve().parent.parent
SR_SAMPLE = ROOT / "datasets" / "kde-photos-sr"


def test_cubic_kernel_and_the_resize_weights_match_matlab() -> None:
    """Keys' kernel with a = -0.5; shrinking by 2 stretches it over 8 taps: weights worked out by hand."""
    assert cubic(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])).tolist() == [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0]
    row = resize_matrix(16, 8)[3]  # an output pixel away from the borders
    taps = [-0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625, -0.01171875]
    assert np.allclose(row[3:11], taps, atol=1e-12) and row[:3].sum() == row[11:].sum() == 0
    # at the border MATLAB mirrors the image (x[-1] = x[0], ...): a ramp 0..7 shrunk to 4 pixels
    assert np.allclose(resize_matrix(8, 4) @ np.arange(8.0), [0.44921875, 2.48828125, 4.51171875, 6.55078125])
    assert np.allclose(resize_matrix(8, 16).sum(axis=1), 1.0)  # upscaling: the plain kernel, normalised


def test_imresize_agrees_with_pillow_inside_the_image_but_not_with_opencv() -> None:
    """Pillow's antialiased bicubic uses the same kernel but renormalises at borders instead of mirroring."""
    image = np.random.default_rng(0).random((64, 48)).astype(np.float32)
    ours = imresize(image, size=(12, 16))
    pillow = np.asarray(Image.fromarray(image, "F").resize((12, 16), Image.BICUBIC))
    assert np.abs(ours - pillow)[2:-2, 2:-2].max() < 1e-5 and np.abs(ours - pillow).max() > 1e-3
    opencv = cv2.resize(image, (12, 16), interpolation=cv2.INTER_CUBIC)  # a = -0.75, no antialiasing: aliases
    assert np.abs(ours - opencv)[2:-2, 2:-2].mean() > 0.05
    photo = (np.random.default_rng(1).random((40, 36, 3)) * 255).astype(np.uint8)
    small = bicubic_downscale(photo, 4)
    assert small.shape == (10, 9, 3) and small.dtype == np.uint8
    exact = imresize(photo.astype(np.float64), size=(9, 10))
    assert np.abs(small.astype(np.float64) - np.clip(np.round(exact), 0, 255)).max() == 0
    tensor = torch.from_numpy(small).permute(2, 0, 1)[None].float()
    upscaled = imresize_torch(tensor, 4)[0].permute(1, 2, 0).numpy()
    assert np.abs(upscaled - imresize(small.astype(np.float32), 4)).max() < 1e-3


def area_downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """The mean of each scale x scale block: it commutes with flips and transposes of block-aligned crops."""
    h, w = image.shape[0] // scale, image.shape[1] // scale
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA).reshape(h, w, -1)


def div2k(root: Path, scale: int = 4, names: tuple[str, ...] = ("0001", "0002")) -> Path:
    """HR/ and LR_bicubic/X{scale}/ (LR named NAMEx{scale}.png, as DIV2K does) made from real photo tiles."""
    tiles = sorted((SR_SAMPLE / "train").glob("*.jpg"))
    for i, name in enumerate(names):
        hr = cv2.imread(str(tiles[i]))[:, :240]  # 256x240: not square
        (root / "HR").mkdir(parents=True, exist_ok=True)
        (root / "LR_bicubic" / f"X{scale}").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "HR" / f"{name}.png"), hr)
        cv2.imwrite(str(root / "LR_bicubic" / f"X{scale}" / f"{name}x{scale}.png"), area_downscale(hr, scale))
    return root


def test_given_pairs_are_cropped_aligned_flipped_and_rotated_together(tmp_path: Path) -> None:
    found = find_div2k(div2k(tmp_path / "d"), 4, 10)
    assert [s.hr.name for s in found.train] == ["0001.png", "0002.png"] and found.val == []
    data = SRDataset(found.train, 4, 64, train=True, seed=5, repeat=8)
    assert len(data) == 16
    seen = set()
    for index in range(16):
        item = data[(3, index)]
        lr, hr = (item[k].permute(1, 2, 0).numpy() for k in ("LR", "HR"))
        assert lr.shape == (16, 16, 3) and hr.shape == (64, 64, 3)
        assert np.array_equal(lr, area_downscale(hr, 4))  # the LR patch is the one under the HR patch
        seen.add(hr.tobytes())
    assert len(seen) == 16  # every sample its own crop / orientation
    again = data[(3, 7)]
    assert torch.equal(again["HR"], data[(3, 7)]["HR"]) and not torch.equal(again["HR"], data[(4, 7)]["HR"])
    whole = SRDataset(found.train, 4, None, train=False, multiple=8)[0]
    assert tuple(whole["HR"].shape) == (3, 256, 240) and tuple(whole["LR"].shape) == (3, 64, 60)


def test_hr_folders_make_their_lr_images_and_hold_out_validation(tmp_path: Path) -> None:
    found = find_folder(SR_SAMPLE, val_images=50)
    assert found.val_note == "val/" and len(found.train) == 56 and len(found.val) == 16
    flat = tmp_path / "photos"
    flat.mkdir()
    for i, path in enumerate(sorted((SR_SAMPLE / "train").glob("*.jpg"))[:25]):
        (flat / f"{i:02d}.jpg").write_bytes(path.read_bytes())
    held = find_folder(flat, val_images=50)
    assert [s.hr.name for s in held.val] == ["00.jpg", "10.jpg", "20.jpg"] and len(held.train) == 22
    assert not {s.hr for s in held.val} & {s.hr for s in held.train}
    data = SRDataset(held.train, 2, 32, train=True, seed=1)
    item = data[0]
    lr, hr = (item[k].permute(1, 2, 0).numpy() for k in ("LR", "HR"))
    assert np.array_equal(lr, bicubic_downscale(hr, 2))  # the literature's LR image of the patch
    real = SRDataset(held.train, 4, 128, train=True, degradation="real", seed=1)
    a, b = real[(0, 3)], real[(0, 3)]
    assert a["LR"].shape == (3, 32, 32) and torch.equal(a["LR"], b["LR"])  # the same sample, the same degradation
    assert not torch.equal(a["LR"], torch.from_numpy(bicubic_downscale(a["HR"].permute(1, 2, 0).numpy(), 4)).permute(
        2, 0, 1))


def test_real_degradation_is_seeded_and_degrades() -> None:
    hr = cv2.cvtColor(cv2.imread(str(sorted((SR_SAMPLE / "train").glob("*.jpg"))[20])), cv2.COLOR_BGR2RGB)
    degrade = RealDegradation(4)
    outputs = [degrade(hr, seed) for seed in (1, 1, 2)]
    assert all(o.shape == (64, 64, 3) and o.dtype == np.uint8 for o in outputs)
    assert np.array_equal(outputs[0], outputs[1]) and not np.array_equal(outputs[0], outputs[2])
    clean = bicubic_downscale(hr, 4).astype(np.float32)
    assert min(np.abs(o.astype(np.float32) - clean).mean() for o in outputs) > 1.0  # blur, noise, JPEG show


def test_bad_pairs_and_folders_are_one_line_errors(tmp_path: Path) -> None:
    root = div2k(tmp_path / "d", names=("0001", "0002", "0003"))
    cv2.imwrite(str(root / "LR_bicubic" / "X4" / "0002x4.png"), np.zeros((63, 60, 3), np.uint8))
    found = find_div2k(root, 4, 10)
    with pytest.raises(DataError) as error:
        scan_sources(found, 4, 64, 32, None, tmp_path / "problems.txt")
    assert str(error.value) == (f"{root / 'LR_bicubic/X4/0002x4.png'}: 60x63, but its HR image {root / 'HR/0002.png'} "
                                "is 240x256, not exactly 4 times larger (--scale 4)")
    with pytest.raises(DataError, match=r"HR: has no LR images for --scale 2 \(expected .*LR_bicubic/X2/\)"):
        find_div2k(root, 2, 10)
    (root / "LR_bicubic" / "X4" / "0003x4.png").unlink()
    with pytest.raises(DataError, match=r"0003\.png: no LR image of the same name in .*X4$"):
        find_div2k(root, 4, 10)
    with pytest.raises(DataError, match="no div2k layout found: expected HR/ and LR_bicubic/X4/"):
        find_div2k(SR_SAMPLE, 4, 10)
    with pytest.raises(ConfigError, match="holds HR/ and LR folders; train on them as given with --layout div2k"):
        find_folder(root, 10)
    small = tmp_path / "small"
    write_image(small / "train" / "a.png", np.zeros((100, 200, 3), np.uint8))
    write_image(small / "train" / "b.png", np.zeros((200, 200, 3), np.uint8))
    with pytest.raises(DataError, match=r"a\.png: 200x100 is smaller than --crop-size 128 \(the HR patch\) \(128x128"):
        scan_sources(find_folder(small, 10), 4, 128, 32, None, None)
    (small / "train" / "c.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(DataError, match=r"\(2 problems in the data; all listed in .*problems\.txt\)"):
        scan_sources(find_folder(small, 10), 4, 128, 32, None, tmp_path / "problems.txt")
