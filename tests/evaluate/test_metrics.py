"""Scores: torchmetrics-based CCC/PCC/RMSE against the project's CCC, numpy and a hand-computed example."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from avemo.evaluate.metrics import scores
from avemo.train.losses import ccc


def _ccc(x, y, ddof: int = 1) -> float:
    """``avemo.train.losses.ccc`` of two 1-D arrays, as a float."""
    t = torch.as_tensor(np.stack([x, y], 1), dtype=torch.float64)
    return float(ccc(t[:, :1], t[:, 1:], ddof=ddof)[0])


KEYS = {f"{m}_{d}" for m in ("ccc", "pcc", "rmse") for d in ("valence", "arousal", "mean")}


def _pair(n=200, seed=0):
    rng = np.random.default_rng(seed)
    true = rng.uniform(-1, 1, size=(n, 2))
    pred = 0.7 * true + rng.normal(0.1, 0.3, size=(n, 2))
    return pred, true


def test_keys_and_agreement_with_numpy():
    pred, true = _pair()
    s = scores(pred, true)
    assert set(s) == KEYS
    for j, d in enumerate(("valence", "arousal")):
        assert s[f"ccc_{d}"] == pytest.approx(_ccc(pred[:, j], true[:, j]), abs=5e-5)
        assert s[f"pcc_{d}"] == pytest.approx(np.corrcoef(pred[:, j], true[:, j])[0, 1], abs=5e-5)
        rmse = np.sqrt(np.mean((pred[:, j] - true[:, j]) ** 2))
        assert s[f"rmse_{d}"] == pytest.approx(rmse, abs=5e-5)
    assert s["ccc_mean"] == pytest.approx((s["ccc_valence"] + s["ccc_arousal"]) / 2, abs=1e-4)
    assert all(v == round(v, 4) for v in s.values())
    json.dumps(s, allow_nan=False)


def test_hand_computed_tiny_example():
    # x = pred, y = true; means 2 and 3; sample (n-1) moments: var_x = 1, var_y = 1, cov = 1
    x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])
    # CCC = 2*1 / (1 + 1 + (2-3)^2) = 2/3 (torchmetrics); Lin's population moments: (4/3)/(7/3) = 4/7
    assert _ccc(x, y) == pytest.approx(2 / 3)
    assert _ccc(x, y, ddof=0) == pytest.approx(4 / 7)
    s = scores(np.c_[x, x], np.c_[y, y])
    assert s["ccc_valence"] == s["ccc_arousal"] == s["ccc_mean"] == round(2 / 3, 4)
    assert s["pcc_valence"] == 1.0
    assert s["rmse_valence"] == 1.0


def test_perfect_prediction():
    _, true = _pair()
    s = scores(true.copy(), true)
    assert s["ccc_mean"] == 1.0 and s["pcc_mean"] == 1.0 and s["rmse_mean"] == 0.0


def test_constant_prediction_is_zero_not_nan():
    _, true = _pair()
    pred = np.full_like(true, 0.2)
    with np.errstate(all="raise"):
        s = scores(pred, true)
    assert s["ccc_valence"] == 0.0 and s["pcc_arousal"] == 0.0 and s["ccc_mean"] == 0.0
    assert s["rmse_valence"] > 0
    # constant truth too (a degenerate split): still 0, not NaN
    s = scores(np.c_[[0.1, 0.2, 0.3], [0.0, 0.0, 0.0]], np.zeros((3, 2)))
    assert s["ccc_valence"] == 0.0 and s["ccc_arousal"] == 1.0  # arousal matches exactly


def test_nan_truth_rows_dropped_per_dimension():
    pred, true = _pair(50)
    t = true.copy()
    t[[3, 7, 11], 0] = np.nan  # valence unlabelled on 3 rows; arousal keeps all 50
    keep = ~np.isnan(t[:, 0])
    s = scores(pred, t)
    assert s["ccc_valence"] == round(float(scores(pred[keep], true[keep])["ccc_valence"]), 4)
    assert s["ccc_arousal"] == scores(pred, true)["ccc_arousal"]
    with pytest.raises(ValueError, match="non-finite"):
        p = pred.copy()
        p[0, 1] = np.nan
        scores(p, t)


def test_dataframes_and_dominance():
    rng = np.random.default_rng(1)
    dims = ("valence", "arousal", "dominance")
    true = pd.DataFrame(rng.uniform(-1, 1, (40, 3)), columns=list(dims))
    pred = (true * 0.5).assign(extra=1.0)[["extra", *dims]]  # column order and extras don't matter
    s = scores(pred, true, dims=dims)
    assert {"ccc_dominance", "pcc_dominance", "rmse_dominance"} <= set(s)
    assert s["ccc_mean"] == round((s["ccc_valence"] + s["ccc_arousal"]) / 2, 4)  # V and A only
    true.loc[:, "dominance"] = np.nan  # no dominance labels: null, means unaffected
    s2 = scores(pred, true, dims=dims)
    assert s2["ccc_dominance"] is None and s2["ccc_mean"] == s["ccc_mean"]
    with pytest.raises(ValueError, match="missing column"):
        scores(pred.drop(columns="arousal"), true)
    with pytest.raises(ValueError, match="rows"):
        scores(pred.iloc[:5], true)
