"""The ``teacher`` stage: the audio and the visual model trained on the gold train split."""

from __future__ import annotations

from pathlib import Path

from avemo.config import Params
from avemo.train.fit import fit_stream


def run(p: Params, *, resume: bool = False, progress: bool = True) -> dict[str, dict]:
    """Train every stream in ``teacher.streams``; return {stream: {val: scores, test: scores}}."""
    return {
        stream: fit_stream(p, stream, Path(p.teacher.out_dir) / stream, f"teacher_{stream}",
                           resume=resume, progress=progress)
        for stream in p.teacher.streams
    }
