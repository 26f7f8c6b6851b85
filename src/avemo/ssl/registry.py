"""Objectives by name (the ``ssl.*.objective`` params key)."""

from __future__ import annotations

from torch import nn

from avemo.ssl.byol import BYOL
from avemo.ssl.simclr import SimCLR
from avemo.ssl.vicreg import VICReg

OBJECTIVES: dict[str, type[nn.Module]] = {"simclr": SimCLR, "vicreg": VICReg, "byol": BYOL}
CONTRASTIVE = frozenset({"simclr"})


def build(name: str, dim: int, **kw) -> nn.Module:
    """``OBJECTIVES[name](dim, **kw)``; ``kw`` are the objective's own settings."""
    if name not in OBJECTIVES:
        raise KeyError(f"unknown self-supervised objective {name!r}; choose one of {sorted(OBJECTIVES)} "
                       "(params: ssl.<stream>.objective)")
    return OBJECTIVES[name](dim, **kw)
