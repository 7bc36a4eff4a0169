"""Data: dataset layouts, the pre-training scan, augmentation, datasets and sampling."""

from .build import DataSplits, paired_data, unpaired_data
from .datasets import PairedDataset, UnpairedDataset, load_pair
from .layouts import VAL_SPLITS, PairSource, find_paired, find_unpaired
from .sampler import EpochSampler

__all__ = [
    "VAL_SPLITS",
    "DataSplits",
    "EpochSampler",
    "PairSource",
    "PairedDataset",
    "UnpairedDataset",
    "find_paired",
    "find_unpaired",
    "load_pair",
    "paired_data",
    "unpaired_data",
]
