"""Utterance statistics: what per-utterance normalisation takes out of a log-mel, kept as a
side input. Normalising each mel bin by the clip's own mean and std makes a model robust to
channel and level, but it also removes the clip's loudness, spectral tilt (brightness) and
dynamic range, the classic arousal cues that eGeMAPS-style functionals carry. A model with
``UtteranceStats`` is fed the stored (un-normalised) log-mel: this layer normalises it per
utterance for the encoder and summarises what it removed (per-bin mean and std, mean and std
of the frame log-energy) into a vector the model adds to its embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-5  # as avemo.features.audio.utterance_normalise


def masked_moments(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-clip mean and (unbiased) std over the real frames: ``x (B, T, ...)``, ``mask (B, T)``."""
    m = mask.to(x.dtype).reshape(*mask.shape, *([1] * (x.ndim - 2)))
    n = m.sum(1)
    mean = (x * m).sum(1) / n.clamp(min=1.0)
    var = (((x - mean.unsqueeze(1)) ** 2) * m).sum(1) / (n - 1).clamp(min=1.0)
    return mean, var.sqrt()


class UtteranceStats(nn.Module):
    """``forward(x, mask) -> (normalised x, side (B, dim))`` for a raw log-mel ``x (B, T, F)``.
    The normalised input equals :func:`avemo.features.audio.utterance_normalise` per clip (zero
    on padding); the ``2F + 2`` statistics are standardised by batch norm and projected."""

    def __init__(self, n_inputs: int, dim: int, dropout: float = 0.0):
        super().__init__()
        self.n_stats = 2 * n_inputs + 2
        self.norm = nn.BatchNorm1d(self.n_stats)
        self.proj = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.n_stats, dim))

    def statistics(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, std = masked_moments(x, mask)
        e_mean, e_std = masked_moments(torch.logsumexp(x, -1), mask)
        return mean, std, torch.cat([mean, std, e_mean[:, None], e_std[:, None]], 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.float()
        mean, std, s = self.statistics(x, mask)
        xn = ((x - mean[:, None]) / (std[:, None] + EPS)) * mask[..., None].to(x.dtype)
        if self.training and s.shape[0] == 1:  # batch norm cannot estimate from one clip
            s = F.batch_norm(s, self.norm.running_mean, self.norm.running_var, self.norm.weight, self.norm.bias)
        else:
            s = self.norm(s)
        return xn, self.proj(s)
