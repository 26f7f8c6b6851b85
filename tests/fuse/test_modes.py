"""Evaluation-mode perturbations: the strength they name, the same draw for the same seed."""

import math

import torch

from avemo.config import FusionModes
from avemo.fuse import modes


def test_noisy_audio_adds_noise_of_equal_power_at_zero_db():
    x = torch.full((200, 16), math.log(2.0))  # log-mel of constant power 2
    y = modes.noisy_audio(0.0)(x, torch.Generator().manual_seed(0))
    ratio = float(y.exp().mean() / x.exp().mean())
    assert 1.9 < ratio < 2.1  # signal + noise of the same power


def test_noisy_video_occludes_every_frame_the_same_way_and_repeats_per_seed():
    x = torch.full((4, 24, 24), 0.5)
    perturb = modes.noisy_video(cutout_frac=0.5, noise_std=0.0)
    a = perturb(x, torch.Generator().manual_seed(3))
    b = perturb(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    changed = (a != 0.5).sum(dim=(1, 2))
    assert (changed == 144).all()  # one 12x12 occluder on each frame
    noisy = modes.noisy_video(cutout_frac=0.5, noise_std=0.1)(x, torch.Generator().manual_seed(3))
    assert 0.05 < float((noisy - a).std()) < 0.15


def test_modes_cover_both_missing_streams_and_both_noises():
    cfg = FusionModes()
    assert set(modes.perturbations("noisy_audio", cfg)) == {"audio"}
    assert set(modes.perturbations("noisy_video", cfg)) == {"visual"}
    assert modes.perturbations("audio_only", cfg) == {} and modes.MISSING["audio_only"] == {"visual"}
    assert modes.MISSING["video_only"] == {"audio"}
