"""Latent emotion, its slow drift within a clip, and the noisy gold ratings raters give it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# IEMOCAP category code -> (valence, arousal, dominance) centre in [-1, 1], and its weight.
CATEGORIES: dict[str, tuple[tuple[float, float, float], float]] = {
    "neu": ((0.0, -0.1, 0.0), 0.22),
    "hap": ((0.6, 0.35, 0.2), 0.12),
    "exc": ((0.55, 0.7, 0.35), 0.12),
    "sad": ((-0.6, -0.55, -0.35), 0.14),
    "ang": ((-0.55, 0.7, 0.55), 0.12),
    "fru": ((-0.45, 0.25, 0.1), 0.14),
    "fea": ((-0.5, 0.55, -0.45), 0.04),
    "sur": ((0.25, 0.65, 0.0), 0.04),
    "dis": ((-0.6, 0.1, 0.2), 0.02),
    "oth": ((0.2, -0.5, -0.1), 0.04),
}
CATEGORY_NAMES = {
    "neu": "Neutral state", "hap": "Happiness", "exc": "Excited", "sad": "Sadness",
    "ang": "Anger", "fru": "Frustration", "fea": "Fear", "sur": "Surprise",
    "dis": "Disgust", "oth": "Other",
}
SPREAD = 0.22
# How far a face's displayed expression wanders from the latent, independently of it:
# mouth curvature follows valence closely; eyes, brows and mouth opening follow arousal loosely.
FACE_NOISE = (0.10, 0.45)


def sample_category(rng: np.random.Generator, bias: str | None = None) -> str:
    codes = list(CATEGORIES)
    w = np.array([CATEGORIES[c][1] for c in codes])
    if bias is not None:
        w = w + 0.5 * np.array([c == bias for c in codes])
    return str(rng.choice(codes, p=w / w.sum()))


def sample_latent(rng: np.random.Generator, category: str) -> np.ndarray:
    """(valence, arousal, dominance) around the category's centre, clipped to [-0.95, 0.95]."""
    centre = np.array(CATEGORIES[category][0])
    return np.clip(centre + rng.normal(0, SPREAD, 3), -0.95, 0.95)


def trajectory(rng: np.random.Generator, centre: np.ndarray, n: int, drift: float) -> np.ndarray:
    """``n`` points of a slow random walk around ``centre`` (shape (n, 3)), mean-reverting."""
    out = np.empty((n, centre.size))
    x = centre + rng.normal(0, drift * 0.5, centre.size)
    for i in range(n):
        x = centre + 0.7 * (x - centre) + rng.normal(0, drift * 0.5, centre.size)
        out[i] = x
    return np.clip(out, -1.0, 1.0)


@dataclass(frozen=True)
class Rating:
    """Gold label on IEMOCAP's 1-5 scale (mean of raters, half steps) and the raters' integers."""

    value: np.ndarray  # (3,) valence, activation, dominance
    raters: np.ndarray  # (n_raters, 3) integers 1..5
    category: str


def rate(
    rng: np.random.Generator,
    latent: np.ndarray,
    category: str,
    n_raters: int,
    noise: float,
    rater_bias: np.ndarray,
) -> Rating:
    """Raters see the clip's mean latent, each through their own bias and noise, and answer
    integers 1-5; the gold value is their mean rounded to IEMOCAP's half steps."""
    scale = 3.0 + 2.0 * latent
    raw = scale[None, :] + rater_bias[:n_raters] + rng.normal(0, noise, (n_raters, 3))
    raters = np.clip(np.rint(raw), 1, 5)
    value = np.clip(np.round(raters.mean(axis=0) * 2) / 2, 1.0, 5.0)
    agree = rng.random() < 0.8
    return Rating(value=value, raters=raters.astype(int), category=category if agree else "xxx")


def face_expression(rng: np.random.Generator, latent: np.ndarray) -> np.ndarray:
    """(valence, arousal) a face displays for ``latent``: strong for valence, moderate for arousal."""
    return np.clip(latent[..., :2] + rng.normal(0, FACE_NOISE, size=latent[..., :2].shape), -1, 1)
