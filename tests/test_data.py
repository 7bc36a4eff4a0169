"""Dataset layouts, the pre-training scan's errors, aligned augmentation and the resumable sampler."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SAMPLE

from i2i.config import DataConfig
from i2i.data import EpochSampler, PairedDataset, find_paired, find_unpaired, paired_data, unpaired_data
from i2i.data.datasets import split_side_by_side
from i2i.data.transforms import build_transform
from i2i.errors import ConfigError, DataError
from i2i.images import write_image


def make_folder_pairs(root: Path, n: int = 3, size: tuple[int, int] = (40, 48)) -> None:
    for i in range(n):
        image = np.random.default_rng(i).integers(0, 255, (*size, 3), dtype=np.uint8)
        write_image(root / "A" / f"img{i}.png", image)
        write_image(root / "B" / f"img{i}.jpg", 255 - image)


def test_bundled_sample_layout() -> None:
    train, val = find_paired(SAMPLE, "train"), find_paired(SAMPLE, "val")
    assert len(train) == 98 and len(val) == 14
    assert all(src.b is None for src in train)  # side-by-side files


def test_folder_pairs_match_by_name_across_extensions(tmp_path: Path) -> None:
    make_folder_pairs(tmp_path)
    pairs = find_paired(tmp_path, "train")
    assert [(p.a.name, p.b.name) for p in pairs] == [("img0.png", "img0.jpg"), ("img1.png", "img1.jpg"),
                                                      ("img2.png", "img2.jpg")]
    assert find_paired(tmp_path, "val") is None
    (tmp_path / "B" / "img2.jpg").unlink()
    with pytest.raises(DataError, match=r"A/img2\.png: no file of the same name in .*B"):
        find_paired(tmp_path, "train")


def test_layout_errors(tmp_path: Path, unpaired_sample: Path) -> None:
    with pytest.raises(DataError, match="no such data folder"):
        find_paired(tmp_path / "nothing", "train")
    (tmp_path / "facades.zip").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"facades\.zip: is a file; --data takes the dataset folder"):
        find_paired(tmp_path / "facades.zip", "train")
    (tmp_path / "facades.zip").unlink()
    with pytest.raises(DataError, match="no paired layout found"):
        find_paired(tmp_path, "train")
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError, match=r"train: no images"):
        find_paired(tmp_path, "train")
    with pytest.raises(DataError, match="holds unpaired data"):
        find_paired(unpaired_sample, "train")
    a, b = find_unpaired(unpaired_sample, "train")
    assert len(a) == 49 and len(b) == 49
    with pytest.raises(DataError, match="no unpaired layout"):
        find_unpaired(SAMPLE, "train")


def copy_sample(tmp_path: Path, n: int = 6) -> Path:
    for split in ("train", "val"):
        (tmp_path / split).mkdir(parents=True)
        for path in sorted((SAMPLE / split).glob("*.jpg"))[:n]:
            shutil.copy(path, tmp_path / split / path.name)
    return tmp_path


def test_scan_reports_every_bad_file_by_name(tmp_path: Path) -> None:
    root = copy_sample(tmp_path)
    files = sorted((root / "train").glob("*.jpg"))
    files[1].write_bytes(files[1].read_bytes()[:3000])  # truncated
    files[3].write_text("hello")  # not an image
    write_image(root / "train" / "odd.png", np.zeros((16, 33, 3), np.uint8))
    report = root / "problems.txt"
    with pytest.raises(DataError) as info:
        paired_data(DataConfig(root=str(root), load_size=72, crop_size=64), 64, 1, 0, None, report)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(files[1])) and "3 problems in the data" in message
    listed = report.read_text().splitlines()
    assert len(listed) == 3 and any("odd.png: width 33 is odd" in line for line in listed)


def test_scan_rejects_mismatched_pair_sizes_and_small_crops(tmp_path: Path) -> None:
    make_folder_pairs(tmp_path)
    write_image(tmp_path / "B" / "img1.jpg", np.zeros((40, 40, 3), np.uint8))
    config = DataConfig(root=str(tmp_path), preprocess="crop", crop_size=32)
    with pytest.raises(DataError, match=r"img1\.png: 48x40, but its pair .*img1\.jpg is 40x40"):
        paired_data(config, 32, 1, 0)
    write_image(tmp_path / "B" / "img1.jpg", np.zeros((40, 48, 3), np.uint8))
    with pytest.raises(DataError, match=r"48x40 is smaller than --crop-size 64"):
        paired_data(dataclasses.replace(config, crop_size=64), 32, 1, 0)


def test_scan_cache_is_reused_and_invalidated(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "data", 3)
    cache = tmp_path / "scan.json"
    config = DataConfig(root=str(root), load_size=72, crop_size=64)
    paired_data(config, 64, 1, 0, cache)
    assert len(__import__("json").loads(cache.read_text())) == 6
    first = sorted((root / "train").glob("*.jpg"))[0]
    first.write_text("broken now")  # new size and mtime: must be decoded again
    with pytest.raises(DataError, match="not a readable image"):
        paired_data(config, 64, 1, 0, cache)


def test_config_size_checks() -> None:
    with pytest.raises(ConfigError, match="not a multiple of 256"):
        paired_data(DataConfig(root=str(SAMPLE), crop_size=200), 256, 1, 0)
    with pytest.raises(ConfigError, match="smaller than --crop-size"):
        paired_data(DataConfig(root=str(SAMPLE), load_size=100, crop_size=128), 64, 1, 0)
    with pytest.raises(ConfigError, match="cannot be batched"):
        paired_data(DataConfig(root=str(SAMPLE), preprocess="none"), 4, 2, 0)


@pytest.mark.parametrize("preprocess", ["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"])
def test_paired_transform_keeps_a_and_b_aligned(tmp_path: Path, preprocess: str) -> None:
    """B is the negative of A pixel for pixel; after random resize/crop/flip it must still be."""
    rng = np.random.default_rng(0)
    a = np.kron(rng.integers(0, 255, (12, 15, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))  # 96x120, blocky
    write_image(tmp_path / "train" / "pair.png", np.hstack([a, 255 - a]))
    config = DataConfig(root=str(tmp_path), preprocess=preprocess, load_size=80, crop_size=64)
    dataset = PairedDataset(find_paired(tmp_path, "train"), build_transform(config, 16, True), seed=1)
    for epoch in range(6):
        item = dataset[(epoch, 0)]
        A, B = item["A"].int(), item["B"].int()
        assert A.shape == B.shape and A.shape[1] % 16 == 0 and A.shape[2] % 16 == 0
        assert (A + B - 255).abs().max() <= 2  # same geometry for both halves
    flips = {tuple(dataset[(e, 0)]["A"][0, 0, :3].tolist()) for e in range(12)}
    assert len(flips) > 1  # the random draws do change with the epoch


def test_direction_and_channels(tmp_path: Path) -> None:
    left, right = np.full((64, 64, 3), 10, np.uint8), np.full((64, 64, 3), 200, np.uint8)
    write_image(tmp_path / "train" / "p.png", np.hstack([left, right]))
    config = DataConfig(root=str(tmp_path), preprocess="crop", crop_size=64, flip=False)
    sources = find_paired(tmp_path, "train")
    swapped = PairedDataset(sources, build_transform(config, 64, True), 1, 3, "BtoA")[0]
    assert swapped["A"].shape == (1, 64, 64) and int(swapped["A"][0, 0, 0]) == 200
    assert int(swapped["B"][0, 0, 0]) == 10
    assert split_side_by_side(np.zeros((2, 6, 3)))[0].shape == (2, 3, 3)


def test_items_depend_only_on_seed_epoch_and_index() -> None:
    data = paired_data(DataConfig(root=str(SAMPLE), load_size=72, crop_size=64), 64, 1, seed=5)
    first, again = data.train[(2, 7)], data.train[(2, 7)]
    assert torch.equal(first["A"], again["A"]) and torch.equal(first["B"], again["B"])
    assert not torch.equal(first["A"], data.train[(3, 7)]["A"])
    loader = torch.utils.data.DataLoader(data.train, sampler=[(2, 7)], num_workers=1)
    assert torch.equal(next(iter(loader))["A"][0], first["A"])  # same in a worker process


def test_unpaired_items(unpaired_sample: Path) -> None:
    data = unpaired_data(DataConfig(root=str(unpaired_sample), load_size=72, crop_size=64, val_images=4), 4, 2, 0)
    item = data.train[(0, 3)]
    assert item["A"].shape == item["B"].shape == (3, 64, 64)
    assert len(data.val) == 4
    partners = {data.train[(e, 3)]["B_path"] for e in range(10)}
    assert len(partners) > 1  # B is drawn at random per (epoch, index)
    backwards = DataConfig(root=str(unpaired_sample), direction="BtoA", load_size=72, crop_size=64)
    swapped = unpaired_data(backwards, 4, 1, 0)
    assert "trainB" in swapped.train[0]["A_path"]


def test_sampler_shuffles_per_epoch_resumes_and_shards() -> None:
    sampler = EpochSampler(10, seed=1)
    sampler.set_epoch(0)
    epoch0 = [i for _, i in sampler]
    sampler.set_epoch(1)
    epoch1 = [i for _, i in sampler]
    assert sorted(epoch0) == list(range(10)) and epoch0 != epoch1
    sampler.set_epoch(1, skip=4)
    assert [i for _, i in sampler] == epoch1[4:] and len(sampler) == 6
    shards = [EpochSampler(10, seed=1, rank=r, world_size=3) for r in range(3)]
    for shard in shards:
        shard.set_epoch(1)
    parts = [[i for _, i in shard] for shard in shards]
    assert all(len(p) == 4 for p in parts) and {i for p in parts for i in p} == set(range(10))
