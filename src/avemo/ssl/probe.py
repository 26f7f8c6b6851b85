"""Frozen-encoder linear probes: how much of valence/arousal an encoder's pooled embedding
holds, judged by a ridge regression fitted on the labelled train split (ridge strength picked
on val) and scored on test. The same probe on a randomly initialised encoder is the baseline.

Two protocols, both reported: ``plain`` (embeddings as they are) and ``speaker`` (each
speaker's embeddings standardised over that speaker's clips first: the speaker-level feature
normalisation of speech emotion recognition; it uses no labels, only who speaks). With six
training speakers, identity dominates a face embedding and a plain probe mostly learns who is
on screen; the speaker protocol asks what changes *within* a person, which is the emotion."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from avemo import device
from avemo.evaluate import metrics
from avemo.features import store
from avemo.models.pooling import MeanPool
from avemo.train.data import STORE_STREAM, collate, transform_for

ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0)


@torch.no_grad()
def embed(encoder: nn.Module, split: store.Split, stream: str, features_dir: str, normalise: str = "global",
          frame_step: int = 1, batch_size: int = 64, dev: torch.device | str = "cpu") -> np.ndarray:
    """Mean-pooled frame embeddings ``(clips, dim)`` of one split, encoder in eval mode on ``dev``."""
    pre, post = transform_for(stream, features_dir, normalise, frame_step)
    pool = MeanPool(0)
    encoder.to(dev).eval()
    out = []
    key = STORE_STREAM[stream]
    for lo in range(0, len(split), batch_size):
        items = [(post(pre(split.get(key, i))), torch.zeros(0), torch.ones(()), i)
                 for i in range(lo, min(lo + batch_size, len(split)))]
        b = collate(items)
        h, m = encoder(*device.move((b["x"], b["mask"]), dev))
        out.append(pool(h, m).float().cpu())
    return torch.cat(out).numpy()


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    w = np.linalg.solve(z.T @ z + alpha * len(z) * np.eye(z.shape[1]), z.T @ (y - y.mean(0)))
    return mu, sd, w, y.mean(0)


def _predict(model: tuple, x: np.ndarray) -> np.ndarray:
    mu, sd, w, b = model
    return np.clip(((x - mu) / sd) @ w + b, -1, 1)


def linear_probe(emb: dict[str, np.ndarray], labels: dict[str, np.ndarray], dims: tuple[str, ...]) -> dict:
    """Fit ridge on train for each alpha, keep the best val CCC mean, score test."""
    best = max(
        ALPHAS,
        key=lambda a: metrics.scores(_predict(_ridge(emb["train"], labels["train"], a), emb["val"]),
                                     labels["val"], dims)["ccc_mean"] or -1.0,
    )
    model = _ridge(emb["train"], labels["train"], best)
    return {**metrics.scores(_predict(model, emb["test"]), labels["test"], dims), "alpha": best}


def speaker_standardise(emb: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """Each speaker's rows z-scored over that speaker's rows (no labels involved)."""
    out = np.empty_like(emb)
    for s in np.unique(speakers):
        m = speakers == s
        out[m] = (emb[m] - emb[m].mean(0)) / (emb[m].std(0) + 1e-6)
    return out


PROTOCOLS = ("speaker", "plain")


def probe(encoder: nn.Module, stream: str, features_dir: str, dims: tuple[str, ...] = ("valence", "arousal"),
          normalise: str = "global", frame_step: int = 1, corpus: str = "iemocap",
          dev: torch.device | str = "cpu") -> dict[str, dict]:
    """Linear-probe scores (test split) of ``encoder`` (run on ``dev``) on the gold-labelled
    corpus, per protocol: ``{"speaker": scores, "plain": scores}``."""
    emb, labels, speakers = {}, {}, {}
    for split in ("train", "val", "test"):
        data = store.read(features_dir, corpus, split)
        emb[split] = embed(encoder, data, stream, features_dir, normalise, frame_step, dev=dev)
        labels[split] = data.index[list(dims)].to_numpy(dtype="float64")
        speakers[split] = data.index["speaker"].astype(str).to_numpy()
    per_speaker = {s: speaker_standardise(e, speakers[s]) for s, e in emb.items()}
    return {"speaker": linear_probe(per_speaker, labels, dims), "plain": linear_probe(emb, labels, dims)}
