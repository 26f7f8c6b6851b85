"""Batching variable-length sequences (training, fusion and inference share it)."""

from __future__ import annotations

import torch


def pad(xs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack variable-length sequences, zero-padded to the longest: ``(x, mask)``, where
    ``mask`` marks real frames."""
    n = max(len(x) for x in xs)
    x = torch.zeros((len(xs), n, *xs[0].shape[1:]), dtype=torch.float32)
    mask = torch.zeros((len(xs), n), dtype=torch.bool)
    for k, v in enumerate(xs):
        x[k, : len(v)] = v
        mask[k, : len(v)] = True
    return x, mask
