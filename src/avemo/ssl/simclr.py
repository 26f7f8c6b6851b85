"""SimCLR / COLA-style contrastive objective: projector MLP + InfoNCE with temperature."""

from __future__ import annotations

import torch
from torch import nn

from avemo.ssl.heads import mlp
from avemo.ssl.losses import info_nce
from avemo.ssl.monitor import embedding_std


class SimCLR(nn.Module):
    """``forward(emb1, emb2)`` on pooled encoder embeddings ``(N, dim)`` of two views ->
    ``(loss, logs)``; in-batch negatives, so it needs batches of a few dozen or more."""

    uses_target_encoder = False

    def __init__(self, dim: int, proj_dim: int = 128, hidden: int = 256, temperature: float = 0.1):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.projector = mlp(dim, hidden, proj_dim)

    def forward(self, emb1: torch.Tensor, emb2: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z1, z2 = self.projector(emb1), self.projector(emb2)
        loss = info_nce(z1, z2, self.temperature)
        return loss, {"info_nce": loss.detach(), "proj_std": embedding_std(z1)}
