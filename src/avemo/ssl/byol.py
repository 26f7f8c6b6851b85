"""BYOL: a non-contrastive objective with an EMA target network and an online predictor.

The objective owns the online projector + predictor and the EMA target projector. The EMA
*encoder* lives in :class:`avemo.ssl.module.PretrainModule` (it owns the encoder), which passes
the target branch's pooled embeddings as ``tgt1``, ``tgt2`` and calls :meth:`BYOL.update_target`
after each optimiser step; without them the target branch is the online embeddings, detached."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from avemo.ssl.heads import mlp
from avemo.ssl.losses import byol
from avemo.ssl.monitor import embedding_std


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """``target <- tau * target + (1 - tau) * online`` for parameters; buffers are copied."""
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        t.mul_(tau).add_(o.detach(), alpha=1 - tau)
    for t, o in zip(target.buffers(), online.buffers(), strict=True):
        t.copy_(o)


class BYOL(nn.Module):
    uses_target_encoder = True

    def __init__(self, dim: int, proj_dim: int = 128, hidden: int = 256, tau: float = 0.99,
                 tau_final: float = 1.0):
        super().__init__()
        self.tau_base, self.tau_final, self.tau = tau, tau_final, tau
        self.projector = mlp(dim, hidden, proj_dim)
        self.predictor = mlp(proj_dim, hidden, proj_dim)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)

    def forward(self, emb1: torch.Tensor, emb2: torch.Tensor, tgt1: torch.Tensor | None = None,
                tgt2: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z1, z2 = self.projector(emb1), self.projector(emb2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        t1 = emb1.detach() if tgt1 is None else tgt1
        t2 = emb2.detach() if tgt2 is None else tgt2
        with torch.no_grad():
            y1, y2 = self.target_projector(t1), self.target_projector(t2)
        loss = byol(p1, y2) + byol(p2, y1)
        return loss, {"byol": loss.detach(), "proj_std": embedding_std(z1), "tau": torch.tensor(self.tau)}

    def update_target(self, progress: float) -> None:
        """EMA step for the projector; ``progress`` in [0, 1] anneals tau towards ``tau_final``
        on a cosine schedule (BYOL's)."""
        p = min(max(progress, 0.0), 1.0)
        self.tau = self.tau_final - (self.tau_final - self.tau_base) * (math.cos(math.pi * p) + 1) / 2
        ema_update(self.target_projector, self.projector, self.tau)
