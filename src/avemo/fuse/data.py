"""Both streams of a labelled feature-store split, clip by clip, and cached stream outputs
(frame embeddings + each stream's prediction) that fusions train on."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from avemo import device
from avemo.features import store
from avemo.fuse.modes import Perturb
from avemo.models.batch import pad
from avemo.models.fusion import STREAMS
from avemo.train.data import STORE_STREAM


class PairDataset(Dataset):
    """``(audio (T, n_mels), video (T, px, px), target (K,), index)`` per clip of ``split``, each
    stream through its ``(pre, post)`` transform; ``perturb`` (stream -> fn) is applied between
    them with a generator seeded by (seed, clip), so every run perturbs the same way."""

    def __init__(self, split: store.Split, targets: list[str], transforms: dict, perturb: dict[str, Perturb] | None = None,
                 seed: int = 0):
        self.split, self.transforms, self.perturb, self.seed = split, transforms, perturb or {}, seed
        self.targets = torch.tensor(split.index[targets].to_numpy(dtype="float32"))

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        out = []
        for s in STREAMS:
            pre, post = self.transforms[s]
            x = pre(self.split.get(STORE_STREAM[s], i))
            if s in self.perturb:
                x = self.perturb[s](x, torch.Generator().manual_seed(self.seed * 1_000_003 + i))
            out.append(post(x))
        return (*out, self.targets[i], i)


def collate(batch) -> dict:
    a, v, y, idx = zip(*batch, strict=True)
    return {"audio": pad(list(a)), "visual": pad(list(v)), "y": torch.stack(y), "index": torch.tensor(idx)}


def loader(ds: Dataset, batch_size: int) -> DataLoader:
    return DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=collate)


class StreamCache(Dataset):
    """Per clip and stream: ``hidden (T, D)``, and the stream's clip prediction ``(K,)``; plus
    the target. Computed once by frozen stream models (see :func:`cache`)."""

    def __init__(self, hidden: dict[str, list[torch.Tensor]], preds: dict[str, torch.Tensor], targets: torch.Tensor):
        self.hidden, self.preds, self.targets = hidden, preds, targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return {s: (self.hidden[s][i], self.preds[s][i]) for s in STREAMS}, self.targets[i]


def collate_cache(batch) -> dict:
    items, y = zip(*batch, strict=True)
    out = {"y": torch.stack(y)}
    for s in STREAMS:
        h, mask = pad([it[s][0] for it in items])
        out[s] = (h, mask, torch.stack([it[s][1] for it in items]))
    return out


@torch.no_grad()
def cache(streams: torch.nn.ModuleDict, ds: PairDataset, batch_size: int,
          dev: torch.device | str = "cpu") -> StreamCache:
    """Run the (eval-mode) stream models once over ``ds`` on ``dev``; the cache is kept on the CPU."""
    hidden: dict[str, list[torch.Tensor]] = {s: [] for s in STREAMS}
    preds: dict[str, list[torch.Tensor]] = {s: [] for s in STREAMS}
    ys = []
    streams = streams.to(dev)
    for batch in loader(ds, batch_size):
        for s in STREAMS:
            o = device.move(streams[s](*device.move(batch[s], dev)), "cpu")
            preds[s].append(o["clip"])
            hidden[s] += [h[m] for h, m in zip(o["hidden"], o["frame_mask"], strict=True)]
        ys.append(batch["y"])
    return StreamCache(hidden, {s: torch.cat(preds[s]) for s in STREAMS}, torch.cat(ys))
