"""Speaker-independent splits: a whole session goes to one split."""

from __future__ import annotations

import pandas as pd

from avemo.config import Splits
from avemo.data.errors import IngestError

LABELLED = ("train", "val", "test")


def assign_split(session: str, splits: Splits) -> str:
    """The split ("train", "val" or "test") that lists ``session``."""
    for name in LABELLED:
        if session in getattr(splits, name):
            return name
    raise IngestError(
        f"session {session!r} is in none of ingest.splits.train/val/test "
        f"(train={splits.train}, val={splits.val}, test={splits.test}); "
        f"add it to one of them in params.yaml"
    )


def check_speaker_disjoint(df: pd.DataFrame) -> list[str]:
    """Speakers that appear in more than one of train/val/test, sorted."""
    labelled = df[df["split"].isin(LABELLED) & df["speaker"].notna()]
    n_splits = labelled.groupby("speaker")["split"].nunique()
    return sorted(str(s) for s in n_splits[n_splits > 1].index)
