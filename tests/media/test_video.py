"""avemo.media.video: grey frames sampled from the tiny clips (see ``tiny_clips``), RGB segments
of a dialog AVI (frame k shows its index in the top-left block)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from tiny_clips import H, W, write_cover_art

from avemo import media
from avemo.media import MediaError

# --------------------------------------------------------------------------- grey samples


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


def test_read_frames_of_cover_art_is_empty(tmp_path):
    frames, times = media.read_frames(write_cover_art(tmp_path / "song.mp4"), 0.0, 1.0, fps_out=2)
    assert frames.shape == (0, 0, 0) and times.shape == (0,)


# --------------------------------------------------------------------------- RGB segments


def _index(frames: np.ndarray) -> list[int]:
    return [round(float(f[4:12, 4:12].mean()) / 6) for f in frames]


def test_read_rgb_segment_of_a_video(dialog_avi):
    frames, fps = media.read_rgb(dialog_avi, 1.0, 2.0)
    assert fps == 10 and frames.dtype == np.uint8 and frames.shape == (10, 96, 128, 3)
    assert _index(frames) == list(range(10, 20))
    whole, _ = media.read_rgb(dialog_avi)
    assert len(whole) == 40
    assert _index(media.read_rgb(dialog_avi, 3.5, 9.0)[0]) == list(range(35, 40))


def test_decode_segments_once_for_overlapping_segments(dialog_avi):
    segments = [(2.0, 2.6), (0.5, 1.0), (0.8, 2.2), (3.9, 4.4)]
    got = dict(media.decode_segments(dialog_avi, segments, fn=lambda k, rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)))
    assert sorted(got) == [0, 1, 2, 3]
    assert got[0].ndim == 3  # grey, through fn
    assert [_index(got[k][..., None].repeat(3, -1)) for k in range(4)] == [
        list(range(20, 26)), list(range(5, 10)), list(range(8, 22)), [39]]


def test_video_fps(dialog_avi, clips):
    assert media.video_fps(dialog_avi) == 10.0 and media.video_fps(clips["mkv"]) == 8.0


@pytest.mark.parametrize(("frame_rotation", "turns"), [(0, 0), (90, 1), (-90, 3), (180, 2), (None, 0)])
def test_upright_turns_by_the_display_rotation(frame_rotation, turns):
    img = np.arange(6, dtype=np.uint8).reshape(2, 3)

    class Frame:
        rotation = frame_rotation

    np.testing.assert_array_equal(media.upright(img, Frame()), np.rot90(img, turns))


def test_frame_span_centres_frames_in_the_segment():
    assert media.frame_span(None, None, 10) == (0, None)
    assert media.frame_span(1.0, 2.0, 10) == (10, 20)
    assert media.frame_span(0.5, 0.52, 10) == (5, 6)  # at least one frame


def test_segment_readers_reject_a_file_without_video(tmp_path, clips):
    (tmp_path / "noise.avi").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(MediaError, match="not a readable .avi"):
        next(media.decode_segments(tmp_path / "noise.avi", [(0.0, 1.0)]))
    with pytest.raises(MediaError, match="no video stream"):
        media.read_rgb(clips["audio_mkv"])
    with pytest.raises(MediaError, match="no video stream"):
        media.video_fps(write_cover_art(tmp_path / "song.mp4"))
