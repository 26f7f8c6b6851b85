"""avemo.serve.media on tiny clips written in a temp folder: 3 s, 8 fps, 64x48, frame ``i``
has grey level ``10 * i``; the audio is a 0.5-amplitude tone, 440 Hz then 880 Hz from 1.5 s,
the same on every channel."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avemo.serve import media
from avemo.serve.media import MediaError

DUR, FPS, W, H = 3.0, 8, 64, 48
CHANGE_S = 1.5
SR = 16000


def tone(t: np.ndarray) -> np.ndarray:
    return 0.5 * np.where(t < CHANGE_S, np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 880 * t))


class _WriteOnly:
    """A file object that cannot seek: the muxer cannot go back to write durations."""

    def __init__(self, f):
        self.f = f

    def write(self, b: bytes) -> int:
        return self.f.write(b)


def _encode_video(out, stream) -> None:
    import av

    for i in range(round(DUR * FPS)):
        img = np.full((H, W, 3), 10 * i, np.uint8)
        for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def _encode_audio(out, stream, sr: int, layout: str) -> None:
    import av

    x = tone(np.arange(round(DUR * sr)) / sr).astype(np.float32)[None]
    x = np.repeat(x, 2 if layout == "stereo" else 1, 0)
    step = stream.codec_context.frame_size or 1024
    convert = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=sr)  # encoder's
    for i in [*range(0, x.shape[1], step), None]:
        frame = None
        if i is not None:
            chunk = np.ascontiguousarray(x[:, i : i + step])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate, frame.pts = sr, i
        for f in convert.resample(frame):
            for packet in stream.encode(f):
                out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def _write(path: Path, fmt: str, video: str | None, audio: str | None = None, sr: int = 44100,
           channels: int = 2, seekable: bool = True) -> Path:
    """A clip in ``fmt`` with a ``video`` and / or an ``audio`` codec (all streams are added
    before the first packet is written)."""
    import av

    layout = "stereo" if channels == 2 else "mono"
    with open(path, "wb") as f, av.open(str(path) if seekable else _WriteOnly(f), "w", format=fmt) as out:
        vs = out.add_stream(video, rate=FPS) if video else None
        if vs is not None:
            vs.width, vs.height = W, H
            vs.pix_fmt = "yuvj420p" if video == "mjpeg" else "yuv420p"
        aus = out.add_stream(audio, rate=sr, layout=layout) if audio else None
        if vs is not None:
            _encode_video(out, vs)
        if aus is not None:
            _encode_audio(out, aus, sr, layout)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    import av

    d = tmp_path_factory.mktemp("media")
    h264 = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    t44, t16 = np.arange(round(DUR * 44100)) / 44100, np.arange(round(DUR * 16000)) / 16000
    sf.write(d / "tone.wav", np.stack([tone(t44)] * 2, 1), 44100, subtype="FLOAT")
    sf.write(d / "tone.flac", tone(t16), 16000)
    return {
        "mp4": _write(d / "clip.mp4", "mp4", h264, "aac"),  # 44.1 kHz stereo
        "mkv": _write(d / "clip.mkv", "matroska", "mpeg4", "flac", sr=16000, channels=1),
        "avi": _write(d / "clip.avi", "avi", "mjpeg", "pcm_s16le"),  # 44.1 kHz stereo, as IEMOCAP
        "video_only": _write(d / "silent.mp4", "mp4", h264),
        "audio_mkv": _write(d / "sound.mkv", "matroska", None, "flac"),
        "wav": d / "tone.wav",
        "flac": d / "tone.flac",
    }


# --------------------------------------------------------------------------- probe


@pytest.mark.parametrize(("name", "has_audio", "has_video", "sample_rate"), [
    ("mp4", True, True, 44100), ("mkv", True, True, 16000), ("avi", True, True, 44100),
    ("video_only", False, True, None), ("audio_mkv", True, False, 44100),
    ("wav", True, False, 44100), ("flac", True, False, 16000),
])
def test_probe_reads_the_streams(clips, name, has_audio, has_video, sample_rate):
    info = media.probe(clips[name])
    assert info.path == str(clips[name])
    assert info.duration_s == pytest.approx(DUR, abs=0.05)
    assert (info.has_audio, info.has_video, info.sample_rate) == (has_audio, has_video, sample_rate)
    if has_video:
        assert (info.fps, info.width, info.height) == (FPS, W, H)
    else:
        assert (info.fps, info.width, info.height) == (None, None, None)


def test_probe_finds_the_duration_of_a_file_without_duration_metadata(tmp_path):
    import av

    path = _write(tmp_path / "streamed.mkv", "matroska", "mpeg4", seekable=False)
    with av.open(str(path)) as c:
        assert c.duration is None and c.streams.video[0].duration is None  # the fallback is needed
    assert media.probe(path).duration_s == pytest.approx(DUR, abs=0.05)


# --------------------------------------------------------------------------- audio


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


# --------------------------------------------------------------------------- frames


def _levels(frames: np.ndarray) -> np.ndarray:
    """The frame index each grey frame shows (level 10 * index)."""
    return np.round(frames.reshape(len(frames), -1).mean(1) / 10).astype(int)


@pytest.mark.parametrize("name", ["mp4", "mkv", "avi", "video_only"])
def test_read_frames_samples_the_span(clips, name):
    frames, times = media.read_frames(clips[name], 0.5, 2.5, fps_out=2)
    assert frames.dtype == np.uint8 and frames.shape == (4, H, W)
    np.testing.assert_allclose(times, [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_array_equal(_levels(frames), [4, 8, 12, 16])


@pytest.mark.parametrize("name", ["mp4", "avi"])
def test_read_frames_takes_the_frame_on_display(clips, name):
    frames, times = media.read_frames(clips[name], 0.2, 1.2, fps_out=3)  # between frames
    np.testing.assert_allclose(times, [0.2, 0.2 + 1 / 3, 0.2 + 2 / 3])
    np.testing.assert_array_equal(_levels(frames), [1, 4, 6])  # at or before, not nearest (2, 4, 7)
    frames, times = media.read_frames(clips[name], 1.0, 1.5, fps_out=16)  # faster than the video
    np.testing.assert_allclose(times, 1.0 + np.arange(8) / 16)
    np.testing.assert_array_equal(_levels(frames), [8, 8, 9, 9, 10, 10, 11, 11])


def test_read_frames_stops_at_the_end_of_the_stream(clips):
    frames, times = media.read_frames(clips["mp4"], 2.5, 4.0, fps_out=2)  # last frame: 2.875-3.0 s
    np.testing.assert_allclose(times, [2.5])
    np.testing.assert_array_equal(_levels(frames), [20])
    frames, times = media.read_frames(clips["mp4"], 3.5, 4.0, fps_out=2)
    assert frames.shape == (0, H, W) and times.shape == (0,)


@pytest.mark.parametrize(("max_height", "shape"), [
    (24, (24, 32)), (20, (20, 26)), (100, (H, W)), (None, (H, W)),  # 64 * 20 / 48 = 26.7: even width
])
def test_read_frames_downscales_to_max_height(clips, max_height, shape):
    frames, _ = media.read_frames(clips["mkv"], 1.0, 2.0, fps_out=2, max_height=max_height)
    assert frames.shape == (2, *shape)
    np.testing.assert_array_equal(_levels(frames), [8, 12])


@pytest.mark.parametrize("name", ["audio_mkv", "wav"])
def test_read_frames_of_a_file_without_video_is_empty(clips, name):
    frames, times = media.read_frames(clips[name], 0.0, 1.0, fps_out=2)
    assert frames.shape == (0, 0, 0) and frames.dtype == np.uint8 and times.shape == (0,)


# --------------------------------------------------------------------------- errors


def _subtitles_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w", format="matroska") as out:
        if not hasattr(out, "add_mux_stream"):
            pytest.skip("this PyAV cannot write a stream without an encoder")
        stream = out.add_mux_stream("subrip", time_base=Fraction(1, 1000))
        packet = av.Packet(b"hello")
        packet.stream, packet.pts, packet.dts, packet.duration = stream, 0, 0, 1000
        packet.time_base = Fraction(1, 1000)
        out.mux(packet)
    return path


def _make(tmp_path: Path, case: str) -> Path:
    if case == "missing":
        return tmp_path / "nowhere.mp4"
    if case == "subtitles":
        return _subtitles_only(tmp_path / "subtitles.mkv")
    if case == "zero_duration":
        path = tmp_path / "silence.wav"
        sf.write(path, np.zeros(0, np.float32), SR)
        return path
    name, data = {
        "empty": ("upload.mp4", b""),
        "not_media": ("noise.mp4", np.random.default_rng(0).bytes(4096)),
        "not_audio": ("noise.wav", np.random.default_rng(0).bytes(4096)),
        "text": ("notes.txt", b"not a recording"),
        "no_suffix": ("clip", b"not a recording"),
    }[case]
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


@pytest.mark.parametrize(("case", "says"), [
    ("missing", "no such file"), ("empty", "empty (0 bytes)"), ("not_media", "not a readable .mp4"),
    ("not_audio", "not a readable .wav"), ("text", ".wav, .flac) and video (.mp4, .avi, .mkv)"),
    ("no_suffix", "unsupported file type"), ("subtitles", "neither an audio nor a video stream"),
    ("zero_duration", "zero duration"),
])
def test_probe_rejects_unusable_files_with_a_message(tmp_path, case, says):
    path = _make(tmp_path, case)
    with pytest.raises(MediaError) as err:
        media.probe(path)
    assert str(err.value).startswith(f"{path}: ") and says in str(err.value)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("case", ["missing", "empty", "not_media", "text"])
def test_readers_reject_unusable_files(tmp_path, case):
    path = _make(tmp_path, case)
    with pytest.raises(MediaError):
        media.read_audio(path, 0.0, 1.0)
    with pytest.raises(MediaError):
        media.read_frames(path, 0.0, 1.0, fps_out=2)
