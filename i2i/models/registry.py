"""The network registry and the spec a checkpoint stores to rebuild a network."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..registry import Registry

NETWORKS: Registry[nn.Module] = Registry("network")


@dataclass(frozen=True)
class NetworkSpec:
    """A registered network name and the keyword arguments that build it (its whole architecture)."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self) -> nn.Module:
        return NETWORKS.create(self.name, **self.kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkSpec:
        return cls(data["name"], dict(data.get("kwargs", {})))


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered network by name, for example ``create_model('unet_256', norm='batch')``."""
    return NETWORKS.create(name, **kwargs)


def spec_for(name: str, **options: Any) -> NetworkSpec:
    """The spec of ``name`` built from those ``options`` its builder accepts (others are ignored)."""
    accepted = set(NETWORKS.accepted_kwargs(name))
    return NetworkSpec(name, {k: v for k, v in options.items() if k in accepted})


def list_models(role: str | None = None) -> list[str]:
    """Registered network names, optionally only generators or discriminators."""
    return NETWORKS.names(role=role) if role else NETWORKS.names()
