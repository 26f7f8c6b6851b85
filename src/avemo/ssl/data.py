"""Two-view datasets over the feature store's unlabelled corpora.

As in :mod:`avemo.train.data`, every random draw is a pure function of (seed, epoch, index):
pair :class:`TwoViewDataset` with :class:`avemo.train.data.EpochSampler`, which sets ``epoch``."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.data import Dataset

from avemo.features import store
from avemo.train.data import pad

PairItem = tuple  # (view1, view2, index) or (view1, view2, index, clean, landmarks)
STORE_KEY = {"audio": "audio", "visual": "video", "video": "video"}


def default_transform(stream: str) -> tuple[Callable, Callable]:
    """(pre, post) without stats: audio float log-mel then per-utterance normalisation; video
    uint8 -> [0, 1]. Pass ``avemo.train.data.transform_for(...)`` for the global stats instead."""
    if STORE_KEY[stream] == "video":
        return (lambda v: v.float() / 255.0), (lambda v: v)
    return (lambda a: a.float()), (lambda a: (a - a.mean(0)) / (a.std(0) + 1e-5))


class TwoViewDataset(Dataset):
    """``(view1, view2, index)`` per stored sample of one stream (``audio`` or ``visual``).

    With ``landmarks`` (``(N, 70, 2)`` in crop coordinates, NaN where missing) each item also
    holds the clean (unaugmented) sample and its landmarks, for the landmark auxiliary."""

    def __init__(self, split: store.Split, stream: str, views: Callable, seed: int = 0,
                 transform: tuple[Callable, Callable] | None = None, landmarks: torch.Tensor | None = None):
        if stream not in STORE_KEY:
            raise KeyError(f"unknown stream {stream!r}; choose 'audio' or 'visual'")
        self.key = STORE_KEY[stream]
        if not split.has(self.key):
            raise ValueError(f"this split has no {self.key!r} stream")
        self.split, self.views, self.seed = split, views, seed
        self.transform = transform if transform is not None else default_transform(stream)
        if landmarks is not None and len(landmarks) != len(split):
            raise ValueError(f"{len(landmarks)} landmark sets for {len(split)} samples")
        self.landmarks = landmarks
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.split)

    def generator(self, i: int, epoch: int | None = None) -> torch.Generator:
        epoch = self.epoch if epoch is None else epoch
        return torch.Generator().manual_seed(hash((self.seed, epoch, i)) & 0x7FFFFFFF)

    def __getitem__(self, key: int | tuple[int, int]) -> PairItem:
        """Item ``i``, or ``(epoch, i)`` as :class:`~avemo.train.data.EpochSampler` gives it
        (the epoch travels with the index into worker processes kept across epochs)."""
        epoch, i = key if isinstance(key, tuple) else (self.epoch, key)
        pre, post = self.transform
        x = pre(self.split.get(self.key, i))
        v1, v2 = self.views(x, self.generator(i, epoch))
        if self.landmarks is None:
            return post(v1), post(v2), i
        return post(v1), post(v2), i, post(x), self.landmarks[i].float()


def collate_pairs(batch: list[PairItem]) -> dict[str, torch.Tensor]:
    """``{"x1", "m1", "x2", "m2", "index"}``, each view padded to its own longest clip; with
    landmarks also ``"x0", "m0"`` (the clean samples) and ``"landmarks"`` ``(B, 70, 2)``."""
    cols = list(zip(*batch, strict=True))
    x1, m1 = pad(list(cols[0]))
    x2, m2 = pad(list(cols[1]))
    out = {"x1": x1, "m1": m1, "x2": x2, "m2": m2, "index": torch.tensor(cols[2])}
    if len(cols) == 5:
        out["x0"], out["m0"] = pad(list(cols[3]))
        out["landmarks"] = torch.stack(cols[4])
    return out
