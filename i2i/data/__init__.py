"""Data: dataset layouts, the pre-training scan, augmentation, datasets and sampling."""

from .build import DataSplits, paired_data, unpaired_data
from .datasets import PairedDataset, UnpairedDataset
from .layouts import PairSource, find_paired, find_unpaired
from .sampler import EpochSampler

__all__ = [
    "DataSplits",
    "EpochSampler",
    "PairSource",
    "PairedDataset",
    "UnpairedDataset",
    "find_paired",
    "find_unpaired",
    "paired_data",
    "unpaired_data",
]
