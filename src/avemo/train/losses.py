"""Concordance correlation coefficient (CCC) and the CCC loss, with optional per-sample weights."""

from __future__ import annotations

import torch


def ccc(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
        ddof: int = 0) -> torch.Tensor:
    """Lin's CCC per column of ``(N, K)`` inputs -> ``(K,)``; weighted moments if ``weight``,
    one weight per sample ``(N,)`` or per sample and column ``(N, K)``. Differentiable.

    ``2 cov / (var_p + var_t + (mean_p - mean_t)^2)``. ``ddof=0``: population moments (Lin 1989,
    the training loss). ``ddof=1``: bias-corrected moments, ``sum / (n - 1)`` for equal weights
    (``1 - sum(w^2)`` of the normalised weights in general), which is torchmetrics'
    ``concordance_corrcoef`` and so the reported scores. A constant input scores 0, not NaN."""
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof}")
    if weight is None:
        weight = torch.ones(pred.shape[0], dtype=pred.dtype, device=pred.device)
    if weight.dim() == 1:
        weight = weight[:, None].expand_as(pred)
    w = weight / weight.sum(0, keepdim=True).clamp(min=1e-8)
    mp, mt = (w * pred).sum(0), (w * target).sum(0)
    vp, vt = (w * (pred - mp) ** 2).sum(0), (w * (target - mt) ** 2).sum(0)
    cov = (w * (pred - mp) * (target - mt)).sum(0)
    if ddof:
        k = (1 - (w**2).sum(0)).clamp(min=1e-8)
        vp, vt, cov = vp / k, vt / k, cov / k
    return 2 * cov / (vp + vt + (mp - mt) ** 2 + 1e-8)


def ccc_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
             mse_weight: float = 0.0) -> torch.Tensor:
    """1 - mean CCC over the target dimensions (0 for a perfect prediction), plus
    ``mse_weight`` x the (weighted) mean squared error. The MSE term anchors the prediction
    mean: while the correlation is still <= 0, CCC alone is lowered by pushing the mean away."""
    loss = 1.0 - ccc(pred, target, weight).mean()
    if mse_weight:
        w = torch.ones(len(pred), device=pred.device) if weight is None else weight
        w = w[:, None].expand_as(pred) if w.dim() == 1 else w
        mse = (w * (pred - target) ** 2).sum() / w.sum().clamp(min=1e-8)
        loss = loss + mse_weight * mse
    return loss
