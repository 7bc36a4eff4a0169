"""The reference pix2pix / CycleGAN pretrained generators, by name, and where to download them.

Files are fetched from the authors' servers, or from a mirror with the same files laid out as
``<mirror>/<family>/<file>.pth`` (``--mirror`` or the I2I_MODEL_MIRROR environment variable).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

OFFICIAL = {
    "pix2pix": "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{file}.pth",
    "cyclegan": "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{file}.pth",
}
LICENCE = ("released by the pix2pix / CycleGAN authors with pytorch-CycleGAN-and-pix2pix (BSD licence); "
           "the training data's own terms may also apply")

PIX2PIX = ("edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night")
CYCLEGAN = ("apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite", "horse2zebra",
            "zebra2horse", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh", "sat2map",
            "map2sat", "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label",
            "facades_label2photo", "iphone2dslr_flower")


@dataclass(frozen=True)
class Pretrained:
    """One published generator: its registry name, the file it comes from and how it was built."""

    name: str
    family: str  # "pix2pix" or "cyclegan"
    file: str  # file name on the server, without .pth
    architecture: str
    norm: str
    sha256: str = ""  # expected checksum when known; otherwise the first download's is recorded

    def url(self, mirror: str | None = None) -> str:
        mirror = mirror or os.environ.get("I2I_MODEL_MIRROR")
        if mirror:
            return f"{mirror.rstrip('/')}/{self.family}/{self.file}.pth"
        return OFFICIAL[self.family].format(file=self.file)


def _catalogue() -> dict[str, Pretrained]:
    both = set(PIX2PIX) & set(CYCLEGAN)  # e.g. sat2map exists as a pix2pix and a CycleGAN model

    def name(file: str, family: str) -> str:
        return f"{file}-{family}" if file in both else file

    entries = [Pretrained(name(f, "pix2pix"), "pix2pix", f, "unet_256", "batch") for f in PIX2PIX]
    entries += [Pretrained(name(f, "cyclegan"), "cyclegan", f, "resnet_9blocks", "instance") for f in CYCLEGAN]
    return {e.name: e for e in entries}


PRETRAINED = _catalogue()
