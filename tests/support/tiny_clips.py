"""Tiny clips for the media readers' tests: 3 s, 8 fps, 64x48, frame ``i`` has grey level
``10 * i``; the audio is a 0.5-amplitude tone, 440 Hz then 880 Hz from 1.5 s, the same on every
channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

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


def write(path: Path, fmt: str, video: str | None, audio: str | None = None, sr: int = 44100,
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


def clips(d: Path) -> dict[str, Path]:
    """Every kind of clip the readers take, written into folder ``d``."""
    import av

    h264 = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    t44, t16 = np.arange(round(DUR * 44100)) / 44100, np.arange(round(DUR * 16000)) / 16000
    sf.write(d / "tone.wav", np.stack([tone(t44)] * 2, 1), 44100, subtype="FLOAT")
    sf.write(d / "tone.flac", tone(t16), 16000)
    return {
        "mp4": write(d / "clip.mp4", "mp4", h264, "aac"),  # 44.1 kHz stereo
        "mkv": write(d / "clip.mkv", "matroska", "mpeg4", "flac", sr=16000, channels=1),
        "avi": write(d / "clip.avi", "avi", "mjpeg", "pcm_s16le"),  # 44.1 kHz stereo, as IEMOCAP
        "video_only": write(d / "silent.mp4", "mp4", h264),
        "audio_mkv": write(d / "sound.mkv", "matroska", None, "flac"),
        "wav": d / "tone.wav",
        "flac": d / "tone.flac",
    }


def write_cover_art(path: Path) -> Path:
    """An mp4 of the tone (AAC, 16 kHz mono) whose only video stream is an attached picture
    (cover art), as music files carry."""
    import av

    x = tone(np.arange(round(DUR * SR)) / SR).astype(np.float32)
    with av.open(str(path), "w") as out:
        aus = out.add_stream("aac", rate=SR, layout="mono")
        cover = out.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = W, H, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(np.full((H, W, 3), 200, np.uint8), format="rgb24")
        for packet in [*cover.encode(picture), *cover.encode()]:
            out.mux(packet)
        step = 1024
        for i in range(0, x.size, step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[None, i : i + step]), format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts = SR, i
            for packet in aus.encode(frame):
                out.mux(packet)
        for packet in aus.encode():
            out.mux(packet)
    return path
