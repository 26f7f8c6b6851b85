"""Unusable files: :func:`probe` and the readers raise :class:`MediaError` naming the file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tiny_clips import SR

from avemo import media
from avemo.media import MediaError


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
