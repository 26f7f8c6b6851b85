import numpy as np
import torch

from avemo.data.synthetic import labels
from avemo.train.losses import ccc


def test_rating_is_iemocap_shaped():
    rng = np.random.default_rng(0)
    for _ in range(200):
        cat = labels.sample_category(rng)
        lat = labels.sample_latent(rng, cat)
        r = labels.rate(rng, lat, cat, 3, 0.45, np.zeros((3, 3)))
        assert np.all((r.value >= 1) & (r.value <= 5))
        assert np.all(r.value * 2 == np.round(r.value * 2))  # half steps
        assert r.raters.shape == (3, 3) and r.raters.dtype.kind == "i"
        assert r.category in (*labels.CATEGORIES, "xxx")


def test_trajectory_drifts_around_centre():
    rng = np.random.default_rng(1)
    centre = np.array([0.5, -0.2, 0.0])
    tr = labels.trajectory(rng, centre, 50, 0.15)
    assert tr.shape == (50, 3)
    assert np.abs(tr.mean(0) - centre).max() < 0.1
    assert tr.std(0).min() > 0.02


def test_gold_tracks_latent_but_not_perfectly():
    rng = np.random.default_rng(2)
    lat, gold = [], []
    for _ in range(500):
        cat = labels.sample_category(rng)
        x = labels.sample_latent(rng, cat)
        lat.append(x)
        gold.append((labels.rate(rng, x, cat, 3, 0.45, rng.normal(0, 0.25, (3, 3))).value - 3) / 2)
    lat, gold = np.array(lat), np.array(gold)
    got = ccc(torch.as_tensor(lat[:, :2]), torch.as_tensor(gold[:, :2]))
    assert ((got > 0.85) & (got < 0.98)).all()
