"""The ``student`` stage: each stream trained on its gold labels plus the selected
pseudo-labels of its unlabelled corpus, weighted by ``student.pseudo_weight`` x confidence.
With ``student.rounds`` > 1 (noisy student), each round's student labels the unlabelled corpus
again for the next; the last round is the stage's model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avemo.config import Params
from avemo.pseudo import stage as pseudo_stage
from avemo.train.fit import fit_stream
from avemo.train.teacher import init_encoder


def train(p: Params, stream: str, pseudo: pd.DataFrame, teacher_dir: Path, out_dir: Path, run_name: str, *,
          train_fraction: float = 1.0, progress: bool = True) -> dict:
    """Rounds of students for one stream, starting from ``pseudo`` (the teacher's labels).
    The last round's model is
    in ``out_dir``, earlier rounds beside it in ``<out_dir>_round<k>``. Returns the last round's scores, with ``rounds`` listing all."""
    out_dir = Path(out_dir)
    history, prev = [], Path(teacher_dir)
    for k in range(1, p.student.rounds + 1):
        run_dir = out_dir if k == p.student.rounds else out_dir.with_name(f"{out_dir.name}_round{k}")
        init = dict(init_model=prev) if p.student.init == "teacher" else dict(init_encoder=init_encoder(p, stream))
        scores = fit_stream(p, stream, run_dir, f"{run_name}_r{k}" if p.student.rounds > 1 else run_name,
                            progress=progress, train_fraction=train_fraction, pseudo=pseudo,
                            pseudo_weight=p.student.pseudo_weight, lr_mult=p.student.lr_mult, **init)
        history.append({"round": k, "teacher_version": str(pseudo["teacher_version"].iloc[0]),
                        "pseudo_items": int(pseudo["selected"].sum()), **{s: v for s, v in scores.items()}})
        if k < p.student.rounds:
            pseudo = pseudo_stage.label(p, stream, run_dir)
            pseudo_stage.write(pseudo, run_dir / "pseudo.parquet")
            prev = run_dir
    return {**scores, "rounds": history}


def run(p: Params, *, progress: bool = True) -> dict[str, dict]:
    """Train every stream in ``student.streams`` from the pseudo_label artifacts."""
    out = {}
    for stream in p.student.streams:
        src = pseudo_stage.path(p, stream)
        if not src.is_file():
            raise FileNotFoundError(f"{src}: no pseudo-labels; run `avemo pseudo-label` first")
        out[stream] = train(p, stream, pd.read_parquet(src), Path(p.teacher.out_dir) / stream,
                            Path(p.student.out_dir) / stream, f"student_{stream}", progress=progress)
    return out
