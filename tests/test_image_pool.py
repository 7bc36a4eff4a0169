"""The CycleGAN image pool: the reference's history semantics, on the device, without host synchronisation."""

from __future__ import annotations

import torch

from i2i.tasks.image_pool import ImagePool


def images(values: list[float]) -> torch.Tensor:
    """A batch of 1x2x2 images, each filled with one value (so an image is recognisable by its value)."""
    return torch.tensor(values).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()


def test_size_zero_passes_images_through() -> None:
    batch = images([1.0, 2.0])
    assert ImagePool(0).query(batch) is batch


def test_fills_first_then_swaps_half_of_the_time() -> None:
    torch.manual_seed(0)
    pool = ImagePool(4)
    assert torch.equal(pool.query(images([1, 2, 3])), images([1, 2, 3]))  # filling: returned as given
    assert torch.equal(pool.query(images([4])), images([4]))
    assert sorted(pool.buffer[:, 0, 0, 0].tolist()) == [1, 2, 3, 4]
    swapped, seen = 0, {1, 2, 3, 4}
    for value in range(5, 405):
        out = float(pool.query(images([value]))[0, 0, 0, 0])
        if out != value:
            swapped += 1
            assert out in seen  # an older fake, each returned at most once
            seen.discard(out)
        seen.add(value)
        assert set(pool.buffer[:, 0, 0, 0].tolist()) <= seen
    assert 160 < swapped < 240  # probability 1/2 over 400 queries


def test_a_batch_is_processed_image_by_image() -> None:
    torch.manual_seed(1)
    pool = ImagePool(2)
    out = pool.query(images([1, 2, 3, 4, 5]))  # the first two fill the pool; the rest may meet them
    assert out[:2, 0, 0, 0].tolist() == [1, 2]
    assert int(pool.count) == 2 and all(v in (1, 2, 3, 4, 5) for v in out[:, 0, 0, 0].tolist())


def test_query_never_synchronises_with_the_host() -> None:
    """On the meta device any .item() or branch on a value raises: the query is pure device work."""
    pool = ImagePool(3)
    for _ in range(3):
        out = pool.query(torch.empty(2, 3, 8, 8, device="meta"))
        assert out.shape == (2, 3, 8, 8) and out.device.type == "meta"


def test_state_round_trip_continues_the_same_draws() -> None:
    torch.manual_seed(2)
    pool = ImagePool(3)
    for value in range(1, 7):
        pool.query(images([value]))
    restored = ImagePool(3)
    restored.load_state_dict(pool.state_dict(), torch.device("cpu"))
    rng = torch.get_rng_state()
    expected = [pool.query(images([v])) for v in range(7, 20)]
    torch.set_rng_state(rng)
    assert all(torch.equal(restored.query(images([v])), e) for v, e in zip(range(7, 20), expected, strict=True))


def test_channels_last_batches_keep_their_layout() -> None:
    batch = torch.rand(2, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    pool = ImagePool(4)
    pool.query(batch)
    assert pool.buffer.is_contiguous(memory_format=torch.channels_last)
