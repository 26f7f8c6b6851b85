"""The manifest: one parquet table per corpus, one row per clip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avemo.io import atomic_path

# column -> pandas dtype. Paths are relative to the corpus root; labels are in [-1, 1].
SCHEMA: dict[str, str] = {
    "clip_id": "string",
    "corpus": "string",
    "speaker": "string",
    "session": "string",
    "split": "string",
    "audio_path": "string",
    "video_path": "string",
    "start_s": "float64",
    "end_s": "float64",
    "duration_s": "float64",
    "sample_rate": "Int64",
    "valence": "float64",
    "arousal": "float64",
    "dominance": "float64",
    "label_source": "string",
    "label_weight": "float64",
    "category": "string",
}
COLUMNS = list(SCHEMA)
SPLITS = ("train", "val", "test", "unlabelled")
LABEL_SOURCES = ("gold", "pseudo", "none")
LABELS = ("valence", "arousal", "dominance")


# The label fields of a row of an unlabelled corpus (TED-LIUM, FaceSynthetics).
UNLABELLED = {
    "valence": float("nan"), "arousal": float("nan"), "dominance": float("nan"),
    "label_source": "none", "label_weight": 0.0, "category": None,
}


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Build a manifest frame with exactly the schema's columns, in order, with its dtypes."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype(SCHEMA)


def write(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def read(path: str | Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def iemocap_to_unit(x: float) -> float:
    """IEMOCAP's 1-5 rating scale to [-1, 1]."""
    return (x - 3.0) / 2.0
