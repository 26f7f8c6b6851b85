"""Self-supervised losses: pure functions of batched embeddings.

Shapes: ``z1``, ``z2``, ``p``, ``z_target`` are ``(N, D)``; row ``i`` of one is the positive
of row ``i`` of the other. Every function returns a scalar tensor (mean over the batch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """SimCLR's NT-Xent, symmetric: each of the 2N L2-normalised embeddings has one positive
    (its other view) and 2N - 2 negatives among the rest (2N - 1 candidates, self excluded);
    cross-entropy of cosine similarity / ``temperature``, averaged over all 2N anchors."""
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"info_nce expects two (N, D) tensors of one shape, got {tuple(z1.shape)}, {tuple(z2.shape)}")
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, target)


def _off_diagonal(m: torch.Tensor) -> torch.Tensor:
    d = m.shape[0]
    return m.flatten()[:-1].view(d - 1, d + 1)[:, 1:].flatten()


def vicreg_terms(z1: torch.Tensor, z2: torch.Tensor, eps: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """VICReg's three unweighted terms ``(invariance, variance, covariance)``:
    invariance = MSE(z1, z2); variance = mean hinge ``relu(1 - std)`` of each dimension (over the
    batch), summed over the two branches; covariance = sum of squared off-diagonal covariances
    / D, summed over the two branches. A collapsed (constant) batch has variance ~2."""
    inv = F.mse_loss(z1, z2)
    var = z1.new_zeros(())
    cov = z1.new_zeros(())
    n, d = z1.shape
    for z in (z1, z2):
        z = z - z.mean(0)
        std = torch.sqrt(z.var(0) + eps)
        var = var + F.relu(1 - std).mean()
        c = (z.T @ z) / max(n - 1, 1)
        cov = cov + _off_diagonal(c).pow(2).sum() / d
    return inv, var, cov


def vicreg(z1: torch.Tensor, z2: torch.Tensor, sim: float = 25.0, var: float = 25.0, cov: float = 1.0) -> torch.Tensor:
    """VICReg (Bardes et al. 2022): ``sim * invariance + var * variance + cov * covariance``."""
    i, v, c = vicreg_terms(z1, z2)
    return sim * i + var * v + cov * c


def byol(p: torch.Tensor, z_target: torch.Tensor) -> torch.Tensor:
    """BYOL's normalised MSE ``||p/|p| - z/|z|||^2 = 2 - 2 cos(p, z)``, mean over the batch; the
    target gets no gradient. Symmetrise by calling it for both view orders."""
    return (2 - 2 * F.cosine_similarity(p, z_target.detach(), dim=-1)).mean()
