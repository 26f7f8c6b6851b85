"""``reports/pseudo.json``: how good the pseudo-labels are. Coverage and the selected labels'
distribution beside the gold one always; where the corpora carry a hidden truth (``_truth/``,
the embedded corpora only), selected and rejected pseudo-labels scored against it. This is the
one place that reads the unlabelled corpora's truth; without it those scores are null and the
``truth`` entry says why."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from avemo.config import Params
from avemo.data import tedlium
from avemo.data import truth as hidden
from avemo.evaluate import metrics
from avemo.io import write_json
from avemo.pseudo.select import va_bin

DIMS = ("valence", "arousal")
MIN_SCORED = 10  # fewer items than this get no CCC: on two or three points it is noise


def roots(p: Params, corpora) -> dict[str, str]:
    return {c: getattr(p.ingest, c) for c in corpora}


def truth(p: Params, corpus: str) -> pd.DataFrame:
    """The latent (valence, arousal) behind each unlabelled item, keyed by clip_id (the caller
    checks :func:`avemo.data.truth.status` first)."""
    if corpus == "tedlium":
        frames = [pd.read_csv(f) for f in sorted((Path(p.ingest.tedlium) / hidden.FOLDER).glob("*.csv"))]
        if not frames:
            raise ValueError(f"{p.ingest.tedlium}/{hidden.FOLDER}: no per-talk truth files")
        df = pd.concat(frames, ignore_index=True)
        df["clip_id"] = [tedlium.clip_id(t, s, e) for t, s, e in zip(df["talk"], df["start"], df["end"], strict=True)]
    elif corpus == "iemocap":  # gold clips a label-efficiency run withholds
        df = pd.read_csv(Path(p.ingest.iemocap) / hidden.FOLDER / "utterances.csv")
    elif corpus == "facesynthetics":
        df = pd.read_csv(Path(p.ingest.facesynthetics) / hidden.FOLDER / "faces.csv", dtype={"id": str})
        df["clip_id"] = df["id"]
    else:
        raise ValueError(f"no hidden truth known for corpus {corpus!r}")
    return df[["clip_id", *DIMS]]


def distribution(va: np.ndarray, bins: int) -> dict:
    """Mean, std and the share of items in each valence-arousal cell (row-major: valence, then arousal)."""
    cells = np.bincount(va_bin(va[:, 0], va[:, 1], bins), minlength=bins * bins) / max(len(va), 1)
    return {"n": len(va), "mean": dict(zip(DIMS, va.mean(0).round(4).tolist(), strict=True)),
            "std": dict(zip(DIMS, va.std(0).round(4).tolist(), strict=True)), "cells": cells.round(4).tolist()}


def quality(p: Params, pseudo: pd.DataFrame, gold: pd.DataFrame) -> dict:
    """One stream's figures: ``pseudo`` is a pseudo_label artifact, ``gold`` the gold train index.
    Without a hidden truth the scores against it are None and ``truth`` says why."""
    corpora = sorted(pseudo["corpus"].unique())
    bins = p.pseudo.select.bins
    sel_mask = pseudo["selected"].to_numpy(bool)
    out = {
        "corpus": "+".join(corpora), "teacher_version": str(pseudo["teacher_version"].iloc[0]),
        "items": len(pseudo), "selected": int(sel_mask.sum()), "coverage": round(float(sel_mask.mean()), 4),
        "distribution": {"selected": distribution(pseudo.loc[sel_mask, list(DIMS)].to_numpy(), bins),
                         "gold": distribution(gold[list(DIMS)].dropna().to_numpy(), bins)},
        "truth": hidden.status(roots(p, corpora)),
    }
    if not out["truth"]["available"]:
        return {**out, "labelled": None, "selected_vs_truth": None, "rejected_vs_truth": None,
                "all_vs_truth": None, "uncertainty_error_r": None}
    truths = pd.concat([truth(p, c) for c in corpora], ignore_index=True)
    df = pseudo.merge(truths, on="clip_id", suffixes=("", "_true"), validate="one_to_one")
    if len(df) != len(pseudo):
        raise ValueError(f"{'+'.join(corpora)}: {len(pseudo) - len(df)} pseudo-labelled items have no hidden truth")
    sel, rej = df[df["selected"]], df[~df["selected"]]

    def score(part: pd.DataFrame) -> dict | None:
        if len(part) < MIN_SCORED:
            return None
        return metrics.scores(part[list(DIMS)].to_numpy(), part[[f"{d}_true" for d in DIMS]].to_numpy(), dims=DIMS)

    return {
        **out, "labelled": labelled(df),
        "selected_vs_truth": score(sel), "rejected_vs_truth": score(rej), "all_vs_truth": score(df),
        "uncertainty_error_r": round(float(np.corrcoef(
            df["uncertainty"], np.abs(df[list(DIMS)].to_numpy() - df[[f"{d}_true" for d in DIMS]].to_numpy()).mean(1)
        )[0, 1]), 4),
    }


def labelled(df: pd.DataFrame) -> dict:
    """Selected vs rejected over what the students train on: each dimension scored on the items
    it is a label for (``labelled_<dim>``; a dimension the teacher cannot predict, or that
    does not transfer to the corpus, carries weight 0 and is no pseudo-label), the mean over
    the dimensions labelled anywhere. A set of fewer than ``MIN_SCORED`` items is not scored
    (None): e.g. the 2 of 259 withheld clips a 10 % run rejects."""
    mask = {d: df[f"labelled_{d}"].to_numpy(bool) if f"labelled_{d}" in df else np.ones(len(df), bool) for d in DIMS}
    dims = [d for d in DIMS if mask[d].any()]
    out: dict = {"dims": dims}
    for part, rows in (("selected", df["selected"].to_numpy(bool)), ("rejected", ~df["selected"].to_numpy(bool))):
        cccs = {}
        for d in dims:
            keep = rows & mask[d]
            cccs[d] = metrics.scores(df.loc[keep, d].to_numpy(), df.loc[keep, f"{d}_true"].to_numpy(),
                                     dims=(d,))[f"ccc_{d}"] if keep.sum() >= MIN_SCORED else None
        out[f"{part}_ccc"] = cccs
        vals = [v for v in cccs.values() if v is not None]
        out[f"{part}_ccc_mean"] = round(float(np.mean(vals)), 4) if vals else None
    return out


def run(p: Params, frames: dict[str, pd.DataFrame]) -> dict:
    """The quality figures of every stream's pseudo-labels."""
    from avemo.features import store

    gold = store.read(p.features.out_dir, "iemocap", "train").index
    return {stream: quality(p, df, gold) for stream, df in frames.items()}


def score_runs(p: Params, table: dict) -> dict:
    """The label-efficiency table with each row's pseudo-label artifacts (``pseudo_<stream>``:
    ``{"artifacts": [...]}``, one per seed) replaced by their mean selected / rejected CCC
    against the hidden truth: the experiment trains, this report alone reads the truth."""
    from avemo.features import store

    gold = store.read(p.features.out_dir, "iemocap", "train").index
    out = {}
    for f, row in table.items():
        out[f] = dict(row)
        for key, val in row.items():
            if key.startswith("pseudo_") and "artifacts" in val:
                qs = [quality(p, pd.read_parquet(a), gold) for a in val["artifacts"]]
                if not all(q["truth"]["available"] for q in qs):
                    out[f][key] = {"selected_ccc_mean": None, "rejected_ccc_mean": None, "seeds_scored": 0,
                                   "labelled": None, "truth": next(q["truth"] for q in qs if not q["truth"]["available"])}
                    continue
                out[f][key] = seed_mean([{k: (q[f"{k}_vs_truth"] or {}).get("ccc_mean") for k in ("selected", "rejected")}
                                         for q in qs])
                out[f][key]["labelled"] = seed_mean([{k: q["labelled"][f"{k}_ccc_mean"] for k in ("selected", "rejected")}
                                                     for q in qs])
                out[f][key]["labelled"]["dims"] = sorted({d for q in qs for d in q["labelled"]["dims"]})
    return out


def seed_mean(runs: list[dict]) -> dict:
    """Mean selected and rejected CCC over the seeds where both were scored (a seed whose
    rejected set was too small to score would otherwise pair one seed's selected labels with
    another's rejected ones), with how many seeds that is."""
    both = [r for r in runs if r["selected"] is not None and r["rejected"] is not None]
    out = {f"{k}_ccc_mean": round(float(np.mean([r[k] for r in both])), 4) if both else None
           for k in ("selected", "rejected")}
    return {**out, "seeds_scored": len(both)}


def read(p: Params) -> dict:
    path = Path(p.pseudo.report)
    return json.loads(path.read_text()) if path.is_file() else {}


def write(p: Params, update: dict) -> dict:
    """Merge ``update`` into ``reports/pseudo.json``: the stage's quality figures and the
    experiment's ``label_efficiency`` table live in one report, and neither erases the other."""
    report = {**read(p), **update}
    write_json(p.pseudo.report, report)
    return report
