"""What a media file holds, from its metadata: streams, duration, frame rate, size, sample rate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avemo.media.audio import soundfile_errors
from avemo.media.container import audio_stream, container, video_stream
from avemo.media.files import MediaError, checked, is_audio_file


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


def stream_duration(stream: Any) -> float | None:
    """A stream's duration in seconds from its header, None when it declares none."""
    if stream is None or not stream.duration or not stream.time_base:
        return None
    return float(stream.duration * stream.time_base)


def container_duration(opened: Any) -> float | None:
    """The container's own duration in seconds (Matroska keeps only this one), None if unset."""
    import av

    return opened.duration / av.time_base if opened.duration else None


def declared_duration(opened: Any, stream: Any) -> float | None:
    """Seconds a video stream's headers promise: frame count / rate, else the stream's or the
    container's duration (None when none is declared)."""
    if stream.frames and stream.average_rate:
        return float(stream.frames / stream.average_rate)
    duration = stream_duration(stream)
    return duration if duration is not None else container_duration(opened)


def _demuxed_duration(opened: Any, streams: list[Any]) -> float:
    """End of the last packet of ``streams`` in seconds. Reads the whole file (demuxing, no
    decoding): a fallback for files whose metadata lacks durations, fine for short files only."""
    end = 0.0
    for packet in opened.demux(streams):
        if packet.pts is not None and packet.time_base:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def _probe_audio_file(p: Path) -> MediaInfo:
    import soundfile as sf

    with soundfile_errors(p):
        info = sf.info(str(p))
    duration = info.frames / info.samplerate if info.samplerate else 0.0
    return MediaInfo(str(p), duration, True, False, None, None, None, int(info.samplerate))


def _probe_container(p: Path) -> MediaInfo:
    with container(p) as opened:
        video, audio = video_stream(opened), audio_stream(opened)
        streams = [s for s in (video, audio) if s is not None]
        if not streams:
            raise MediaError(f"{p}: the file has neither an audio nor a video stream; "
                             f"pass a recording with sound and/or picture")
        durations = [d for d in map(stream_duration, streams) if d is not None]
        duration = max(durations) if durations else container_duration(opened)
        if duration is None:
            duration = _demuxed_duration(opened, streams)
        rate = (video.average_rate or video.guessed_rate) if video else None
        return MediaInfo(
            str(p), duration, audio is not None, video is not None, float(rate) if rate else None,
            video.codec_context.width if video else None, video.codec_context.height if video else None,
            audio.codec_context.sample_rate if audio else None)


def probe(path: str | Path) -> MediaInfo:
    """What is in a user file (streams, duration, frame rate, size, sample rate), from its
    metadata. Raises :class:`MediaError` for a file avemo cannot use."""
    p = checked(path)
    info = _probe_audio_file(p) if is_audio_file(p) else _probe_container(p)
    if info.duration_s <= 0:
        raise MediaError(f"{p}: the recording has zero duration; pass a file with actual content")
    return info
