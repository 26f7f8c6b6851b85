"""The ``teacher`` stage: the audio and the visual model trained on the gold train split,
each encoder starting from its self-supervised pretraining when its stream is listed in
``teacher.init_from_pretrained`` (the ``pretrain_<stream>`` stages' output)."""

from __future__ import annotations

from pathlib import Path

from avemo.config import Params
from avemo.train.fit import fit_stream


def init_encoder(p: Params, stream: str) -> Path | None:
    """The pretrained encoder ``stream`` starts from, or None (random initialisation)."""
    if stream not in p.teacher.init_from_pretrained:
        return None
    from avemo.ssl.pretrain import encoder_path

    return encoder_path(p, stream)


def run(p: Params, *, resume: bool = False, progress: bool = True) -> dict[str, dict]:
    """Train every stream in ``teacher.streams``; return {stream: {val: scores, test: scores}}."""
    return {
        stream: fit_stream(p, stream, Path(p.teacher.out_dir) / stream, f"teacher_{stream}",
                           resume=resume, progress=progress, init_encoder=init_encoder(p, stream))
        for stream in p.teacher.streams
    }
