"""Data: image I/O, dataset layouts, the pre-training scan, augmentation, datasets and sampling."""

from .build import DataSplits, paired_data, unpaired_data
from .datasets import PairedDataset, UnpairedDataset
from .image_io import decode_image, list_images, read_image, to_channels, write_image
from .layouts import PairSource, find_paired, find_unpaired
from .sampler import EpochSampler

__all__ = [
    "DataSplits",
    "EpochSampler",
    "PairSource",
    "PairedDataset",
    "UnpairedDataset",
    "decode_image",
    "find_paired",
    "find_unpaired",
    "list_images",
    "paired_data",
    "read_image",
    "to_channels",
    "unpaired_data",
    "write_image",
]
