"""Training objectives: GAN losses (vanilla, LSGAN, hinge, WGAN-GP, relativistic), the gradient penalty, the VGG
perceptual loss of the SR GANs, and CUT's PatchNCE."""

from .gan import GAN_LOSSES, GANLoss, gradient_penalty
from .patchnce import PatchNCELoss, patch_nce_loss, sample_patches
from .perceptual import VGG19, PerceptualLoss, parse_layers, vgg19_layer_names
from .relativistic import AdversarialLoss, SRGANMode, ragan_d_loss, ragan_g_loss

__all__ = ["GAN_LOSSES", "VGG19", "AdversarialLoss", "GANLoss", "PatchNCELoss", "PerceptualLoss", "SRGANMode",
           "gradient_penalty", "parse_layers", "patch_nce_loss", "ragan_d_loss", "ragan_g_loss", "sample_patches",
           "vgg19_layer_names"]
