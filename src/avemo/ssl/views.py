"""Two views of one stored sample, every draw from a ``torch.Generator`` (same state -> same
views). Each maker is ``views(x, g) -> (v1, v2)`` on the stored scale (raw log-mel, crops in
[0, 1]); normalisation for the model comes after (see :class:`avemo.ssl.data.TwoViewDataset`).

- audio: two random crops of ``crop_frames`` at independent offsets of the same segment, then
  :class:`~avemo.features.augment.AudioAugment` (noise, gain, shift, SpecAugment masks) on each;
- faces: a random resized crop (scale + translation jitter, one ``affine_grid``) then
  :class:`~avemo.features.augment.FaceAugment` (rotation, occlusion, lighting, blur) on each.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from avemo.config import AugmentConfig
from avemo.features.augment import AudioAugment, FaceAugment

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def random_crop(x: torch.Tensor, length: int, g: torch.Generator) -> torch.Tensor:
    """A window of ``length`` frames at a random offset (the whole of ``x`` if shorter)."""
    if len(x) <= length:
        return x
    start = int(torch.randint(0, len(x) - length + 1, (), generator=g))
    return x[start : start + length]


class AudioViews:
    """Log-mel ``(T, n_mels)`` -> two ``(<= crop_frames, n_mels)`` views."""

    def __init__(self, crop_frames: int = 200, augment: Augment | None = None):
        if crop_frames < 1:
            raise ValueError(f"crop_frames must be >= 1, got {crop_frames}")
        self.crop_frames, self.augment = crop_frames, augment

    def _one(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        v = random_crop(x, self.crop_frames, g)
        return v.float().clone() if self.augment is None else self.augment(v, g)

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self._one(x, g), self._one(x, g)


def resized_crop(x: torch.Tensor, g: torch.Generator, scale: tuple[float, float],
                 translate: float) -> torch.Tensor:
    """Zoom into a random square window of side ``s`` (a fraction of the crop, ``s`` in
    ``scale``) shifted by up to ``translate`` (fraction of the half-width), resampled to the
    original size; frames ``(T, H, W)``, one window for all frames."""
    s = _uniform(g, *scale)
    room = max(1 - s, 0.0) + translate
    tx, ty = _uniform(g, -room, room), _uniform(g, -room, room)
    t, h, w = x.shape
    theta = torch.tensor([[s, 0.0, tx], [0.0, s, ty]], dtype=torch.float32, device=x.device).expand(t, 2, 3)
    grid = F.affine_grid(theta, [t, 1, h, w], align_corners=False)
    return F.grid_sample(x.float()[:, None], grid, mode="bilinear", padding_mode="border",
                         align_corners=False)[:, 0]


class FaceViews:
    """Face crops ``(T, H, W)`` in [0, 1] (T = 1 for a still image) -> two views, same shape."""

    def __init__(self, augment: Augment | None = None, scale: tuple[float, float] = (0.75, 1.0),
                 translate: float = 0.05):
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale must be 0 < lo <= hi, got {scale}")
        self.augment, self.scale, self.translate = augment, tuple(scale), translate

    def _one(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        v = resized_crop(x, g, self.scale, self.translate)
        return v if self.augment is None else self.augment(v, g)

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self._one(x, g), self._one(x, g)


def build(stream: str, augment: AugmentConfig | None = None, crop_frames: int = 200,
          scale: tuple[float, float] = (0.75, 1.0), translate: float = 0.05) -> AudioViews | FaceViews:
    """The view maker of a stream (``audio`` or ``visual``) with the params' augmentations."""
    cfg = augment if augment is not None else AugmentConfig()
    if stream == "audio":
        return AudioViews(crop_frames, AudioAugment(cfg.audio) if cfg.enabled else None)
    if stream in ("visual", "video"):
        return FaceViews(FaceAugment(cfg.video) if cfg.enabled else None, scale, translate)
    raise KeyError(f"unknown stream {stream!r}; choose 'audio' or 'visual'")
