"""History of generated images for the discriminator (Shrivastava et al.), as CycleGAN uses it.

Once full, each new fake is either returned as is or swapped with a random stored one (probability 1/2),
so the discriminator also sees older generator outputs. The draws use the pool's own generator, and the
pool's images and generator state are saved with a checkpoint, so a resumed run draws the same.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """Buffer of up to ``size`` past fakes; ``size`` 0 passes images through unchanged."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape: each image is this one or one from the history."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach().split(1):
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif torch.rand(1, generator=self.generator).item() > 0.5:
                slot = int(torch.randint(self.size, (1,), generator=self.generator))
                out.append(self.images[slot])
                self.images[slot] = image
            else:
                out.append(image)
        return torch.cat(out)

    def state_dict(self) -> dict[str, Any]:
        images = torch.cat(self.images) if self.images else torch.empty(0)
        return {"images": images, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.images = list(state["images"].to(device).split(1)) if state["images"].numel() else []
        self.generator.set_state(state["generator"])
