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

from avemo import device
from avemo.config import Params
from avemo.features import store
from avemo.io import atomic_path
from avemo.models import regressor
from avemo.pseudo import infer
from avemo.pseudo.select import confidence, select
from avemo.train.data import loader_settings

DIMS = ("valence", "arousal")


def label(p: Params, stream: str, model_dir: str | Path, withheld: list[int] | None = None,
          partners: dict[str, str | Path] | None = None) -> pd.DataFrame:
    """Pseudo-label ``stream``'s unlabelled corpus with the model in ``model_dir``; with
    ``withheld`` (rows of the gold train split whose labels a label-efficiency run hides), those
    clips join the unlabelled pool. They are audio-visual, so with ``partners`` (other streams'
    teachers) and ``pseudo.cross_modal``, each of their dimensions is labelled by whichever
    teacher scores higher on it on the gold validation split (cross-modal distillation: the
    voice teaches the face arousal)."""
    sources = [(p.pseudo.corpora[stream], "unlabelled", None)]
    if withheld:
        sources.append(("iemocap", "train", list(withheld)))
    model, cfg = regressor.load(model_dir)
    k = [cfg["targets"].index(d) for d in DIMS]
    own = reliability(cfg)
    teachers = {stream: (model, k, own, infer.version(model_dir))}
    for other, d in (partners or {}).items() if p.pseudo.cross_modal else ():
        m, c = regressor.load(d)
        teachers[other] = (m, [c["targets"].index(x) for x in DIMS], reliability(c), infer.version(d))
    parts, means, stds, trust, rel, by = [], [], [], [], [], []
    for corpus, split, rows in sources:
        data = store.read(p.features.out_dir, corpus, split)
        rows = list(range(len(data))) if rows is None else rows
        paired = corpus == "iemocap"  # gold-domain clips: every stream has its input
        best = {j: max((t for t in teachers if paired or t == stream), key=lambda t: teachers[t][2][j])
                for j in range(len(DIMS))}
        preds = {}
        for t in set(best.values()):
            m, kk, _, _ = teachers[t]
            mean, std = infer.mc_dropout(m, data, t, p.features.out_dir, p.features.audio.normalise,
                                         p.train.video_frame_step, p.pseudo.passes, p.pseudo.seed, rows=rows,
                                         tta=p.augment if t in p.pseudo.tta else None,
                                         dev=device.resolve(p.train.accelerator), loader_kw=loader_settings(p.train))
            preds[t] = (mean[:, kk], std[:, kk])
        mean = np.stack([preds[best[j]][0][:, j] for j in range(len(DIMS))], 1)
        std = np.stack([preds[best[j]][1][:, j] for j in range(len(DIMS))], 1)
        # a dimension the teacher no longer tells apart on another corpus is not labelled there
        ok = [True] * len(DIMS) if paired else transfers(mean, model_dir, p.pseudo.min_spread)
        idx = data.index.iloc[rows]
        parts.append(pd.DataFrame({"clip_id": idx["clip_id"].astype(str).to_numpy(), "corpus": corpus,
                                   "split": split, "row": rows, "group": idx["speaker"].astype("string").to_numpy()}))
        means.append(mean)
        stds.append(std)
        trust.append(np.broadcast_to(np.array(ok), mean.shape))
        rel.append(np.broadcast_to(np.array([teachers[best[j]][2][j] for j in range(len(DIMS))]), mean.shape))
        by.append(np.broadcast_to(np.array([best[j] for j in range(len(DIMS))], dtype=object), mean.shape))
    mean, std, trusted = np.concatenate(means), np.concatenate(stds), np.concatenate(trust)
    rel, by = np.concatenate(rel), np.concatenate(by)
    out = pd.concat(parts, ignore_index=True)
    out["group"] = out["group"].astype("string")  # talk / speaker; missing for faces
    out["valence"], out["arousal"] = mean[:, 0], mean[:, 1]
    # an item's uncertainty: the MC-dropout spread over the dimensions labelled for it
    w = np.where(trusted.any(1, keepdims=True), trusted, True)
    out["uncertainty"] = (std * w).sum(1) / w.sum(1)
    out["confidence"] = confidence(out["uncertainty"].to_numpy())
    for j, d in enumerate(DIMS):  # a teacher that cannot predict a dimension on val does not label it
        out[f"labelled_{d}"] = trusted[:, j] & (rel[:, j] >= p.pseudo.min_reliability)
        out[f"confidence_{d}"] = np.where(out[f"labelled_{d}"], out["confidence"].to_numpy() * rel[:, j], 0.0)
        out[f"labeller_{d}"] = by[:, j].astype(str)
    s = p.pseudo.select
    out["selected"] = select(out, s.fraction, s.bins, s.max_uncertainty, s.max_group_share, group="group")
    out["teacher"] = str(model_dir)
    out["teacher_version"] = teachers[stream][3]
    for t, (_, _, _, v) in teachers.items():
        if t != stream:
            out[f"teacher_version_{t}"] = v
    return out


def reliability(cfg: dict) -> list[float]:
    """A teacher's trust per dimension: its validation CCC (clipped at 0), from its config."""
    return [max(0.0, float(cfg["scores"]["val"][f"ccc_{d}"])) for d in DIMS]


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
