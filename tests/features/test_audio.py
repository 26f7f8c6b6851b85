import time

import numpy as np
import pytest
import torch

from avemo.features import audio
from avemo.media import load_audio

SR = audio.SAMPLE_RATE


def _noise(seconds: float, amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    return (amplitude * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def test_constants_follow_the_millisecond_settings():
    assert (audio.WIN_LENGTH, audio.HOP_LENGTH, audio.N_FFT, audio.N_MELS) == (400, 160, 512, 64)


@pytest.mark.parametrize("seconds", [0.3, 1.0, 2.5])
def test_log_mel_is_time_major_one_frame_per_hop(seconds):
    mel = audio.log_mel(_noise(seconds))
    n = int(seconds * SR)
    assert mel.shape == (1 + n // audio.HOP_LENGTH, 64)
    assert mel.dtype == torch.float32 and torch.isfinite(mel).all()
    assert audio.log_mel(_noise(seconds), n_mels=40, hop_ms=20).shape == (1 + n // 320, 40)


def test_log_mel_accepts_path_array_and_tensor_identically(wav_file):
    x = load_audio(wav_file)
    from_path = audio.log_mel(wav_file)
    assert torch.equal(from_path, audio.log_mel(str(wav_file)))
    assert torch.equal(from_path, audio.log_mel(x))
    assert torch.equal(from_path, audio.log_mel(torch.from_numpy(x)))


def test_louder_signal_has_higher_mean_log_mel_and_silence_hits_the_floor():
    quiet, loud = audio.log_mel(_noise(1.0, 0.01)), audio.log_mel(_noise(1.0, 0.1))
    assert loud.mean() > quiet.mean() + 4.0  # 20 dB more power = +4.6 in natural log
    assert torch.allclose(audio.log_mel(np.zeros(SR, np.float32)), torch.tensor(float(np.log(audio.LOG_FLOOR))))


def test_log_mel_rejects_multichannel_arrays():
    with pytest.raises(ValueError, match="mono"):
        audio.log_mel(np.zeros((2, SR), np.float32))


def test_normalisations():
    mel = audio.log_mel(_noise(2.0)).half()
    u = audio.utterance_normalise(mel)
    assert u.dtype == torch.float32
    assert torch.allclose(u.mean(0), torch.zeros(64), atol=1e-3) and torch.allclose(u.std(0), torch.ones(64), atol=1e-2)
    g = audio.normalise(mel, mel.float().mean(0), mel.float().std(0))
    assert torch.allclose(g, u, atol=1e-4)


@pytest.fixture
def one_thread():
    """Measure as the features stage runs: one torch thread per process (on a shared 2-core
    machine, torch's default 2 OpenMP threads can be 20x slower on short clips)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_log_mel_runs_far_faster_than_real_time(one_thread):
    x = _noise(30.0)
    audio.log_mel(x[:SR])  # build the cached transform
    t0 = time.perf_counter()
    for k in range(10):
        audio.log_mel(x[k * 3 * SR : (k + 1) * 3 * SR])
    rtf = 30.0 / (time.perf_counter() - t0)
    assert rtf > 100, f"log-mel at {rtf:.0f}x real time"
