"""What the methods on unpaired domains share (CycleGAN, and the methods after it): the unpaired layouts
(trainA/ and trainB/, optional valA/valB or testA/testB), batches {'A', 'B'} of one image of each domain, and
how their generators are exported and scored: each translates the images of one domain into the other, and is
compared with the real images of the domain it translates into (unpaired: FID and KID, no pixel metrics)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..config import TrainConfig
from ..data import VAL_SPLITS, DataSplits, find_unpaired, unpaired_data
from ..errors import DataError
from ..images import read_image
from .base import Comparison, Task, paired_example_batch

OTHER = {"A": "B", "B": "A"}
REVERSED = {"AtoB": "BtoA", "BtoA": "AtoB"}


class UnpairedTranslation(Task):
    """A translation method trained on two unpaired image folders; subclasses name their generators and, for
    those that translate B images (CycleGAN's G_B), override ``source_domain``."""

    @classmethod
    def source_domain(cls, generator: str) -> str:
        """The batch key of the images ``generator`` translates: 'A' (the --direction's source) by default."""
        return "A"

    @classmethod
    def load_data(cls, config: TrainConfig, size_multiple: int, cache_file: Path | None,
                  report: Path | None) -> DataSplits:
        return unpaired_data(config.data, size_multiple, config.optim.batch_size, config.run.seed, cache_file,
                             report)

    @classmethod
    def example_batch(cls, config: TrainConfig) -> dict[str, torch.Tensor]:
        return paired_example_batch(config)

    @classmethod
    def export_inputs(cls, config: TrainConfig, generator: str, limit: int) -> list[np.ndarray]:
        """Images of the domain ``generator`` translates from, as --direction orders the folders."""
        data = config.data
        found = next((f for split in (*VAL_SPLITS, "train") if (f := find_unpaired(data.root, split))), None)
        if found is None:
            raise DataError(f"{data.root}: no unpaired images")
        a_paths, b_paths = found if data.direction == "AtoB" else (found[1], found[0])
        paths, channels = ((a_paths, data.input_nc) if cls.source_domain(generator) == "A"
                           else (b_paths, data.output_nc))
        return [read_image(p, channels) for p in paths[:limit]]

    @classmethod
    def comparisons(cls, config: TrainConfig) -> tuple[Comparison, ...]:
        """Each generator's outputs against the real images of the domain it translates into (unpaired)."""
        return tuple(Comparison(g, source=(s := cls.source_domain(g)), target=OTHER[s], paired=False)
                     for g in cls.generators)

    @classmethod
    def generator_direction(cls, config: TrainConfig, generator: str) -> str:
        """A generator of A images translates the configured way; one of B images the other way."""
        forward = config.data.direction
        return forward if cls.source_domain(generator) == "A" else REVERSED[forward]
