"""Test-time conditions every fused model is scored under (``reports/metrics.json`` ``modes``):
both streams, one stream missing, noisy audio (white noise at ``noisy_audio_snr_db``) and
occluded, noisy video (one occluder over every frame plus Gaussian pixel noise). The noise
comes from the training augmenters set to a fixed strength, so it means the same thing."""

from __future__ import annotations

from collections.abc import Callable

import torch

from avemo.config import AudioAugment as AudioAugmentConfig
from avemo.config import FusionModes
from avemo.config import VideoAugment as VideoAugmentConfig
from avemo.features.augment import AudioAugment, FaceAugment

MODES = ("audio_visual", "audio_only", "video_only", "noisy_audio", "noisy_video")
MISSING = {"audio_only": {"visual"}, "video_only": {"audio"}}

Perturb = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def noisy_audio(snr_db: float) -> Perturb:
    """White noise at exactly ``snr_db`` on a stored (un-normalised) log-mel."""
    return AudioAugment(AudioAugmentConfig(p_noise=1.0, noise_snr_db=[snr_db, snr_db], gain_db=0.0, shift_frac=0.0,
                                           freq_masks=0, time_masks=0))


def noisy_video(cutout_frac: float, noise_std: float) -> Perturb:
    """One random occluder of side ``cutout_frac`` on every frame of a clip, then pixel noise."""
    occlude = FaceAugment(VideoAugmentConfig(brightness=0.0, contrast=0.0, rotate_deg=0.0, p_cutout=1.0,
                                             cutout_frac=cutout_frac, p_blur=0.0))

    def apply(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        y = occlude(x, g)
        return (y + noise_std * torch.randn(y.shape, generator=g)).clamp(0, 1)

    return apply


def perturbations(mode: str, cfg: FusionModes) -> dict[str, Perturb]:
    """stream -> perturbation for ``mode`` (empty for the clean modes)."""
    if mode not in MODES:
        raise KeyError(f"unknown mode {mode!r}; choose one of {MODES}")
    if mode == "noisy_audio":
        return {"audio": noisy_audio(cfg.noisy_audio_snr_db)}
    if mode == "noisy_video":
        return {"visual": noisy_video(cfg.noisy_video.cutout_frac, cfg.noisy_video.noise_std)}
    return {}
