import math

import numpy as np
import pytest
import torch

from avemo.config import AudioAugment as AudioCfg
from avemo.config import VideoAugment as VideoCfg
from avemo.features import audio
from avemo.features.augment import AudioAugment, FaceAugment

OFF_AUDIO = dict(p_noise=0.0, gain_db=0.0, shift_frac=0.0, freq_masks=0, time_masks=0)
OFF_VIDEO = dict(brightness=0.0, contrast=0.0, rotate_deg=0.0, p_cutout=0.0, p_blur=0.0)


def g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def mel() -> torch.Tensor:
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(32000) * np.repeat(rng.uniform(0, 1, 20), 1600)).astype(np.float32)
    return audio.log_mel(x)  # (201, 64)


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    torch.manual_seed(0)
    base = torch.rand(1, 48, 48) * 0.5 + 0.25
    return base.repeat(6, 1, 1) + 0.01 * torch.arange(6).view(6, 1, 1)


@pytest.mark.parametrize("make, x", [(lambda: AudioAugment(AudioCfg(p_noise=0.5)), "mel"),
                                     (lambda: FaceAugment(VideoCfg(p_cutout=0.5, p_blur=0.5)), "faces")])
def test_reproducible_from_the_generator_and_pure(make, x, request):
    x = request.getfixturevalue(x)
    before = x.clone()
    aug = make()
    a, b = aug(x, g(1)), aug(x, g(1))
    assert torch.equal(a, b)
    assert not torch.equal(a, aug(x, g(2)))
    assert torch.equal(x, before)  # input untouched
    assert a.shape == x.shape and a.dtype == torch.float32
    outs = {tuple(aug(x, g(s)).flatten()[:50].tolist()) for s in range(8)}
    assert len(outs) == 8


def test_frequency_and_time_masks_set_bands(mel):
    aug = AudioAugment(AudioCfg(**{**OFF_AUDIO, "freq_masks": 1, "freq_width": 8, "time_masks": 1, "time_width": 20}),
                       mask_value=0.0)
    widths_f, widths_t = [], []
    for s in range(20):
        y = aug(mel, g(s))
        zero_cols = (y == 0).all(0)
        zero_rows = (y == 0).all(1)
        widths_f.append(int(zero_cols.sum()))
        widths_t.append(int(zero_rows.sum()))
        if 0 < widths_f[-1] < 64:  # one contiguous band
            idx = torch.nonzero(zero_cols).flatten()
            assert idx[-1] - idx[0] + 1 == len(idx)
        kept = ~((y == 0).all(0, keepdim=True) | (y == 0).all(1, keepdim=True))
        assert torch.equal(y[kept], mel.expand_as(y)[kept])  # nothing else changed
    assert max(widths_f) <= 8 and max(widths_t) <= 20
    assert sum(w > 0 for w in widths_f) > 10 and sum(w > 0 for w in widths_t) > 10


def test_default_mask_fill_is_the_clip_mean(mel):
    y = AudioAugment(AudioCfg(**{**OFF_AUDIO, "freq_masks": 2, "freq_width": 10}))(mel, g(3))
    filled = (y == mel.mean()).all(0)
    assert filled.any()


def test_gain_is_an_offset_within_the_range(mel):
    aug = AudioAugment(AudioCfg(**{**OFF_AUDIO, "gain_db": 6.0}))
    for s in range(5):
        d = aug(mel, g(s)) - mel
        assert torch.allclose(d, d.flatten()[0].expand_as(d), atol=1e-5)
        assert abs(float(d.flatten()[0])) <= 6.0 * math.log(10) / 10 + 1e-6


def test_time_shift_is_circular(mel):
    y = AudioAugment(AudioCfg(**{**OFF_AUDIO, "shift_frac": 0.1}))(mel, g(4))
    shifts = [k for k in range(-20, 21) if torch.equal(torch.roll(mel, k, 0), y)]
    assert len(shifts) == 1


def test_noise_fills_quiet_bins_in_the_power_domain(mel):
    aug = AudioAugment(AudioCfg(**{**OFF_AUDIO, "p_noise": 1.0, "noise_snr_db": [10.0, 10.0]}))
    y = aug(mel, g(0))
    assert (y >= mel - 1e-4).all()  # adding power never lowers a bin
    quiet = mel < mel.quantile(0.1)
    assert (y - mel)[quiet].mean() > (y - mel)[~quiet].mean()
    snr = 10 * math.log10(float(mel.exp().mean() / (y.exp() - mel.exp()).mean()))
    assert 8.0 < snr < 12.0


def test_face_rotation_and_cutout_are_shared_by_all_frames():
    x = (torch.rand(1, 32, 32) * 0.6 + 0.2).repeat(4, 1, 1)
    aug = FaceAugment(VideoCfg(**{**OFF_VIDEO, "rotate_deg": 15.0, "p_cutout": 1.0, "cutout_frac": 0.3}))
    y = aug(x, g(5))
    assert all(torch.equal(y[0], y[k]) for k in range(1, 4))
    assert not torch.equal(y, x)
    cut = FaceAugment(VideoCfg(**{**OFF_VIDEO, "p_cutout": 1.0, "cutout_frac": 0.25}))(x, g(6))
    changed = (cut != x)[0]
    rows, cols = torch.nonzero(changed.any(1)).flatten(), torch.nonzero(changed.any(0)).flatten()
    assert len(rows) <= 8 and len(cols) <= 8 and len(torch.unique(cut[0][changed])) == 1


def test_face_photometric_and_blur_stay_in_range(faces):
    aug = FaceAugment(VideoCfg(brightness=0.5, contrast=0.5, p_blur=1.0, blur_sigma=[1.0, 1.5]))
    for s in range(5):
        y = aug(faces, g(s))
        assert y.shape == faces.shape and float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    blurred = FaceAugment(VideoCfg(**{**OFF_VIDEO, "p_blur": 1.0, "blur_sigma": [1.5, 1.5]}))(faces, g(0))
    dx = lambda t: (t[..., 1:] - t[..., :-1]).abs().mean()  # noqa: E731
    assert dx(blurred) < 0.5 * dx(faces)
    assert torch.allclose(blurred.mean(), faces.mean(), atol=0.01)


def test_all_off_is_the_identity(mel, faces):
    assert torch.equal(AudioAugment(AudioCfg(**OFF_AUDIO))(mel, g(0)), mel)
    assert torch.allclose(FaceAugment(VideoCfg(**OFF_VIDEO))(faces, g(0)), faces)


def test_face_augment_rejects_uint8(faces):
    with pytest.raises(TypeError, match="float"):
        FaceAugment(VideoCfg())((faces * 255).to(torch.uint8), g(0))
