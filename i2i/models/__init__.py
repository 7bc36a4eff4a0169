"""Networks registered by name. Importing this package imports every module in it, which registers each
architecture (one file per network family: adding a network is adding a file)."""

from ..registry import import_submodules
from .registry import NETWORKS, NetworkSpec, create_model, list_models, spec_for

import_submodules(__name__, __path__)

__all__ = ["NETWORKS", "NetworkSpec", "create_model", "list_models", "spec_for"]
