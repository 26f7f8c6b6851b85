"""User media for inference: probe a file, then read time spans of its audio and video.

Files may be hours long, so nothing here reads a whole file: each reader seeks to its span
and decodes forward only until the span's end.

Shapes: :func:`read_audio` returns float32 mono ``(samples,)`` at ``sr`` with about
``(end_s - start_s) * sr`` samples (fewer when the span passes the end of the file, empty
without an audio stream). :func:`read_frames` returns ``(frames, times)``: grey uint8
``(T, H, W)`` sampled at ``fps_out`` and float64 ``(T,)`` the target times they show,
``t_k = start_s + k / fps_out`` (``(0, 0, 0)`` and ``(0,)`` without a video stream).

Times are stream timestamps in seconds (``pts * time_base``), the timeline a player shows.
``.wav`` / ``.flac`` go through soundfile (:func:`avemo.features.audio.load_audio`); video
containers through PyAV. Every unusable file raises :class:`MediaError`, whose message names
the file and says what to do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from avemo.features.audio import SAMPLE_RATE, load_audio
from avemo.features.video import upright

AUDIO_SUFFIXES = (".wav", ".flac")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv")
EPS = 1e-6  # seconds: timestamps this close count as equal (float pts * time_base)
# audio is decoded from this long before a span: after a seek, codecs with overlapping
# transforms (AAC, Opus, MP3) need a frame or two to reconstruct the signal
AUDIO_PREROLL_S = 0.1
REENCODE = "re-encode it, e.g. `ffmpeg -i INPUT -c:v libx264 -c:a aac OUTPUT.mp4`"


class MediaError(ValueError):
    """A file avemo cannot use; the message names the file and says what to do."""


@dataclass(frozen=True)
class MediaInfo:
    path: str
    duration_s: float  # of the longest usable stream
    has_audio: bool
    has_video: bool
    fps: float | None  # video only
    width: int | None
    height: int | None
    sample_rate: int | None  # audio only


# --------------------------------------------------------------------------- checks


def _checked(path: str | Path) -> Path:
    """``path`` as a Path after the cheap checks (exists, a file, accepted suffix, not empty)."""
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{path}: no such file; check the path")
    if not p.is_file():
        raise MediaError(f"{path}: not a file; pass an audio or video file")
    if p.suffix.lower() not in AUDIO_SUFFIXES + VIDEO_SUFFIXES:
        raise MediaError(
            f"{path}: unsupported file type {p.suffix or '(none)'!r}; avemo reads audio "
            f"({', '.join(AUDIO_SUFFIXES)}) and video ({', '.join(VIDEO_SUFFIXES)}); convert a "
            f"recording in another format, e.g. `ffmpeg -i {p.name} {p.stem}.mp4`")
    if p.stat().st_size == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes); copy or upload it again")
    return p


def _is_audio_file(p: Path) -> bool:
    return p.suffix.lower() in AUDIO_SUFFIXES


@contextmanager
def _soundfile_errors(p: Path) -> Iterator[None]:
    import soundfile as sf

    try:
        yield
    except (sf.LibsndfileError, RuntimeError) as e:
        raise MediaError(f"{p}: not a readable {p.suffix} audio file ({e}); check the file or "
                         f"re-encode it, e.g. `ffmpeg -i INPUT -ar 16000 -ac 1 OUTPUT.wav`") from e


@contextmanager
def _container(p: Path) -> Iterator[Any]:
    """An open PyAV container; FFmpeg errors while it is open (opening, demuxing, decoding)
    become a :class:`MediaError`."""
    import av

    try:
        with av.open(str(p)) as container:
            yield container
    except av.FFmpegError as e:
        raise MediaError(f"{p}: not a readable {p.suffix} media file ({e}); check that the file "
                         f"is complete, or {REENCODE}") from e


def _video_stream(container: Any) -> Any | None:
    """The first real video stream (cover art / attached pictures do not count)."""
    import av

    attached = av.stream.Disposition.attached_pic
    return next((s for s in container.streams.video if not s.disposition & attached), None)


def _audio_stream(container: Any) -> Any | None:
    return container.streams.audio[0] if container.streams.audio else None


# --------------------------------------------------------------------------- probe


def _stream_duration(stream: Any) -> float | None:
    if stream is None or not stream.duration or not stream.time_base:
        return None
    return float(stream.duration * stream.time_base)


def _demuxed_duration(container: Any, streams: list[Any]) -> float:
    """End of the last packet of ``streams`` in seconds. Reads the whole file (demuxing, no
    decoding): a fallback for files whose metadata lacks durations, fine for short files only."""
    end = 0.0
    for packet in container.demux(streams):
        if packet.pts is not None and packet.time_base:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def _probe_audio_file(p: Path) -> MediaInfo:
    import soundfile as sf

    with _soundfile_errors(p):
        info = sf.info(str(p))
    duration = info.frames / info.samplerate if info.samplerate else 0.0
    return MediaInfo(str(p), duration, True, False, None, None, None, int(info.samplerate))


def _probe_container(p: Path) -> MediaInfo:
    import av

    with _container(p) as container:
        video, audio = _video_stream(container), _audio_stream(container)
        streams = [s for s in (video, audio) if s is not None]
        if not streams:
            raise MediaError(f"{p}: the file has neither an audio nor a video stream; "
                             f"pass a recording with sound and/or picture")
        durations = [d for d in map(_stream_duration, streams) if d is not None]
        if durations:
            duration = max(durations)
        elif container.duration:  # Matroska keeps only the container's duration
            duration = container.duration / av.time_base
        else:
            duration = _demuxed_duration(container, streams)
        rate = (video.average_rate or video.guessed_rate) if video else None
        return MediaInfo(
            str(p), duration, audio is not None, video is not None, float(rate) if rate else None,
            video.codec_context.width if video else None, video.codec_context.height if video else None,
            audio.codec_context.sample_rate if audio else None)


def probe(path: str | Path) -> MediaInfo:
    """What is in a media file (streams, duration, frame rate, size, sample rate), from its
    metadata. Raises :class:`MediaError` for a file avemo cannot use."""
    p = _checked(path)
    info = _probe_audio_file(p) if _is_audio_file(p) else _probe_container(p)
    if info.duration_s <= 0:
        raise MediaError(f"{p}: the recording has zero duration; pass a file with actual content")
    return info


# --------------------------------------------------------------------------- audio


def _frame_time(frame: Any, fallback: float) -> float:
    return float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else fallback


def _seek(container: Any, stream: Any, t: float) -> None:
    """Seek backward to the keyframe at or before ``t`` seconds (nothing to do at the start)."""
    if t > 0 and stream.time_base:
        container.seek(int(t / stream.time_base), stream=stream, backward=True)


def _resampled(container: Any, stream: Any, sr: int) -> Iterator[tuple[float, np.ndarray]]:
    """``(start time, float32 mono samples at sr)`` per resampled chunk, decoding forward from
    the current position; the resampler is flushed at the end of the stream."""
    import av

    # rematrix_maxval=1 normalises the downmix: stereo -> mono is (L + R) / 2 as in load_audio
    # (float output is otherwise left un-normalised, (L + R) / sqrt(2))
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sr, options={"rematrix_maxval": "1.0"})
    t = 0.0
    for frame in chain(container.decode(stream), [None]):
        for out in resampler.resample(frame):
            t = _frame_time(out, t)
            x = out.to_ndarray().reshape(-1)
            yield t, x
            t += x.size / sr


def _container_audio(p: Path, start_s: float, end_s: float, sr: int) -> np.ndarray:
    want = round((end_s - start_s) * sr)
    with _container(p) as container:
        stream = _audio_stream(container)
        if stream is None:
            return np.zeros(0, np.float32)
        _seek(container, stream, start_s - AUDIO_PREROLL_S)
        chunks: list[np.ndarray] = []
        have, skip = 0, None  # samples kept; samples still to drop before start_s
        for t, x in _resampled(container, stream, sr):
            if skip is None:  # the first chunk: drop what precedes start_s, or pad up to it
                skip = round((start_s - t) * sr)
                if skip < 0:  # the stream starts after start_s: silence keeps the timing
                    chunks.append(np.zeros(min(-skip, want), np.float32))
                    have = chunks[-1].size
                skip = max(0, skip)
            drop = min(skip, x.size)
            skip -= drop
            chunks.append(x[drop:])
            have += x.size - drop
            if have >= want:
                break
    out = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return np.ascontiguousarray(out[:want], dtype=np.float32)


def read_audio(path: str | Path, start_s: float, end_s: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """``[start_s, end_s)`` of a file's audio as float32 mono ``(samples,)`` at ``sr``: about
    ``(end_s - start_s) * sr`` samples, fewer past the end of the file, none without audio."""
    p = _checked(path)
    start_s = max(0.0, start_s)
    if end_s <= start_s:
        return np.zeros(0, np.float32)
    if _is_audio_file(p):
        with _soundfile_errors(p):
            return load_audio(p, start_s, end_s, sr=sr)
    return _container_audio(p, start_s, end_s, sr)


# --------------------------------------------------------------------------- video


def _target_times(start_s: float, end_s: float, fps_out: float) -> np.ndarray:
    """``t_k = start_s + k / fps_out`` for every ``t_k`` in ``[start_s, end_s)``."""
    n = max(0, math.ceil((end_s - start_s) * fps_out - EPS))
    return start_s + np.arange(n, dtype=np.float64) / fps_out


def _out_size(width: int, height: int, max_height: int | None) -> tuple[int, int]:
    """``(width, height)`` of the returned frames: downscaled to ``max_height`` keeping the
    aspect ratio (even width), never upscaled."""
    if max_height is None or height <= max_height:
        return width, height
    return max(2, 2 * round(width * max_height / height / 2)), max_height


def _displayed(frames: Iterable[Any], times: np.ndarray, fps: float) -> Iterator[tuple[int, Any]]:
    """``(k, frame)`` for each target ``times[k]``: the frame on display then, i.e. the latest
    one at or before it (the first frame for targets that precede every frame). Stops pulling
    ``frames`` at the first frame past the last target; at the end of the stream, targets
    after the last frame's display interval get nothing."""
    k, prev, end = 0, None, 0.0
    for frame in frames:
        t = _frame_time(frame, end)
        while k < len(times) and times[k] < t - EPS:
            yield k, frame if prev is None else prev
            k += 1
        if k == len(times):
            return
        dur = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else 1.0 / fps
        prev, end = frame, t + dur
    while prev is not None and k < len(times) and times[k] < end - EPS:
        yield k, prev
        k += 1


def _no_frames(height: int = 0, width: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, height, width), np.uint8), np.zeros(0, np.float64)


def read_frames(
    path: str | Path, start_s: float, end_s: float, fps_out: float, max_height: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, times)``: grey uint8 ``(T, H, W)`` of ``[start_s, end_s)`` sampled at
    ``fps_out`` and the target times ``(T,)`` they show (stopping at the end of the stream),
    downscaled to at most ``max_height`` rows. Seeks once, decodes forward, converts only the
    frames it keeps. Without a video stream: ``(0, 0, 0)`` frames and no times."""
    if fps_out <= 0:
        raise ValueError(f"fps_out must be positive, got {fps_out}")
    if max_height is not None and max_height < 1:
        raise ValueError(f"max_height must be at least 1, got {max_height}")
    p = _checked(path)
    start_s = max(0.0, start_s)
    times = _target_times(start_s, end_s, fps_out)
    if _is_audio_file(p):
        return _no_frames()
    from av.video.reformatter import VideoReformatter

    with _container(p) as container:
        stream = _video_stream(container)
        if stream is None:
            return _no_frames()
        width, height = _out_size(stream.codec_context.width, stream.codec_context.height, max_height)
        if not len(times):
            return _no_frames(height, width)
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        reformatter = VideoReformatter()  # one shared converter, as in avemo.features.video
        _seek(container, stream, start_s)
        grey: list[np.ndarray] = []
        last: tuple[Any, np.ndarray | None] = (None, None)
        for _, frame in _displayed(container.decode(stream), times, fps):
            if frame is not last[0]:  # a frame shown at several targets is converted once
                img = reformatter.reformat(frame, format="gray", width=width, height=height,
                                           interpolation="AREA")
                last = (frame, upright(img.to_ndarray(), frame))  # rotation metadata applied
            grey.append(last[1])
    if not grey:
        return _no_frames(height, width)
    return np.stack(grey), times[: len(grey)]
