"""Writing the generated media in the real corpora's containers."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf


def write_wav(path: Path, x: np.ndarray, sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(x, -1, 1), sample_rate, subtype="PCM_16")


def write_sphere(path: Path, x: np.ndarray, sample_rate: int) -> None:
    """NIST SPHERE, 16-bit PCM, as TED-LIUM ships it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(x, -1, 1), sample_rate, format="NIST", subtype="PCM_16")


def write_avi(path: Path, frames: Iterable[np.ndarray], fps: int, audio: np.ndarray, sample_rate: int) -> None:
    """Motion-JPEG video + PCM audio in an AVI, like IEMOCAP's DivX dialog videos."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="avi") as out:
        vs = None
        for frame in frames:
            if vs is None:
                vs = out.add_stream("mjpeg", rate=fps)
                vs.width, vs.height = frame.shape[1], frame.shape[0]
                vs.pix_fmt = "yuvj420p"
                astream = out.add_stream("pcm_s16le", rate=sample_rate, layout="mono")
            for packet in vs.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        if vs is None:
            raise ValueError(f"{path}: no frames to write")
        for packet in vs.encode():
            out.mux(packet)
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        chunk = 4096
        for i in range(0, pcm.size, chunk):
            af = av.AudioFrame.from_ndarray(pcm[None, i : i + chunk], format="s16", layout="mono")
            af.sample_rate = sample_rate
            for packet in astream.encode(af):
                out.mux(packet)
        for packet in astream.encode():
            out.mux(packet)
