"""Networks registered by name. Importing this package registers every architecture."""

from . import (  # noqa: F401  (registers the networks)
    classifier,
    dcgan,
    mobile_resnet,
    patchgan,
    resnet,
    rrdbnet,
    sr_discriminators,
    srresnet,
    unet,
    vae,
)
from .registry import NETWORKS, NetworkSpec, create_model, list_models, spec_for

__all__ = ["NETWORKS", "NetworkSpec", "create_model", "list_models", "spec_for"]
