"""History of generated images for the discriminator (Shrivastava et al.), as CycleGAN uses it.

Until it holds ``size`` images, each new fake is stored and returned as is; once full, each new fake is either
returned as is or swapped with a random stored one (probability 1/2), so the discriminator also sees older
generator outputs. Everything happens on the images' device with tensor operations (no ``.item()``, no branch
on a drawn number), so a training step that queries the pool never waits for the GPU and can be captured in a
CUDA graph. The draws come from the device's global generator, which checkpoints save and restore, and the
pool's images and fill count are saved too, so a resumed run draws the same.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """Buffer of up to ``size`` past fakes; ``size`` 0 passes images through unchanged."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.buffer: torch.Tensor | None = None  # (size, C, H, W), allocated by the first query
        self.count: torch.Tensor | None = None  # how many slots hold an image, a 0-dim int64 on the device

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape: each image is this one or one from the history."""
        if self.size == 0:
            return images
        images = images.detach()
        self._allocate(images)
        assert self.buffer is not None and self.count is not None
        swap_draws = torch.rand(len(images), device=images.device)
        random_slots = torch.randint(self.size, (len(images),), device=images.device)
        out = []
        for i in range(len(images)):  # in order: a later image may take the slot an earlier one just filled
            image = images[i : i + 1]
            filling = self.count < self.size
            slot = torch.where(filling, self.count.clamp(max=self.size - 1), random_slots[i]).view(1)
            swap = ~filling & (swap_draws[i] > 0.5)
            stored = self.buffer.index_select(0, slot)
            out.append(torch.where(swap, stored, image))
            self.buffer.index_copy_(0, slot, torch.where(filling | swap, image, stored))
            self.count += filling
        return torch.cat(out)

    def _allocate(self, images: torch.Tensor) -> None:
        """Make the buffer match the images' shape, dtype and device (kept when they already match)."""
        shape = (self.size, *images.shape[1:])
        if self.buffer is not None and self.buffer.shape == shape and self.buffer.device == images.device:
            if self.buffer.dtype != images.dtype:  # the precision changed on resume: keep the history
                self.buffer = self.buffer.to(images.dtype)
            return
        layout = torch.channels_last if _is_channels_last(images) else torch.contiguous_format
        self.buffer = torch.zeros(shape, dtype=images.dtype, device=images.device).contiguous(memory_format=layout)
        self.count = torch.zeros((), dtype=torch.int64, device=images.device)

    def state_dict(self) -> dict[str, Any]:
        if self.buffer is None or self.count is None:
            return {"images": torch.empty(0)}
        return {"images": self.buffer[: int(self.count)].detach().cpu()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        """Restore the stored images (older checkpoints also hold a generator state, which is not needed)."""
        images = state["images"]
        if not images.numel():
            self.buffer, self.count = None, None
            return
        images = images[: self.size].to(device)
        self._allocate(images)
        assert self.buffer is not None and self.count is not None
        self.buffer[: len(images)] = images
        self.count.fill_(len(images))


def _is_channels_last(images: torch.Tensor) -> bool:
    return images.dim() == 4 and images.is_contiguous(memory_format=torch.channels_last) and not images.is_contiguous()
