"""Fusion of the audio and the visual stream, picked by name from :data:`FUSIONS`.

Every fusion takes, per stream, the stream model's frame embeddings ``h (B, T, D)``, their
mask ``(B, T)`` and its own clip prediction ``u (B, K)``, plus ``present (B, 2)`` (audio,
visual): which streams a sample has. A missing stream never contributes, so with one stream
missing a fusion falls back to the other.

- :class:`LateFusion`: per dimension, a softmax weight over the streams' predictions (fit on
  validation); a missing stream's weight goes to the present one.
- :class:`AttentionFusion`: each stream's frames attend to the other stream's frames (cross-
  modal attention); the attended frames are pooled, and from both pooled vectors the model
  predicts per-dimension gates over the streams' predictions plus a residual correction.
  Trained with modality dropout, so it has seen single-stream inputs.

With ``offsets``, either fusion first shifts each stream's prediction by that stream's own
per-dimension offset, fit on validation (``avemo.fuse.train``): the bias correction of AVEC-
style post-processing. Stream models drift on speakers and faces they never saw (the face
models read held-out faces as happier); the correction is per stream, so it holds for a lone
stream too.
"""

from __future__ import annotations

import torch
from torch import nn

from avemo.models.pooling import AttentionPool

STREAMS = ("audio", "visual")
StreamInputs = dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]  # name -> (h, mask, u)


def _offsets(offsets: bool, n_targets: int) -> nn.Parameter | None:
    return nn.Parameter(torch.zeros(len(STREAMS), n_targets)) if offsets else None


def _predictions(streams: StreamInputs, offsets: nn.Parameter | None) -> torch.Tensor:
    """``(B, S, K)``: the streams' clip predictions, shifted by ``offsets (S, K)`` if given."""
    u = torch.stack([streams[s][2] for s in STREAMS], dim=1)
    return u if offsets is None else u + offsets


def _masked_weights(logits: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Softmax over the stream axis 1 of ``logits (B, S, K)`` with absent streams at zero."""
    return torch.softmax(logits.masked_fill(~present[..., None], float("-inf")), dim=1).nan_to_num(0.0)


class LateFusion(nn.Module):
    def __init__(self, dims: dict[str, int], n_targets: int, offsets: bool = False, **_):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(len(STREAMS), n_targets))
        self.offsets = _offsets(offsets, n_targets)

    def forward(self, streams: StreamInputs, present: torch.Tensor) -> torch.Tensor:
        u = _predictions(streams, self.offsets)
        w = _masked_weights(self.logits.expand(len(u), -1, -1), present)
        return (w * u.nan_to_num(0.0)).sum(1)

    def weights(self) -> torch.Tensor:
        """``(S, K)``: each stream's weight per dimension when both are present."""
        return torch.softmax(self.logits.detach(), dim=0)


class CrossAttention(nn.Module):
    """Queries from one stream attend to the other stream's frames (pre-norm, residual)."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.norm_q, self.norm_kv = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(2 * dim, dim))

    def forward(self, q: torch.Tensor, kv: torch.Tensor, kv_mask: torch.Tensor, has_kv: torch.Tensor) -> torch.Tensor:
        # a sample whose other stream is absent attends nowhere: give it one dummy key, then drop the result
        safe = kv_mask | ~has_kv[:, None]
        a, _ = self.attn(self.norm_q(q), self.norm_kv(kv), self.norm_kv(kv), key_padding_mask=~safe,
                         need_weights=False)
        h = q + a * has_kv[:, None, None]
        return h + self.ff(h)


class AttentionFusion(nn.Module):
    def __init__(self, dims: dict[str, int], n_targets: int, dim: int = 64, heads: int = 4, dropout: float = 0.1,
                 offsets: bool = False):
        super().__init__()
        self.proj = nn.ModuleDict({s: nn.Linear(dims[s], dim) for s in STREAMS})
        self.cross = nn.ModuleDict({s: CrossAttention(dim, heads, dropout) for s in STREAMS})
        self.pool = nn.ModuleDict({s: AttentionPool(dim) for s in STREAMS})
        self.gate = nn.Linear(len(STREAMS) * dim, len(STREAMS) * n_targets)
        self.residual = nn.Sequential(nn.Dropout(dropout), nn.Linear(len(STREAMS) * dim, n_targets))
        nn.init.zeros_(self.residual[1].weight)  # starts as a plain gate over the streams' predictions
        nn.init.zeros_(self.residual[1].bias)
        self.n_targets = n_targets
        self.offsets = _offsets(offsets, n_targets)

    def forward(self, streams: StreamInputs, present: torch.Tensor) -> torch.Tensor:
        proj = {s: self.proj[s](streams[s][0]) for s in STREAMS}
        pooled = []
        for k, s in enumerate(STREAMS):
            other = STREAMS[1 - k]
            h = self.cross[s](proj[s], proj[other], streams[other][1], present[:, 1 - k])
            mask = streams[s][1] & present[:, k, None]  # an absent stream pools nothing: zeros
            pooled.append(self.pool[s](h, mask))
        z = torch.cat(pooled, dim=1)
        gates = _masked_weights(self.gate(z).view(len(z), len(STREAMS), self.n_targets), present)
        u = _predictions(streams, self.offsets).nan_to_num(0.0)
        return (gates * u).sum(1) + self.residual(z)


FUSIONS: dict[str, type[nn.Module]] = {"late": LateFusion, "attention": AttentionFusion}


def build(name: str, dims: dict[str, int], n_targets: int, **kwargs) -> nn.Module:
    if name not in FUSIONS:
        raise KeyError(f"unknown fusion {name!r}; choose one of {sorted(FUSIONS)} (fuse.methods)")
    return FUSIONS[name](dims, n_targets, **kwargs)
