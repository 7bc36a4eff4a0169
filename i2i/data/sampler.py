"""Seeded, resumable, shardable sample order.

The sampler yields (epoch, index) keys: the epoch's shuffle and each sample's augmentation depend only on
the run seed, the epoch and the index. Resuming mid-epoch skips the samples already seen without loading
them, and ranks of a distributed run each take their own shard of the same order.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

SampleKey = tuple[int, int]


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 32-bit seed for one sample's randomness, independent across (seed, epoch, index)."""
    return int(np.random.SeedSequence([seed % 2**32, epoch, index]).generate_state(1)[0])


class EpochSampler(Sampler[SampleKey]):
    """Yields this rank's (epoch, index) keys of one epoch, reshuffled every epoch when ``shuffle``."""

    def __init__(self, size: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1) -> None:
        self.size, self.seed, self.shuffle = size, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Choose the epoch the next iteration yields, leaving out its first ``skip`` samples (of this rank)."""
        self.epoch, self.skip = epoch, skip

    def order(self) -> list[int]:
        """This rank's indices for the current epoch (the shard is padded so every rank gets as many)."""
        if self.shuffle:
            indices = np.random.default_rng([self.seed % 2**32, self.epoch]).permutation(self.size).tolist()
        else:
            indices = list(range(self.size))
        per_rank = -(-self.size // self.world_size)
        indices += indices[: per_rank * self.world_size - len(indices)]
        return indices[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[SampleKey]:
        return iter([(self.epoch, i) for i in self.order()[self.skip :]])

    def __len__(self) -> int:
        return -(-self.size // self.world_size) - self.skip
