"""Weight initialisation of the reference implementation: conv/linear weights drawn, biases zeroed."""

from __future__ import annotations

from torch import nn

from ..config import InitKind
from ..errors import ConfigError

_CONV_OR_LINEAR = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def init_weights(net: nn.Module, kind: InitKind = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise ``net`` in place and return it.

    Conv and linear weights: N(0, gain), Xavier-normal(gain), Kaiming-normal (fan-in) or orthogonal(gain);
    their biases 0. Batch-norm scales N(1, gain), shifts 0.
    """
    draw = {
        "normal": lambda w: nn.init.normal_(w, 0.0, gain),
        "xavier": lambda w: nn.init.xavier_normal_(w, gain=gain),
        "kaiming": lambda w: nn.init.kaiming_normal_(w, a=0, mode="fan_in"),
        "orthogonal": lambda w: nn.init.orthogonal_(w, gain=gain),
    }.get(kind)
    if draw is None:
        raise ConfigError(f"unknown init '{kind}'; choose from normal, xavier, kaiming, orthogonal")
    for module in net.modules():
        if isinstance(module, _CONV_OR_LINEAR):
            draw(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return net
