"""Training augmentations, torch only, reproducible from a ``torch.Generator``.

Each augmenter is ``aug(x, g) -> Tensor``: every random draw comes from ``g`` (in a fixed
order), so the same generator state gives the same output, and the input is never modified.

- :class:`AudioAugment` works on a log-mel ``(T, n_mels)`` in the front-end's natural-log
  power domain (``exp(x)`` = mel-band power, see :mod:`avemo.features.audio`): noise is mixed
  in the power domain, gain is an offset, then a circular time shift and SpecAugment masks.
  Apply it to the stored log-mel *before* normalisation so that the SNR means what it says.
- :class:`FaceAugment` works on face crops ``(T, H, W)`` float in [0, 1]; every clip-level
  draw (angle, occluder, blur) is shared by all frames of the clip.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from avemo.config import AudioAugment as AudioAugmentConfig
from avemo.config import VideoAugment as VideoAugmentConfig

LOG_FLOOR = math.log(1e-10)  # the front-end's floor (audio.LOG_FLOOR)


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g, device=g.device))


def _randint(g: torch.Generator, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]`` (inclusive)."""
    return int(torch.randint(lo, hi + 1, (), generator=g, device=g.device))


class AudioAugment:
    """Noise at a random SNR, gain, circular time shift, frequency and time masks.

    Masked bands are set to ``mask_value``; ``None`` uses the clip's mean log-mel, which is
    neutral both before and after normalisation (0.0 reproduces torchaudio's default)."""

    def __init__(self, cfg: AudioAugmentConfig, mask_value: float | None = None):
        self.cfg, self.mask_value = cfg, mask_value

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        c = self.cfg
        y = x.float().clone()
        t, n_mels = y.shape[-2], y.shape[-1]
        if _uniform(g, 0, 1) < c.p_noise:  # additive noise at a random SNR, in the power domain
            snr_db = _uniform(g, *c.noise_snr_db)
            signal = y.exp().mean()
            u = torch.rand(y.shape, generator=g, device=g.device).to(y.device)
            noise = -torch.log1p(-u) * (signal / 10 ** (snr_db / 10))  # exponential: |white noise|^2
            y = torch.log(y.exp() + noise).clamp(min=LOG_FLOOR)
        if c.gain_db > 0:
            y = y + _uniform(g, -c.gain_db, c.gain_db) * math.log(10) / 10
        if c.shift_frac > 0 and t > 1:
            k = int(c.shift_frac * t)
            y = torch.roll(y, _randint(g, -k, k), dims=-2)
        fill = float(y.mean()) if self.mask_value is None else self.mask_value
        for _ in range(c.freq_masks):
            w = _randint(g, 0, min(c.freq_width, n_mels))
            f0 = _randint(g, 0, n_mels - w)
            y[..., f0 : f0 + w] = fill
        for _ in range(c.time_masks):
            w = _randint(g, 0, min(c.time_width, t))
            t0 = _randint(g, 0, t - w)
            y[..., t0 : t0 + w, :] = fill
        return y


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    return k / k.sum()


class FaceAugment:
    """Small rotation, cut-out occluder, brightness/contrast, a lighting gradient, blur.

    ``brightness`` also sets the strength of the multiplicative light gradient
    (``1 + s * ramp`` with ``s`` up to ``brightness``, at a random direction)."""

    def __init__(self, cfg: VideoAugmentConfig):
        self.cfg = cfg

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        if not x.is_floating_point():
            raise TypeError(f"FaceAugment expects float frames in [0, 1], got {x.dtype}")
        c = self.cfg
        y = x.float().reshape(-1, 1, *x.shape[-2:])  # (T, 1, H, W), a new tensor below
        t, _, h, w = y.shape
        dev = y.device

        if c.rotate_deg > 0:  # one angle for the whole clip
            a = math.radians(_uniform(g, -c.rotate_deg, c.rotate_deg))
            theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]],
                                 device=dev).expand(t, 2, 3)
            grid = F.affine_grid(theta, [t, 1, h, w], align_corners=False)
            y = F.grid_sample(y, grid, mode="bilinear", padding_mode="border", align_corners=False)
        else:
            y = y.clone()

        if _uniform(g, 0, 1) < c.p_cutout:  # the same occluder on every frame
            ch, cw = max(1, round(c.cutout_frac * h)), max(1, round(c.cutout_frac * w))
            y0, x0 = _randint(g, 0, h - ch), _randint(g, 0, w - cw)
            y[..., y0 : y0 + ch, x0 : x0 + cw] = _uniform(g, 0, 1)

        gain = _uniform(g, 1 - c.contrast, 1 + c.contrast)
        offset = _uniform(g, -c.brightness, c.brightness)
        if gain != 1.0 or offset != 0.0:
            mean = y.mean()
            y = (y - mean) * gain + mean + offset
        if c.brightness > 0:
            s, phi = _uniform(g, 0, c.brightness), _uniform(g, 0, 2 * math.pi)
            gy, gx = torch.meshgrid(torch.linspace(-1, 1, h, device=dev), torch.linspace(-1, 1, w, device=dev),
                                    indexing="ij")
            y = y * (1 + s * (gx * math.cos(phi) + gy * math.sin(phi)))

        if _uniform(g, 0, 1) < c.p_blur:
            k = _gaussian_kernel(_uniform(g, *c.blur_sigma)).to(dev)
            r = len(k) // 2
            y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
            y = F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))

        return y.clamp(0, 1).reshape(x.shape)
