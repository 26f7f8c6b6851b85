"""VICReg: a non-contrastive objective (no negatives, no target network): an expander MLP and
invariance + variance + covariance terms; the variance hinge is what prevents collapse."""

from __future__ import annotations

import torch
from torch import nn

from avemo.ssl.heads import mlp
from avemo.ssl.losses import vicreg_terms
from avemo.ssl.monitor import embedding_std


class VICReg(nn.Module):
    """``forward(emb1, emb2)`` on pooled encoder embeddings ``(N, dim)`` -> ``(loss, logs)``."""

    uses_target_encoder = False

    def __init__(self, dim: int, expander_dim: int = 256, hidden: int = 256, sim: float = 25.0,
                 var: float = 25.0, cov: float = 1.0):
        super().__init__()
        self.weights = (sim, var, cov)
        self.expander = mlp(dim, hidden, expander_dim)

    def forward(self, emb1: torch.Tensor, emb2: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z1, z2 = self.expander(emb1), self.expander(emb2)
        inv, var, cov = vicreg_terms(z1, z2)
        ws, wv, wc = self.weights
        loss = ws * inv + wv * var + wc * cov
        logs = {"invariance": inv.detach(), "variance": var.detach(), "covariance": cov.detach(),
                "proj_std": embedding_std(z1)}
        return loss, logs
