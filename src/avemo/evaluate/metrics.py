"""Scores of valence/arousal(/dominance) predictions: CCC, PCC and RMSE per dimension.

Computed with torchmetrics (``concordance_corrcoef``, ``pearson_corrcoef``, ``mean_squared_error``)
in float64 and rounded to 4 decimals. Key names: ``ccc_valence``,
``ccc_arousal``, ``ccc_mean`` (the mean over valence and arousal only, also when dominance is
scored), and likewise ``pcc_*`` and ``rmse_*``; dominance adds ``*_dominance`` keys.

Conventions:

- torchmetrics' CCC uses sample (n-1) moments:
  ``2 s_xy / (s_x^2 + s_y^2 + (m_x - m_y)^2)``. Lin's original (population moments, as in the
  training loss) differs only in the mean-gap term, by a relative ``O(1/n)``;
  ``avemo.train.losses.ccc`` computes either (``ddof=1`` matches :func:`scores`).
- Rows whose *truth* is NaN are dropped, per dimension (a clip without a dominance label still
  counts for valence and arousal). A NaN *prediction* for a labelled row is an error.
- A constant prediction (or constant truth) has no correlation: CCC and PCC are 0.0 instead of
  NaN. The one exception is an exact match (prediction identical to truth), which scores 1.0.
- A dimension with fewer than 2 labelled rows scores None (JSON null) on every key, and a mean
  with a None member is None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

DIMS = ("valence", "arousal")
MEAN_OVER = ("valence", "arousal")
DECIMALS = 4
_EPS = 1e-12


def _matrix(x: Any, dims: Sequence[str], what: str) -> np.ndarray:
    """(n, len(dims)) float64 array from a DataFrame (columns by name) or an array."""
    if isinstance(x, pd.DataFrame):
        missing = [d for d in dims if d not in x.columns]
        if missing:
            raise ValueError(f"{what}: missing column(s) {missing}; has {list(x.columns)}")
        return x[list(dims)].to_numpy(dtype=np.float64)
    if isinstance(x, pd.Series):
        x = x.to_numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1 and len(dims) == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != len(dims):
        raise ValueError(f"{what}: expected shape (n, {len(dims)}) for dims {tuple(dims)}, got {arr.shape}")
    return arr


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), DECIMALS)


def _one(p: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """(ccc, pcc, rmse) of two 1-D float64 arrays without NaN, n >= 2."""
    import torch
    from torchmetrics.functional import concordance_corrcoef, mean_squared_error, pearson_corrcoef

    pt, tt = torch.from_numpy(p), torch.from_numpy(t)
    rmse = float(mean_squared_error(pt, tt).sqrt())
    if np.array_equal(p, t):
        return 1.0, 1.0, rmse
    if p.std() < _EPS or t.std() < _EPS:  # no variance -> no correlation (torchmetrics gives NaN)
        return 0.0, 0.0, rmse
    ccc = float(concordance_corrcoef(pt, tt).reshape(-1)[0])
    pcc = float(pearson_corrcoef(pt, tt).reshape(-1)[0])
    ccc = ccc if np.isfinite(ccc) else 0.0
    pcc = pcc if np.isfinite(pcc) else 0.0
    return ccc, pcc, rmse


def scores(pred: Any, true: Any, dims: Sequence[str] = DIMS) -> dict[str, float | None]:
    """CCC, PCC and RMSE per dimension plus their means over valence and arousal.

    ``pred`` and ``true`` are DataFrames with a column per dimension (rows aligned by position)
    or arrays of shape ``(n, len(dims))``. Returns ``{"ccc_valence", "ccc_arousal", "ccc_mean",
    "pcc_*", "rmse_*"}`` (plus ``*_dominance`` when scored), rounded to 4 decimals.
    """
    dims = tuple(dims)
    if not dims:
        raise ValueError("dims is empty")
    p_all, t_all = _matrix(pred, dims, "pred"), _matrix(true, dims, "true")
    if p_all.shape[0] != t_all.shape[0]:
        raise ValueError(f"pred has {p_all.shape[0]} rows, true has {t_all.shape[0]}")

    per: dict[str, tuple[float, float, float] | None] = {}
    for j, d in enumerate(dims):
        keep = ~np.isnan(t_all[:, j])
        p, t = p_all[keep, j], t_all[keep, j]
        if not np.isfinite(p).all():
            raise ValueError(f"pred: {int((~np.isfinite(p)).sum())} non-finite {d} value(s) on labelled rows")
        per[d] = _one(p, t) if len(t) >= 2 else None

    out: dict[str, float | None] = {}
    mean_dims = [d for d in MEAN_OVER if d in dims]
    for i, name in enumerate(("ccc", "pcc", "rmse")):
        for d in dims:
            res = per[d]
            out[f"{name}_{d}"] = _round(None if res is None else res[i])
        vals = [per[d] for d in mean_dims]
        if mean_dims and all(v is not None for v in vals):
            out[f"{name}_mean"] = _round(float(np.mean([v[i] for v in vals if v is not None])))
        else:
            out[f"{name}_mean"] = None
    return out


def score_frame(df, dims) -> dict:
    """:func:`scores` of a predictions frame with ``pred_<dim>`` and ``true_<dim>`` columns."""
    dims = tuple(dims)
    return scores(df[[f"pred_{d}" for d in dims]].to_numpy(), df[[f"true_{d}" for d in dims]].to_numpy(), dims=dims)
