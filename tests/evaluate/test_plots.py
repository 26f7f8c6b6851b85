"""Report plots: valid PNGs of sensible size, written atomically, no pyplot state left behind."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pandas as pd
import pytest

from avemo.evaluate import plots


@pytest.fixture
def va():
    rng = np.random.default_rng(0)
    true = pd.DataFrame(rng.uniform(-1, 1, (60, 2)), columns=["valence", "arousal"])
    pred = (true * 0.6 + rng.normal(0, 0.2, (60, 2))).clip(-1, 1)
    true.loc[5, "valence"] = np.nan
    return pred, true


def _png(path, min_w, min_h):
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = cv2.imread(str(path))
    assert img is not None
    h, w = img.shape[:2]
    assert w >= min_w and h >= min_h and w <= 2000 and h <= 2000
    assert img.std() > 5  # not a blank canvas
    return img


def test_pred_vs_true(tmp_path, va):
    pred, true = va
    out = plots.pred_vs_true(pred, true, ("valence", "arousal"), tmp_path / "sub/pvt.png", "test split")
    assert out == tmp_path / "sub/pvt.png"
    img = _png(out, 600, 300)
    assert img.shape[1] > img.shape[0]  # one panel per dimension side by side
    assert not list((tmp_path / "sub").glob(".*tmp"))  # atomic write leaves no temp file


def test_va_plane(tmp_path, va):
    pred, true = va
    _png(plots.va_plane(pred.to_numpy(), true.to_numpy(), tmp_path / "va.png", "VA plane"), 400, 400)


def test_training_curves(tmp_path):
    hist = pd.DataFrame({
        "epoch": range(5), "train/loss": [1.0, 0.8, 0.6, 0.5, 0.45], "val/loss": [1.1, 0.9, 0.7, np.nan, 0.6],
        "val/ccc_mean": [0.1, 0.3, 0.4, 0.5, 0.55], "val/ccc_valence": [0.0, 0.2, 0.3, 0.4, 0.5],
    })
    _png(plots.training_curves(hist, tmp_path / "curves.png"), 800, 300)
    _png(plots.training_curves(pd.DataFrame({"epoch": []}), tmp_path / "empty.png"), 800, 300)


def test_no_pyplot_state(tmp_path, va):
    pred, true = va
    plots.va_plane(pred, true, tmp_path / "a.png")
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []
