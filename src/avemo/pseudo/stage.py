"""The ``pseudo_label`` stage: each stream's teacher predicts valence and arousal on its
unlabelled corpus with an MC-dropout uncertainty, and the confident, plane-balanced items are
selected. ``<pseudo.out_dir>/<stream>.parquet`` (a DVC artifact) holds every item: reference,
prediction, uncertainty, confidence (overall and per dimension), ``selected`` and the teacher's
version; the students read
it, and ``reports/pseudo.json`` scores it against the hidden truth (:mod:`avemo.pseudo.report`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from avemo.config import Params
from avemo.features import store
from avemo.io import atomic_path
from avemo.models import regressor
from avemo.pseudo import infer
from avemo.pseudo.select import confidence, select

DIMS = ("valence", "arousal")


def label(p: Params, stream: str, model_dir: str | Path, withheld: list[int] | None = None) -> pd.DataFrame:
    """Pseudo-label ``stream``'s unlabelled corpus with the model in ``model_dir``; with
    ``withheld`` (rows of the gold train split whose labels a label-efficiency run hides), those
    clips join the unlabelled pool."""
    sources = [(p.pseudo.corpora[stream], "unlabelled", None)]
    if withheld:
        sources.append(("iemocap", "train", list(withheld)))
    model, cfg = regressor.load(model_dir)
    k = [cfg["targets"].index(d) for d in DIMS]
    parts, means, stds = [], [], []
    for corpus, split, rows in sources:
        data = store.read(p.features.out_dir, corpus, split)
        rows = list(range(len(data))) if rows is None else rows
        mean, std = infer.mc_dropout(model, data, stream, p.features.out_dir, p.features.audio.normalise,
                                     p.train.video_frame_step, p.pseudo.passes, p.pseudo.seed, rows=rows)
        idx = data.index.iloc[rows]
        parts.append(pd.DataFrame({"clip_id": idx["clip_id"].astype(str).to_numpy(), "corpus": corpus,
                                   "split": split, "row": rows, "group": idx["speaker"].astype("string").to_numpy()}))
        means.append(mean[:, k])
        stds.append(std[:, k])
    mean, std = np.concatenate(means), np.concatenate(stds)
    trusted = transfers(mean, model_dir, p.pseudo.min_spread)
    out = pd.concat(parts, ignore_index=True)
    out["group"] = out["group"].astype("string")  # talk / speaker; missing for faces
    out["valence"], out["arousal"] = mean[:, 0], mean[:, 1]
    out["uncertainty"] = std[:, [j for j, ok in enumerate(trusted) if ok] or [0, 1]].mean(1)
    out["confidence"] = confidence(out["uncertainty"].to_numpy())
    reliability = [max(0.0, float(cfg["scores"]["val"][f"ccc_{d}"])) for d in DIMS]
    for d, ok, r in zip(DIMS, trusted, reliability, strict=True):
        out[f"confidence_{d}"] = out["confidence"] * r if ok else 0.0
    s = p.pseudo.select
    out["selected"] = select(out, s.fraction, s.bins, s.max_uncertainty, s.max_group_share, group="group")
    out["teacher"] = str(model_dir)
    out["teacher_version"] = infer.version(model_dir)
    return out


def transfers(pred: np.ndarray, model_dir: str | Path, min_spread: float) -> list[bool]:
    """Per dimension: does the model still tell items apart on the unlabelled corpus? A domain
    shift can pin a dimension (e.g. every face of another renderer read as highly aroused); a
    dimension whose prediction spread there is below ``min_spread`` x its spread on the gold
    validation split carries no information and is not pseudo-labelled (confidence 0)."""
    val = pd.read_parquet(Path(model_dir) / "predictions.parquet").query("split == 'val'")
    return [bool(pred[:, j].std() >= min_spread * val[f"pred_{d}"].std()) for j, d in enumerate(DIMS)]


def path(p: Params, stream: str) -> Path:
    return Path(p.pseudo.out_dir) / f"{stream}.parquet"


def write(df: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        df.to_parquet(tmp, index=False)


def run(p: Params) -> dict[str, pd.DataFrame]:
    """Label every student stream with its teacher (``teacher.out_dir/<stream>``); write the artifacts."""
    frames = {}
    for stream in p.student.streams:
        frames[stream] = label(p, stream, Path(p.teacher.out_dir) / stream)
        write(frames[stream], path(p, stream))
    return frames
