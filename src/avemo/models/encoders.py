"""Frame-level encoders sized for CPU. Each maps a padded batch and its mask to frame
embeddings ``(B, T', dim)`` and the matching mask, so one encoder serves clip-level outputs
(after pooling) and time-level outputs (per frame)."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of each frame of a ``(B, C, T)`` tensor: unlike GroupNorm
    or BatchNorm it never mixes frames, so padding cannot change a clip's output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


def _block1d(cin: int, cout: int, stride: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(cin, cout, kernel_size=5, stride=stride, padding=2),
        ChannelNorm(cout),
        nn.GELU(),
        nn.Dropout(dropout),
    )


class AudioCNN(nn.Module):
    """log-mel ``(B, T, n_mels)`` -> ``(B, ceil(T / 4), dim)``: four 1-D conv blocks, the first
    two strided (40 ms per output frame at a 10 ms hop; striding early keeps it cheap on CPU)."""

    stride = 4

    def __init__(self, n_inputs: int, dim: int = 96, dropout: float = 0.2):
        super().__init__()
        self.strides = (2, 2, 1, 1)
        chans = (n_inputs, dim, dim, dim, dim)
        self.net = nn.ModuleList(
            _block1d(cin, cout, st, dropout) for cin, cout, st in zip(chans[:-1], chans[1:], self.strides, strict=True)
        )
        self.dim = dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, m = (x * mask[..., None]).transpose(1, 2), mask
        for block, stride in zip(self.net, self.strides, strict=True):
            h, m = block(h), m[:, ::stride]
            h = h * m[:, None, :]  # re-zero padded frames so they never leak into real ones
        return h.transpose(1, 2), m


class VisualCNN(nn.Module):
    """grey face crops ``(B, T, px, px)`` in [0, 1] -> ``(B, T, dim)``: a small 2-D CNN on each
    real (unpadded) frame, then a residual temporal conv over the frame embeddings."""

    stride = 1

    def __init__(self, n_inputs: int, dim: int = 96, dropout: float = 0.2):
        super().__init__()
        del n_inputs  # crops of any size: the CNN ends in global pooling
        chans = (1, 16, 32, 32)
        layers: list[nn.Module] = []
        for cin, cout in pairwise(chans):  # max-pool before ReLU: the same function on 4x fewer values
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.MaxPool2d(2), nn.ReLU()]
        # a 6x6 grid instead of global pooling: in an aligned crop *where* a pattern is
        # matters (the mouth is always in the lower middle)
        layers += [nn.AdaptiveAvgPool2d(6), nn.Flatten(), nn.Dropout(dropout), nn.Linear(chans[-1] * 36, dim), nn.ReLU()]
        self.frame = nn.Sequential(*layers)
        self.temporal = nn.Sequential(nn.Dropout(dropout), _block1d(dim, dim, 1, dropout))
        self.dim = dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t = mask.shape
        frames = self.frame(((x[mask] - 0.5) / 0.25)[:, None])  # only real frames: padding costs nothing
        f = frames.new_zeros(b, t, self.dim)  # the frames' dtype: bf16 / fp16 under mixed precision
        f[mask] = frames
        h = f + self.temporal(f.transpose(1, 2)).transpose(1, 2) * mask[..., None]
        return h, mask


ENCODERS: dict[str, type[nn.Module]] = {"audio_cnn": AudioCNN, "visual_cnn": VisualCNN}


def build(name: str, n_inputs: int, dim: int, dropout: float) -> nn.Module:
    if name not in ENCODERS:
        raise KeyError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)} (model.*.name)")
    return ENCODERS[name](n_inputs, dim=dim, dropout=dropout)
