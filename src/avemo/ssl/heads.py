"""MLP heads shared by the objectives (projector, expander, predictor)."""

from __future__ import annotations

from torch import nn


def mlp(dim_in: int, hidden: int, dim_out: int, layers: int = 2, last_bn: bool = False) -> nn.Sequential:
    """``layers`` Linear layers, BatchNorm1d + ReLU between them (SimCLR / VICReg / BYOL style)."""
    mods: list[nn.Module] = []
    d = dim_in
    for _ in range(layers - 1):
        mods += [nn.Linear(d, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)]
        d = hidden
    mods.append(nn.Linear(d, dim_out))
    if last_bn:
        mods.append(nn.BatchNorm1d(dim_out, affine=False))
    return nn.Sequential(*mods)
