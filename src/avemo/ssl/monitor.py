"""Collapse monitors for embeddings ``z`` of shape ``(N, D)`` (no gradient)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


@torch.no_grad()
def embedding_std(z: torch.Tensor) -> torch.Tensor:
    """Mean over dimensions of the per-dimension std (over the batch) of the L2-normalised
    embeddings: about ``1 / sqrt(D)`` when they spread over the sphere, -> 0 when collapsed."""
    if len(z) < 2:
        return z.new_zeros(())
    return F.normalize(z.float(), dim=1).std(0).mean()


@torch.no_grad()
def effective_rank(z: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """RankMe (Roy & Vetterli 2007; Garrido et al. 2023): ``exp`` of the entropy of the
    singular values normalised to sum to one; 1 for a constant batch, up to ``min(N, D)``."""
    s = torch.linalg.svdvals(z.float())
    p = s / (s.sum() + eps) + eps
    return torch.exp(-(p * p.log()).sum())
