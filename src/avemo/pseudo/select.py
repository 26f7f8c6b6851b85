"""Which pseudo-labels to keep: confident ones, balanced over the valence-arousal plane,
with a cap per group (talk or identity) so that no single source dominates."""

from __future__ import annotations

import numpy as np
import pandas as pd


def va_bin(valence: np.ndarray, arousal: np.ndarray, bins: int) -> np.ndarray:
    """The cell of a ``bins`` x ``bins`` grid over [-1, 1]^2 each point falls in."""
    def cell(x: np.ndarray) -> np.ndarray:
        return np.clip(((np.asarray(x) + 1) / 2 * bins).astype(int), 0, bins - 1)
    return cell(valence) * bins + cell(arousal)


def select(df: pd.DataFrame, fraction: float, bins: int, max_uncertainty: float | None = None,
           max_group_share: float | None = None, group: str = "speaker") -> np.ndarray:
    """Boolean mask over ``df`` (columns valence, arousal, uncertainty[, group]).

    Candidates are the items under ``max_uncertainty`` (all if None). Up to ``fraction`` of all
    items are kept: the valence-arousal cells take turns, each giving its most confident
    remaining candidate, so sparse regions of the plane are not crowded out by the mode; a
    group (``group`` column, e.g. a talk) never gets more than ``max_group_share`` of them."""
    n = len(df)
    quota = round(fraction * n)
    max_per_group = None if max_group_share is None else max(1, int(np.ceil(max_group_share * quota)))
    u = df["uncertainty"].to_numpy(float)
    ok = np.ones(n, bool) if max_uncertainty is None else u <= max_uncertainty
    cells = va_bin(df["valence"].to_numpy(), df["arousal"].to_numpy(), bins)
    groups = df[group].astype("string").fillna("").to_numpy() if group in df else np.full(n, "")
    queues = {c: [i for i in np.argsort(u, kind="stable") if ok[i] and cells[i] == c] for c in np.unique(cells[ok])}
    per_group: dict[str, int] = {}
    keep = np.zeros(n, bool)
    taken = 0
    while taken < quota and any(queues.values()):
        for c in sorted(queues):
            q = queues[c]
            while q:  # the cell's most confident candidate whose group still has room
                i = q.pop(0)
                g = groups[i]
                if max_per_group is None or g == "" or per_group.get(g, 0) < max_per_group:
                    keep[i], taken = True, taken + 1
                    per_group[g] = per_group.get(g, 0) + 1
                    break
            if taken >= quota:
                break
    return keep


def confidence(uncertainty: np.ndarray) -> np.ndarray:
    """Confidence in [0, 1]: 1 for the most certain item, falling linearly to 0 at the least."""
    u = np.asarray(uncertainty, float)
    lo, hi = u.min(), u.max()
    return np.ones_like(u) if hi <= lo else 1 - (u - lo) / (hi - lo)
