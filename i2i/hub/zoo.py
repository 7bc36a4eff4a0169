"""The published pretrained generators, by name, and where to download them: the reference pix2pix / CycleGAN
models and Real-ESRGAN's super-resolution models.

Files are fetched from the authors' servers, or from a mirror with the same files laid out as
``<mirror>/<family>/<file>.pth`` (``--mirror`` or the I2I_MODEL_MIRROR environment variable).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

OFFICIAL = {
    "pix2pix": "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{file}.pth",
    "cyclegan": "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{file}.pth",
    "realesrgan": "https://github.com/xinntao/Real-ESRGAN/releases/download/{release}/{file}.pth",
}
LICENCE = ("released by the pix2pix / CycleGAN authors with pytorch-CycleGAN-and-pix2pix (BSD licence); "
           "the training data's own terms may also apply")
LICENCES = {"pix2pix": LICENCE, "cyclegan": LICENCE,
            "realesrgan": "released by the Real-ESRGAN authors (BSD-3-Clause); the training data's own terms (DIV2K, "
                          "Flickr2K, OutdoorSceneTraining) may also apply"}

PIX2PIX = ("edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night")
CYCLEGAN = ("apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite", "horse2zebra",
            "zebra2horse", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh", "sat2map",
            "map2sat", "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label",
            "facades_label2photo", "iphone2dslr_flower")


# Real-ESRGAN's generators: (name, file, architecture, release, scale); the "net" model is its PSNR-oriented one
REAL_ESRGAN = (("realesrgan-x4", "RealESRGAN_x4plus", "rrdbnet", "v0.1.0", 4),
               ("realesrgan-x2", "RealESRGAN_x2plus", "rrdbnet", "v0.2.1", 2),
               ("realesrgan-x4-anime", "RealESRGAN_x4plus_anime_6B", "rrdbnet_6blocks", "v0.2.2.4", 4),
               ("realesrnet-x4", "RealESRNet_x4plus", "rrdbnet", "v0.1.1", 4))


@dataclass(frozen=True)
class Pretrained:
    """One published generator: its registry name, the file it comes from and how it was built."""

    name: str
    family: str  # "pix2pix", "cyclegan" or "realesrgan": the task recorded in the model's metadata
    file: str  # file name on the server, without .pth
    architecture: str
    norm: str
    sha256: str = ""  # expected checksum when known; otherwise the first download's is recorded
    release: str = ""  # the release folder on the server, for families published as GitHub releases
    scale: int = 1  # super-resolution models: the upscaling factor (checked against the file)

    def url(self, mirror: str | None = None) -> str:
        mirror = mirror or os.environ.get("I2I_MODEL_MIRROR")
        if mirror:
            return f"{mirror.rstrip('/')}/{self.family}/{self.file}.pth"
        return OFFICIAL[self.family].format(file=self.file, release=self.release)

    @property
    def licence(self) -> str:
        return LICENCES[self.family]

    @property
    def direction(self) -> str:
        """What the model translates, from its published name (horse2zebra); nothing for an upscaler."""
        return "" if self.scale > 1 else self.file


def _catalogue() -> dict[str, Pretrained]:
    both = set(PIX2PIX) & set(CYCLEGAN)  # e.g. sat2map exists as a pix2pix and a CycleGAN model

    def name(file: str, family: str) -> str:
        return f"{file}-{family}" if file in both else file

    entries = [Pretrained(name(f, "pix2pix"), "pix2pix", f, "unet_256", "batch") for f in PIX2PIX]
    entries += [Pretrained(name(f, "cyclegan"), "cyclegan", f, "resnet_9blocks", "instance") for f in CYCLEGAN]
    entries += [Pretrained(n, "realesrgan", f, arch, "none", release=r, scale=s) for n, f, arch, r, s in REAL_ESRGAN]
    return {e.name: e for e in entries}


PRETRAINED = _catalogue()
