"""Audio front-end: 16 kHz mono waveform -> natural-log mel spectrogram, time-major.

Shapes: a waveform is ``(samples,)`` float32 in [-1, 1]; a log-mel is ``(frames, n_mels)``
float32 with ``frames = 1 + samples // hop`` (centred frames), i.e. about one frame per
``hop_ms`` of audio. The log is natural and floored at ``log(LOG_FLOOR)``: ``exp(mel)`` is the
mel-band power, which is what the augmentations mix noise into. The feature store keeps
this un-normalised log-mel; :func:`normalise` (train-split statistics) or
:func:`utterance_normalise` (per clip) turns it into model input.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torchaudio

from avemo.media.audio import SAMPLE_RATE, load_audio

N_MELS = 64
WIN_MS = 25.0
HOP_MS = 10.0
LOG_FLOOR = 1e-10  # power floor before the log: silence reads log(1e-10) = -23.03
NORM_EPS = 1e-5  # added to the std when normalising


def ms_to_samples(ms: float, sr: int = SAMPLE_RATE) -> int:
    return round(sr * ms / 1000.0)


def n_fft_for(win_length: int) -> int:
    """The smallest power of two holding the window (25 ms at 16 kHz: 400 -> 512)."""
    return 1 << max(0, (win_length - 1).bit_length())


WIN_LENGTH = ms_to_samples(WIN_MS)  # 400 samples
HOP_LENGTH = ms_to_samples(HOP_MS)  # 160 samples
N_FFT = n_fft_for(WIN_LENGTH)  # 512


@lru_cache(maxsize=8)
def _mel_transform(sr: int, n_mels: int, win_length: int, hop_length: int) -> torchaudio.transforms.MelSpectrogram:
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=sr, n_fft=n_fft_for(win_length), win_length=win_length, hop_length=hop_length,
        n_mels=n_mels, power=2.0, center=True, norm="slaney", mel_scale="slaney",
    )


def log_mel(
    audio: str | Path | np.ndarray | torch.Tensor,
    n_mels: int = N_MELS,
    win_ms: float = WIN_MS,
    hop_ms: float = HOP_MS,
    sr: int = SAMPLE_RATE,
) -> torch.Tensor:
    """Natural-log mel power spectrogram ``(frames, n_mels)`` float32 of a path (read whole,
    resampled to ``sr``) or a mono waveform ``(samples,)`` already at ``sr``."""
    if isinstance(audio, (str, Path)):
        audio = load_audio(audio, sr=sr)
    x = torch.as_tensor(audio).float()
    if x.ndim != 1:
        raise ValueError(f"log_mel expects a mono waveform (samples,), got shape {tuple(x.shape)}")
    mel = _mel_transform(sr, n_mels, ms_to_samples(win_ms, sr), ms_to_samples(hop_ms, sr))
    with torch.no_grad():
        spec = mel(x)  # (n_mels, frames)
    return spec.clamp(min=LOG_FLOOR).log().T.contiguous()


def normalise(mel: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Per-bin normalisation with fixed (train-split) statistics: ``(mel - mean) / (std + eps)``."""
    return (mel.float() - mean) / (std + NORM_EPS)


def utterance_normalise(mel: torch.Tensor) -> torch.Tensor:
    """Per-bin normalisation with the clip's own mean and std over time."""
    m = mel.float()
    return (m - m.mean(0)) / (m.std(0) + NORM_EPS)
