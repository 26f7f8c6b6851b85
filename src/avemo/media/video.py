"""Video frames, decoded with PyAV.

Two readers, one per use:

- segments of training clips as RGB uint8 ``(T, H, W, 3)``, every frame of the segment at the
  video's own rate (:func:`decode_segments` decodes a video once for many segments;
  :func:`read_rgb` one segment, or a still image as ``T = 1``);
- a span of a user file as grey uint8 ``(T, H, W)`` sampled at a target rate, with the target
  times ``(T,)`` float64 it shows (:func:`read_frames`; seeks once and never decodes past the
  span, so hours-long files are fine).

Frames are turned the way they are meant to be shown (:func:`upright`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avemo.media.container import container, frame_time, seek, stream_fps, video_stream
from avemo.media.files import MediaError, checked, is_audio_file, is_image
from avemo.media.image import read_image

EPS = 1e-6  # seconds: timestamps this close count as equal (float pts * time_base)


def _video_of(opened: Any, path: str | Path) -> Any:
    """The container's video stream (see :func:`video_stream`); none is a :class:`MediaError`."""
    stream = video_stream(opened)
    if stream is None:
        raise MediaError(f"{path}: the file has no video stream; pass a video file")
    return stream


def frame_span(start_s: float | None, end_s: float | None, fps: float) -> tuple[int, int | None]:
    """Frame indices ``[i, j)`` of a time segment: frames whose display interval is centred
    in ``[start_s, end_s)``, at least one frame. ``None`` is the clip's start / end."""
    i = 0 if start_s is None else max(0, round(start_s * fps))
    j = None if end_s is None else max(i + 1, round(end_s * fps))
    return i, j


def upright(img: np.ndarray, frame) -> np.ndarray:
    """A decoded frame turned the way it is meant to be shown. Phones store portrait video as
    landscape frames plus a display-matrix rotation; ``frame.rotation`` is that angle (degrees,
    counterclockwise), and the face detector only finds upright faces."""
    k = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(img, k)) if k else img


def video_fps(path: str | Path) -> float:
    """The frame rate of a video file's video stream, in frames per second."""
    with container(path) as opened:
        return stream_fps(_video_of(opened, path))


# --------------------------------------------------------------------------- RGB segments


def decode_segments(
    path: str | Path,
    segments: Sequence[tuple[float | None, float | None]],
    fn: Callable[[int, np.ndarray], np.ndarray] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode a video once for many time segments; yield ``(k, frames)`` for segment ``k`` as
    soon as its last frame is decoded (segments may overlap, in any order). ``frames`` stacks
    ``fn(k, rgb)`` per frame (default: the RGB frame ``(H, W, 3)`` itself), so a caller can keep
    only what it needs (e.g. one grey half) and memory stays bounded by the open segments. The
    decoder seeks to the earliest start and stops after the latest end. A segment past the end
    of the stream gets the last frame."""
    from av.video.reformatter import VideoReformatter

    reformatter = VideoReformatter()  # one shared converter: ~30x faster than frame.to_ndarray
    with container(path) as opened:
        stream = _video_of(opened, path)
        stream.thread_type = "AUTO"
        fps = stream_fps(stream)
        spans = [frame_span(s, e, fps) for s, e in segments]
        first = min((i for i, _ in spans), default=0)
        last = None if any(j is None for _, j in spans) else max(j for _, j in spans)
        buffers: dict[int, list[np.ndarray]] = {k: [] for k in range(len(spans))}
        tb = float(stream.time_base) if stream.time_base else 1.0 / fps
        if first > 0:
            opened.seek(int(max(0.0, (first - 1) / fps) / tb), stream=stream, backward=True)
        idx, last_rgb = -1, None
        for frame in opened.decode(stream):
            idx = round(frame.pts * tb * fps) if frame.pts is not None else idx + 1
            if idx < first:
                continue
            if last is not None and idx >= last:
                break
            last_rgb = upright(reformatter.reformat(frame, format="rgb24").to_ndarray(), frame)
            for k, (i, j) in enumerate(spans):
                if k not in buffers:
                    continue
                if i <= idx and (j is None or idx < j):
                    buffers[k].append(last_rgb if fn is None else fn(k, last_rgb))
                if j is not None and idx >= j - 1:  # complete (a dropped frame may skip j - 1)
                    frames = buffers.pop(k) or [last_rgb if fn is None else fn(k, last_rgb)]
                    yield k, np.stack(frames)
        for k in sorted(buffers):  # open-ended or past the end of the stream
            frames = buffers.pop(k)
            if not frames:
                if last_rgb is None:
                    raise ValueError(f"{path}: no video frames decoded for segment {segments[k]}")
                frames = [last_rgb if fn is None else fn(k, last_rgb)]
            yield k, np.stack(frames)


def read_rgb(
    path: str | Path, start_s: float | None = None, end_s: float | None = None
) -> tuple[np.ndarray, float]:
    """``(frames uint8 (T, H, W, 3) RGB, fps)`` of ``[start_s, end_s)`` of a video (seeks near
    the start, decodes to the end), or of a still image (T = 1, fps = 0.0)."""
    if is_image(path):
        return read_image(path)[None], 0.0
    fps = video_fps(path)
    [(_, frames)] = list(decode_segments(path, [(start_s, end_s)]))
    return frames, fps


# --------------------------------------------------------------------------- grey samples


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
        t = frame_time(frame, end)
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
    """``(frames, times)``: grey uint8 ``(T, H, W)`` of ``[start_s, end_s)`` of a user file,
    sampled at ``fps_out`` (the frame on display at each ``t_k = start_s + k / fps_out``), and
    those target times ``(T,)`` float64 in seconds (stopping at the end of the stream),
    downscaled to at most ``max_height`` rows. Seeks once, decodes forward, converts only the
    frames it keeps. Without a video stream: ``(0, 0, 0)`` frames and no times. Raises
    :class:`MediaError` for a file avemo cannot use."""
    if fps_out <= 0:
        raise ValueError(f"fps_out must be positive, got {fps_out}")
    if max_height is not None and max_height < 1:
        raise ValueError(f"max_height must be at least 1, got {max_height}")
    p = checked(path)
    start_s = max(0.0, start_s)
    times = _target_times(start_s, end_s, fps_out)
    if is_audio_file(p):
        return _no_frames()
    from av.video.reformatter import VideoReformatter

    with container(p) as opened:
        stream = video_stream(opened)
        if stream is None:
            return _no_frames()
        width, height = _out_size(stream.codec_context.width, stream.codec_context.height, max_height)
        if not len(times):
            return _no_frames(height, width)
        stream.thread_type = "AUTO"
        fps = stream_fps(stream)
        reformatter = VideoReformatter()  # one shared converter, as in decode_segments
        seek(opened, stream, start_s)
        grey: list[np.ndarray] = []
        last: tuple[Any, np.ndarray | None] = (None, None)
        for _, frame in _displayed(opened.decode(stream), times, fps):
            if frame is not last[0]:  # a frame shown at several targets is converted once
                img = reformatter.reformat(frame, format="gray", width=width, height=height,
                                           interpolation="AREA")
                last = (frame, upright(img.to_ndarray(), frame))  # rotation metadata applied
            grey.append(last[1])
    if not grey:
        return _no_frames(height, width)
    return np.stack(grey), times[: len(grey)]
