"""Data: dataset layouts, the pre-training scan, augmentation, datasets and sampling."""

from .build import DataSplits, paired_data, unpaired_data
from .datasets import PairedDataset, UnpairedDataset, load_pair
from .labelled import Labelled, LabelledDataset, find_labelled, labelled_data, read_idx
from .layouts import VAL_SPLITS, PairSource, find_paired, find_unpaired
from .sampler import EpochSampler
from .sr import SRDataset, SRFound, SRLayout, SRSource, find_sr, scan_sources

__all__ = [
    "VAL_SPLITS",
    "DataSplits",
    "EpochSampler",
    "Labelled",
    "LabelledDataset",
    "PairSource",
    "PairedDataset",
    "SRDataset",
    "SRFound",
    "SRLayout",
    "SRSource",
    "UnpairedDataset",
    "find_labelled",
    "find_paired",
    "find_sr",
    "find_unpaired",
    "labelled_data",
    "load_pair",
    "paired_data",
    "read_idx",
    "scan_sources",
    "unpaired_data",
]
