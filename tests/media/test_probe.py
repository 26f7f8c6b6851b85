"""avemo.media.probe on the tiny clips (see ``tiny_clips``)."""

from __future__ import annotations

import pytest
from tiny_clips import DUR, FPS, SR, H, W, write, write_cover_art

from avemo import media
from avemo.media.probe import declared_duration


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

    path = write(tmp_path / "streamed.mkv", "matroska", "mpeg4", seekable=False)
    with av.open(str(path)) as c:
        assert c.duration is None and c.streams.video[0].duration is None  # the fallback is needed
    assert media.probe(path).duration_s == pytest.approx(DUR, abs=0.05)


def test_probe_ignores_cover_art(tmp_path):
    info = media.probe(write_cover_art(tmp_path / "song.mp4"))
    assert (info.has_audio, info.has_video, info.sample_rate, info.fps) == (True, False, SR, None)
    assert info.duration_s == pytest.approx(DUR, abs=0.1)


def test_declared_duration_of_the_headers(clips, tmp_path):
    import av

    with av.open(str(clips["avi"])) as c:
        assert declared_duration(c, c.streams.video[0]) == pytest.approx(DUR)  # frames / rate
    with av.open(str(write(tmp_path / "streamed.mkv", "matroska", "mpeg4", seekable=False))) as c:
        assert declared_duration(c, c.streams.video[0]) is None  # nothing declared
