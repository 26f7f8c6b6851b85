"""avemo.media.audio: :func:`read_audio` on the tiny clips (see ``tiny_clips``), :func:`load_audio`
on sound files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from tiny_clips import DUR, SR, tone

from avemo import media


def _offset(x: np.ndarray, start: float) -> tuple[int, float]:
    """``(lag, error)``: the shift in samples that best aligns ``x`` with the tone from
    ``start``, and the largest absolute difference at that shift. Shifts are searched within
    half a period of 880 Hz (9 samples), where they are unambiguous; a whole period more is
    caught by the spans that hold the change of tone."""
    errors = {lag: np.abs(x - tone(start + (np.arange(x.size) + lag) / SR)).max() for lag in range(-8, 9)}
    lag = min(errors, key=errors.__getitem__)
    return lag, float(errors[lag])


@pytest.mark.parametrize(("name", "slack"), [
    ("mp4", 1), ("mkv", 1), ("avi", 1), ("wav", 0), ("flac", 0),
    ("audio_mkv", 8),  # Matroska timestamps are whole ms: a 44.1 kHz frame starts up to 0.5 ms off
])
@pytest.mark.parametrize(("start", "end"), [(0.0, DUR), (1.0, 2.0), (2.2, 2.6)])
def test_read_audio_returns_the_span_as_16k_mono(clips, name, slack, start, end):
    x = media.read_audio(clips[name], start, end)
    assert x.dtype == np.float32 and x.ndim == 1
    assert x.size == round((end - start) * SR)
    lag, error = _offset(x, start)
    assert abs(lag) <= slack  # no more than the container's timestamps allow
    # the content: 440 Hz / 880 Hz at the level of the channel mean; half a sample off gives
    # ~0.09 at 880 Hz, a 3 dB louder downmix ((L + R) / sqrt 2) 0.2
    assert error < 0.1


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / sr)[spectrum.argmax()])


def test_read_audio_keeps_the_pitch_after_resampling(clips):
    x = media.read_audio(clips["mp4"], 0.0, 1.0)  # 44.1 kHz stereo AAC -> 16 kHz mono
    assert _peak_hz(x, SR) == pytest.approx(440, abs=2)
    y = media.read_audio(clips["mp4"], 2.0, 3.0, sr=8000)
    assert y.size == 8000 and _peak_hz(y, 8000) == pytest.approx(880, abs=2)


@pytest.mark.parametrize("name", ["mkv", "wav"])
def test_read_audio_stops_at_the_end_of_the_file(clips, name):
    assert media.read_audio(clips[name], 2.5, 4.0).size == SR // 2
    assert media.read_audio(clips[name], 3.5, 4.0).size == 0


def test_read_audio_of_a_file_without_audio_is_empty(clips):
    x = media.read_audio(clips["video_only"], 0.0, 1.0)
    assert x.shape == (0,) and x.dtype == np.float32


def test_load_audio_reads_only_the_segment_of_a_sphere_file(sph_file):
    path, whole = sph_file
    seg = media.load_audio(path, start_s=0.5, end_s=1.25)
    assert seg.dtype == np.float32 and seg.shape == (int(0.75 * SR),)
    np.testing.assert_array_equal(seg, whole[int(0.5 * SR) : int(1.25 * SR)])
    assert media.load_audio(path, start_s=2.5, end_s=9.0).shape == (int(0.5 * SR),)  # clipped at the end
    assert media.load_audio(path, end_s=0.1).shape == (int(0.1 * SR),)


def test_load_audio_resamples_and_downmixes(tmp_path):
    path = tmp_path / "stereo8k.wav"
    left = (0.2 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)[::2]
    sf.write(path, np.stack([left, np.zeros_like(left)], 1), 8000, subtype="FLOAT")
    x = media.load_audio(path)
    assert x.shape == (SR,) and x.dtype == np.float32
    assert np.isclose(np.sqrt(np.mean(x**2)), np.sqrt(np.mean(left**2)) / 2, rtol=0.1)  # mean of L and R
