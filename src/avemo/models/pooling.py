"""Masked temporal pooling: frame embeddings ``(B, T, D)`` + mask ``(B, T)`` -> ``(B, D)``."""

from __future__ import annotations

import torch
from torch import nn


class MeanPool(nn.Module):
    def __init__(self, dim: int):
        super().__init__()

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[..., None].to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


class AttentionPool(nn.Module):
    """Softmax-weighted mean with learned per-frame scores (padded frames get no weight)."""

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, dim // 2), nn.Tanh(), nn.Linear(dim // 2, 1))

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        s = self.score(h).squeeze(-1).masked_fill(~mask, float("-inf"))
        w = torch.softmax(s, dim=1).nan_to_num(0.0)
        return (w[..., None] * h).sum(1)


POOLING: dict[str, type[nn.Module]] = {"mean": MeanPool, "attention": AttentionPool}
