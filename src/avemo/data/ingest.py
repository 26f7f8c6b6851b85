"""The ingest stage: read the three corpora into manifests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avemo.config import IngestConfig
from avemo.data import facesynthetics, iemocap, manifest, tedlium
from avemo.data.errors import IngestError
from avemo.data.splits import check_speaker_disjoint

CORPORA = ("iemocap", "tedlium", "facesynthetics")
NO_LANDMARKS = "images_without_landmarks"  # key in the facesynthetics frame's attrs


def _root(cfg: IngestConfig, corpus: str) -> Path:
    root = Path(getattr(cfg, corpus))
    if not root.is_dir():
        raise IngestError(
            f"{root}: {corpus} corpus root not found; fix ingest.{corpus} in params.yaml "
            f"(the embedded corpora: synthesize.generate: [embedded], then `dvc repro`)"
        )
    return root


def run(cfg: IngestConfig) -> dict[str, pd.DataFrame]:
    """Read every corpus; one manifest per corpus, rows sorted by clip_id."""
    roots = {c: _root(cfg, c) for c in CORPORA}
    iemo = iemocap.read(roots["iemocap"], cfg.splits)
    overlap = check_speaker_disjoint(iemo)
    if overlap:
        raise IngestError(
            f"{roots['iemocap']}: speakers {overlap} are in more than one split; "
            f"put each session in a single ingest.splits list"
        )
    faces, missing = facesynthetics.read(roots["facesynthetics"])
    faces.attrs[NO_LANDMARKS] = missing
    return {"iemocap": iemo, "tedlium": tedlium.read(roots["tedlium"]), "facesynthetics": faces}


def write(manifests: dict[str, pd.DataFrame], out_dir: str | Path) -> dict[str, Path]:
    """Write ``<out_dir>/<corpus>.parquet`` for each manifest, atomically; return the paths."""
    paths = {name: Path(out_dir) / f"{name}.parquet" for name in manifests}
    for name, df in manifests.items():
        manifest.write(df, paths[name])
    return paths


def summarize(manifests: dict[str, pd.DataFrame]) -> dict:
    """Rows per corpus and split, and FaceSynthetics images without a landmark file."""
    out: dict = {}
    for name, df in manifests.items():
        counts = df["split"].value_counts().sort_index()
        out[name] = {"rows": len(df), "splits": {str(k): int(v) for k, v in counts.items()}}
    if "facesynthetics" in manifests:
        out[NO_LANDMARKS] = int(manifests["facesynthetics"].attrs.get(NO_LANDMARKS, 0))
    return out
