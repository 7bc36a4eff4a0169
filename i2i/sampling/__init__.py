"""Using generators from noise: samples, latent walks and a VAE's reconstructions, from a run or an export.

``open_generator(source)`` gives the same interface for a training run's checkpoint (torch) and for an
exported ONNX model (ONNX Runtime only, no torch): ``generate(z, labels)`` -> uint8 images, plus the latent
size, class names and how to interpolate. ``open_encoder`` does the same for a VAE's encoder.
"""

from .grids import grid, interpolate_latents, parse_label
from .models import Encoder, Generator, open_encoder, open_generator

__all__ = ["Encoder", "Generator", "grid", "interpolate_latents", "open_encoder", "open_generator", "parse_label"]
