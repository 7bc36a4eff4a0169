"""Training objectives: GAN losses (vanilla, LSGAN, hinge, WGAN-GP, relativistic), the gradient penalty, and the
VGG perceptual loss of the SR GANs."""

from .gan import GAN_LOSSES, GANLoss, gradient_penalty
from .perceptual import VGG19, PerceptualLoss, parse_layers, vgg19_layer_names
from .relativistic import AdversarialLoss, SRGANMode, ragan_d_loss, ragan_g_loss

__all__ = ["GAN_LOSSES", "VGG19", "AdversarialLoss", "GANLoss", "PerceptualLoss", "SRGANMode", "gradient_penalty",
           "parse_layers", "ragan_d_loss", "ragan_g_loss", "vgg19_layer_names"]
