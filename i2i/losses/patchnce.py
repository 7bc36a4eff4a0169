"""PatchNCE (Park et al., ECCV 2020): a patch of the output should match the input patch at the same position
better than the input patches at the other positions of the same image.

For embeddings ``q`` (output patches) and ``k`` (input patches) of unit length, the loss of position ``i`` is the
cross-entropy of picking ``k_i`` among the image's ``S`` keys with logits ``q_i . k_j / temperature``:
``-log(exp(q_i.k_i / t) / sum_j exp(q_i.k_j / t))``. The keys are constants (no gradient flows into them), as
in the reference code. Negatives come from the same image only (CUT's setting for unpaired translation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

TEMPERATURE = 0.07


def _check(query: torch.Tensor, key: torch.Tensor, temperature: float) -> None:
    if query.ndim != 3 or query.shape != key.shape:
        raise ValueError(f"expected query and key of one shape (B, S, C), got {tuple(query.shape)} and "
                         f"{tuple(key.shape)}")
    if query.shape[1] < 2:
        raise ValueError(f"PatchNCE needs at least 2 patches per image (a positive and a negative), got "
                         f"{query.shape[1]}")
    if not temperature > 0:
        raise ValueError(f"the temperature must be above 0, got {temperature}")


def patch_nce_loss(query: torch.Tensor, key: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """The PatchNCE loss of every patch.

    Args:
        query: embeddings of the output's patches, normally of unit length.
        key: embeddings of the input's patches at the same positions (detached here: no gradient to them).
        temperature: divides the dot products (0.07 in CUT).

    Returns:
        The loss of each patch: positive at ``key[b, i]``, negatives ``key[b, j]`` for the other ``j``.

    Shape:
        query, key: (B, S, C); returns (B, S).

    Examples:
        >>> q = torch.eye(3)[None]  # three orthogonal patches, each matching its own key
        >>> loss = patch_nce_loss(q, q, temperature=1.0)
        >>> torch.allclose(loss, torch.full((1, 3), -torch.log(torch.tensor(torch.e / (torch.e + 2)))))
        True
    """
    _check(query, key, temperature)
    batch, patches, _ = query.shape
    logits = torch.bmm(query.float(), key.detach().float().transpose(1, 2)) / temperature  # (B, S, S): q_i . k_j
    positives = torch.arange(patches, device=query.device).repeat(batch)  # the diagonal: the same position
    return F.cross_entropy(logits.flatten(0, 1), positives, reduction="none").view(batch, patches)


class PatchNCELoss(nn.Module):
    """The mean PatchNCE loss over the patches of a batch; see ``patch_nce_loss``.

    Example:
        >>> criterion = PatchNCELoss(temperature=0.07)
        >>> q = F.normalize(torch.randn(2, 16, 8), dim=-1)
        >>> criterion(q, q) < criterion(q, q.flip(1))
        tensor(True)
    """

    def __init__(self, temperature: float = TEMPERATURE) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"the temperature must be above 0, got {temperature}")
        self.temperature = temperature

    def forward(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        return patch_nce_loss(query, key, self.temperature).mean()


def sample_patches(features: torch.Tensor, count: int, positions: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The feature vectors of a map at ``count`` random positions (the same ones in every image of the batch).

    Args:
        features: a feature map.
        count: positions to draw, without repeats; all of them when the map has fewer.
        positions: reuse these flat positions (those drawn for the input, to sample the output at the same places).
        generator: draws the positions (default: torch's global generator on the map's device).

    Returns:
        ``(samples, positions)``.

    Shape:
        features: (B, C, H, W); samples: (B, S, C) with S = min(count, H * W); positions: (S,).
    """
    if features.ndim != 4:
        raise ValueError(f"expected a feature map (B, C, H, W), got {tuple(features.shape)}")
    flat = features.flatten(2).transpose(1, 2)  # (B, H*W, C)
    if positions is None:
        if count < 1:
            raise ValueError(f"draw at least one position, got {count}")
        positions = torch.randperm(flat.shape[1], device=features.device, generator=generator)[:count]
    return flat[:, positions], positions
