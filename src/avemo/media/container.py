"""PyAV containers: opening, stream choice, frame rate, timestamps and seeking.

Times are stream timestamps in seconds (``pts * time_base``), the timeline a player shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from avemo.media.files import MediaError

REENCODE = "re-encode it, e.g. `ffmpeg -i INPUT -c:v libx264 -c:a aac OUTPUT.mp4`"
DEFAULT_FPS = 25.0  # frames per second assumed when a stream declares no rate


@contextmanager
def container(path: str | Path) -> Iterator[Any]:
    """An open PyAV container; FFmpeg errors while it is open (opening, demuxing, decoding)
    become a :class:`MediaError` whose ``__cause__`` is FFmpeg's error."""
    import av

    p = Path(path)
    try:
        with av.open(str(p)) as opened:
            yield opened
    except av.FFmpegError as e:
        raise MediaError(f"{p}: not a readable {p.suffix} media file ({e}); check that the file "
                         f"is complete, or {REENCODE}") from e


def video_stream(container: Any) -> Any | None:
    """The first real video stream (cover art / attached pictures do not count)."""
    import av

    attached = av.stream.Disposition.attached_pic
    return next((s for s in container.streams.video if not s.disposition & attached), None)


def audio_stream(container: Any) -> Any | None:
    return container.streams.audio[0] if container.streams.audio else None


def stream_fps(stream: Any) -> float:
    """A video stream's frame rate in frames per second: average, else guessed, else 25."""
    return float(stream.average_rate or stream.guessed_rate or DEFAULT_FPS)


def frame_time(frame: Any, fallback: float) -> float:
    """A decoded frame's timestamp in seconds (``fallback`` when it has none)."""
    return float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else fallback


def seek(container: Any, stream: Any, t: float) -> None:
    """Seek backward to the keyframe at or before ``t`` seconds (nothing to do at the start)."""
    if t > 0 and stream.time_base:
        container.seek(int(t / stream.time_base), stream=stream, backward=True)
