"""Pseudo-label selection: confidence first, balance over the valence-arousal plane, group caps."""

import numpy as np
import pandas as pd
import pytest

from avemo.pseudo.select import confidence, select, va_bin


def frame(v, a, u, group=None) -> pd.DataFrame:
    df = pd.DataFrame({"valence": v, "arousal": a, "uncertainty": u})
    if group is not None:
        df["speaker"] = group
    return df


def test_va_bin_covers_the_plane_and_clips_the_edges():
    assert va_bin(np.array([-1.0, 1.0, 0.1, -0.1]), np.array([-1.0, 1.0, 0.1, 0.1]), 2).tolist() == [0, 3, 3, 1]
    assert va_bin(np.array([-5.0]), np.array([5.0]), 4).tolist() == [3]


def test_keeps_the_fraction_and_prefers_confident_items():
    rng = np.random.default_rng(0)
    u = rng.uniform(0, 1, 100)
    keep = select(frame(np.zeros(100), np.zeros(100), u), fraction=0.3, bins=1)
    assert keep.sum() == 30
    assert u[keep].max() < u[~keep].min()  # one cell: the 30 most certain


def test_sparse_regions_are_not_crowded_out():
    # 90 very confident items in one corner, 10 less confident ones in the opposite corner
    v = np.r_[np.full(90, -0.9), np.full(10, 0.9)]
    u = np.r_[np.full(90, 0.01), np.full(10, 0.5)]
    keep = select(frame(v, v, u), fraction=0.2, bins=2)
    assert keep.sum() == 20 and keep[90:].sum() == 10  # the corners take turns


def test_group_cap_and_uncertainty_threshold():
    g = ["a"] * 50 + ["b"] * 50
    u = np.r_[np.linspace(0, 0.1, 50), np.linspace(0.2, 0.3, 50)]
    keep = select(frame(np.zeros(100), np.zeros(100), u, g), fraction=0.5, bins=1, max_group_share=0.2)
    assert keep.sum() == 20 and keep[:50].sum() == 10 and keep[50:].sum() == 10
    keep = select(frame(np.zeros(100), np.zeros(100), u, g), fraction=0.5, bins=1, max_uncertainty=0.15)
    assert keep.sum() == 50 and not keep[50:].any()


def test_confidence_is_one_for_the_most_certain_and_zero_for_the_least():
    c = confidence(np.array([0.1, 0.2, 0.3]))
    assert c.tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert confidence(np.array([0.2, 0.2])).tolist() == [1.0, 1.0]
