"""Networks registered by name. Importing this package registers every architecture."""

from . import mobile_resnet, patchgan, resnet, unet  # noqa: F401  (registers the networks)
from .registry import NETWORKS, NetworkSpec, create_model, list_models, spec_for

__all__ = ["NETWORKS", "NetworkSpec", "create_model", "list_models", "spec_for"]
