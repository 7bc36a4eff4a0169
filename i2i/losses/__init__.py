"""Training objectives: GAN losses (vanilla, LSGAN, hinge, WGAN-GP) and the gradient penalty."""

from .gan import GAN_LOSSES, GANLoss, gradient_penalty

__all__ = ["GAN_LOSSES", "GANLoss", "gradient_penalty"]
