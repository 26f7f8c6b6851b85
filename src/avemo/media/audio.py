"""Audio as float32 mono ``(samples,)`` at a sample rate ``sr`` (16 kHz unless asked).

:func:`load_audio` reads corpus and user sound files (WAV, FLAC, NIST SPHERE ...) with
soundfile; :func:`read_audio` reads a span of any accepted user file, sound files through
:func:`load_audio` and the audio stream of video containers through PyAV. Neither reads more
of a file than its span.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from avemo.media.container import audio_stream, container, frame_time, seek
from avemo.media.files import MediaError, checked, is_audio_file

SAMPLE_RATE = 16000  # Hz: the rate of the audio front-end
# audio is decoded from this long before a span: after a seek, codecs with overlapping
# transforms (AAC, Opus, MP3) need a frame or two to reconstruct the signal
AUDIO_PREROLL_S = 0.1


def load_audio(
    path: str | Path, start_s: float | None = None, end_s: float | None = None, sr: int = SAMPLE_RATE
) -> np.ndarray:
    """Read ``[start_s, end_s)`` of an audio file (WAV, FLAC, NIST SPHERE ...) as float32 mono
    ``(samples,)`` at ``sr``. Only that segment is read; stereo is averaged; another rate is
    resampled. ``None`` means the file's start / end."""
    import soundfile as sf
    import torch
    import torchaudio

    with sf.SoundFile(str(path)) as f:
        rate, total = f.samplerate, f.frames
        i = 0 if start_s is None else min(max(0, round(start_s * rate)), total)
        j = total if end_s is None else min(max(i, round(end_s * rate)), total)
        f.seek(i)
        x = f.read(j - i, dtype="float32", always_2d=True)
    x = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
    if rate != sr and x.size:
        x = torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(x)), rate, sr).numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


@contextmanager
def soundfile_errors(p: Path) -> Iterator[None]:
    """libsndfile errors inside become a :class:`MediaError` naming ``p``."""
    import soundfile as sf

    try:
        yield
    except (sf.LibsndfileError, RuntimeError) as e:
        raise MediaError(f"{p}: not a readable {p.suffix} audio file ({e}); check the file or "
                         f"re-encode it, e.g. `ffmpeg -i INPUT -ar 16000 -ac 1 OUTPUT.wav`") from e


def _resampled(opened: Any, stream: Any, sr: int) -> Iterator[tuple[float, np.ndarray]]:
    """``(start time, float32 mono samples at sr)`` per resampled chunk, decoding forward from
    the current position; the resampler is flushed at the end of the stream."""
    import av

    # rematrix_maxval=1 normalises the downmix: stereo -> mono is (L + R) / 2 as in load_audio
    # (float output is otherwise left un-normalised, (L + R) / sqrt(2))
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sr, options={"rematrix_maxval": "1.0"})
    t = 0.0
    for frame in chain(opened.decode(stream), [None]):
        for out in resampler.resample(frame):
            t = frame_time(out, t)
            x = out.to_ndarray().reshape(-1)
            yield t, x
            t += x.size / sr


def _container_audio(p: Path, start_s: float, end_s: float, sr: int) -> np.ndarray:
    want = round((end_s - start_s) * sr)
    with container(p) as opened:
        stream = audio_stream(opened)
        if stream is None:
            return np.zeros(0, np.float32)
        seek(opened, stream, start_s - AUDIO_PREROLL_S)
        chunks: list[np.ndarray] = []
        have, skip = 0, None  # samples kept; samples still to drop before start_s
        for t, x in _resampled(opened, stream, sr):
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
    """``[start_s, end_s)`` of a user file's audio as float32 mono ``(samples,)`` at ``sr``: about
    ``(end_s - start_s) * sr`` samples, fewer past the end of the file, none without audio.
    Raises :class:`MediaError` for a file avemo cannot use."""
    p = checked(path)
    start_s = max(0.0, start_s)
    if end_s <= start_s:
        return np.zeros(0, np.float32)
    if is_audio_file(p):
        with soundfile_errors(p):
            return load_audio(p, start_s, end_s, sr=sr)
    return _container_audio(p, start_s, end_s, sr)
