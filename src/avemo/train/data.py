"""Datasets and the Lightning data module over the feature store.

Randomness (crops, augmentation, shuffling) is a pure function of (seed, epoch, index), so a
run resumed from a checkpoint sees exactly the batches an uninterrupted run would."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Sampler

from avemo import device
from avemo.config import AugmentConfig, TrainConfig
from avemo.features import store
from avemo.models.batch import pad

Item = tuple  # (x, target, weight, index), deferred training items add their generator state


class ClipDataset(Dataset):
    """One stream of one split: ``(x (T, ...), target (K,), weight (), index)`` per clip.
    Training crops a random window of ``max_frames`` (0: the whole clip) and applies ``augment``.

    ``defer``: training items stop after the crop and carry the state of their generator
    instead, so that augmentation and the input transform run on the whole batch where the
    model is (:func:`finish_on_device`), with the very draws they would have made here."""

    def __init__(self, split: store.Split, stream: str, targets: list[str], *, train: bool,
                 max_frames: int, seed: int, transform: tuple[Callable, Callable],
                 augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                 rows: list[int] | None = None, defer: bool = False):
        self.split, self.stream, self.train = split, stream, train
        self.max_frames, self.seed, self.defer = max_frames, seed, defer
        self.transform, self.augment = transform, augment
        self.rows = list(range(len(split))) if rows is None else list(rows)  # item i is split row rows[i]
        idx = split.index
        self.targets = torch.tensor(idx[targets].to_numpy(dtype="float32"))
        # a weight per clip and target: ``label_weight_<target>`` where given, else ``label_weight``
        w = idx["label_weight"].to_numpy(dtype="float32") if "label_weight" in idx else np.ones(len(idx), "float32")
        self.weights = torch.tensor(np.stack([idx[f"label_weight_{t}"].to_numpy(dtype="float32")
                                              if f"label_weight_{t}" in idx else w for t in targets], 1)
                                    if targets else w[:, None])
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: int | tuple[int, int]) -> Item:
        """Item ``k``, or ``(epoch, k)`` as :class:`EpochSampler` gives it: a worker process
        kept alive across epochs never sees ``self.epoch`` change, so the epoch travels with it."""
        epoch, k = key if isinstance(key, tuple) else (self.epoch, key)
        pre, post = self.transform
        i = self.rows[k]
        x = pre(self.split.get(self.stream, i))
        if self.train:
            g = torch.Generator().manual_seed(hash((self.seed, epoch, i)) & 0x7FFFFFFF)
            if self.max_frames and len(x) > self.max_frames:
                start = int(torch.randint(0, len(x) - self.max_frames + 1, (1,), generator=g))
                x = x[start : start + self.max_frames]
            if self.defer:
                return x, self.targets[i], self.weights[i], i, g.get_state()
            if self.augment is not None:  # on the stored scale (e.g. raw log-mel: SNRs hold)
                x = self.augment(x, g)
        return post(x), self.targets[i], self.weights[i], i


def collate(batch: list[Item]) -> dict[str, torch.Tensor]:
    """Pad to the longest clip; ``mask`` marks real frames. Deferred items (see
    :class:`ClipDataset`) add ``rng``, their generators' states."""
    xs, ys, ws, ids, *rng = zip(*batch, strict=True)
    x, mask = pad(list(xs))
    out = {"x": x, "mask": mask, "y": torch.stack(ys), "w": torch.stack(ws), "index": torch.tensor(ids)}
    if rng:
        out["rng"] = torch.stack(rng[0])
    return out


def finish_on_device(batch: dict, augment: Callable | None, post: Callable) -> dict:
    """A batch of deferred training items, augmented and transformed clip by clip where its
    tensors are (the GPU), each clip from its own generator state: the same result the loader
    would have computed for it on the CPU."""
    items = []
    for b, n in enumerate(batch["mask"].sum(1).tolist()):
        x = batch["x"][b, :n]
        if augment is not None:
            g = torch.Generator()
            g.set_state(batch["rng"][b].cpu().clone())  # a view crashes set_state
            x = augment(x, g)
        items.append(post(x))
    out = {k: v for k, v in batch.items() if k != "rng"}
    out["x"], out["mask"] = pad(items)
    return out


class Concat(ConcatDataset):
    """Gold and pseudo-labelled clips as one training set; the epoch reaches every part."""

    @property
    def epoch(self) -> int:
        return self.datasets[0].epoch

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        for d in self.datasets:
            d.epoch = epoch

    def __getitem__(self, key: int | tuple[int, int]) -> Item:
        if not isinstance(key, tuple):
            return super().__getitem__(key)
        epoch, k = key
        part = bisect.bisect_right(self.cumulative_sizes, k)
        return self.datasets[part][(epoch, k - (self.cumulative_sizes[part - 1] if part else 0))]


def pseudo_splits(features_dir: str, pseudo, targets: list[str], weight: float) -> list[tuple[store.Split, list[int]]]:
    """For each store split a pseudo_label artifact draws from: the split with its labels and
    per-target weights (``weight`` x confidence) filled in from the artifact, and the selected rows."""
    missing = [t for t in targets if t not in pseudo]
    if missing:
        raise ValueError(f"pseudo-labels carry no {missing}; set model.targets to [valence, arousal]")
    pseudo = pseudo[pseudo["selected"].to_numpy(bool)]
    out = []
    for (corpus, split), part in pseudo.groupby(["corpus", "split"], sort=True):
        data = store.read(features_dir, corpus, split)
        rows = part["row"].astype(int).to_numpy()
        if rows.max(initial=-1) >= len(data) or list(data.index["clip_id"].astype(str).iloc[rows]) != list(part["clip_id"]):
            raise ValueError(f"pseudo-labels do not match the {corpus}/{split} feature store (rerun `avemo pseudo-label`)")
        index = data.index.copy()
        index["label_source"] = "pseudo"
        for t in targets:  # a dimension the teacher does not transfer to this corpus has confidence 0
            index.loc[rows, t] = part[t].to_numpy()
            index[f"label_weight_{t}"] = 0.0
            index.loc[rows, f"label_weight_{t}"] = weight * part[f"confidence_{t}"].to_numpy()
        index["label_weight"] = index[[f"label_weight_{t}" for t in targets]].mean(axis=1)
        out.append((store.Split(index, data.tensors), [int(r) for r in rows]))
    return out


class EpochSampler(Sampler[tuple[int, int]]):
    """Shuffles with a permutation seeded by (seed, epoch) and yields ``(epoch, index)``: the
    dataset draws its crops and augmentation from them, in whichever worker process it runs."""

    def __init__(self, dataset: ClipDataset, seed: int):
        self.dataset, self.seed, self.epoch = dataset, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.dataset.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        return iter([(self.epoch, k) for k in torch.randperm(len(self.dataset), generator=g).tolist()])


class EpochLoader(DataLoader):
    """A DataLoader whose persistent workers leave the global RNG as fresh workers would: a new
    iterator draws its base seed from it, a reused one did not, which shifted every later
    dropout draw. With this, a run trains the same model whatever ``train.num_workers``."""

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0 and self._iterator is not None:
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        return super().__iter__()


def loader_settings(cfg: TrainConfig) -> dict:
    """``DataLoader`` arguments of ``train.*``: worker processes (kept alive across epochs),
    batches each prepares ahead, and page-locked memory (``auto``: when training on CUDA, so
    batches copy to the GPU asynchronously)."""
    pin = cfg.pin_memory if cfg.pin_memory != "auto" else device.resolve(cfg.accelerator).type == "cuda"
    kw: dict = {"num_workers": cfg.num_workers, "pin_memory": pin}
    if cfg.num_workers:
        kw.update(persistent_workers=cfg.persistent_workers, prefetch_factor=cfg.prefetch_factor)
    return kw


def transform_for(stream: str, features_dir: str, normalise: str,
                  frame_step: int = 1) -> tuple[Callable, Callable]:
    """(pre, post): stored features -> the augmentable scale -> model input. Audio: float
    log-mel, then normalised (``normalise``: global | utterance | none: a model with utterance
    statistics normalises its own input); video: every ``frame_step``-th crop scaled to [0, 1]."""
    if stream == "visual":
        return (lambda v: v[::frame_step].float() / 255.0), (lambda v: v)
    if normalise == "none":
        return (lambda a: a.float()), (lambda a: a)
    if normalise == "utterance":
        return (lambda a: a.float()), (lambda a: (a - a.mean(0)) / (a.std(0) + 1e-5))
    mean, std = store.read_stats(features_dir)
    return (lambda a: a.float()), (lambda a: (a - mean.to(a.device)) / (std.to(a.device) + 1e-5))


def augmenter(stream: str, cfg: AugmentConfig, normalise: str):
    """The training augmentation of ``stream`` for a model fed ``normalise``d input."""
    from avemo.features.augment import AudioAugment, FaceAugment

    if stream != "audio":
        return FaceAugment(cfg.video)
    audio = cfg.audio
    if normalise == "none":  # the model reads the clip's level: a random gain would blur it
        audio = audio.model_copy(update={"gain_db": 0.0})
    return AudioAugment(audio)


def input_normalise(normalise: str, stats: bool) -> str:
    """The ``transform_for`` mode feeding a model: ``none`` for one with utterance statistics
    (it normalises its own input), else the features' ``normalise``."""
    return "none" if stats else normalise


STORE_STREAM = {"audio": "audio", "visual": "video"}


def label_subset(index, fraction: float, seed: int) -> list[int]:
    """Rows of a labelled split keeping ``fraction`` of each speaker's clips (at least one per
    speaker), drawn with ``seed``: the label-efficiency experiments' reduced train sets."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return list(range(len(index)))
    g = torch.Generator().manual_seed(seed)
    rows: list[int] = []
    for _, group in index.reset_index(drop=True).groupby("speaker", sort=True):
        pos = group.index.to_numpy()
        keep = max(1, round(fraction * len(pos)))
        rows += sorted(int(pos[j]) for j in torch.randperm(len(pos), generator=g)[:keep])
    return sorted(rows)


class EmotionDataModule(pl.LightningDataModule):
    """Gold-labelled IEMOCAP-shaped train/val/test splits of one stream; with ``pseudo`` (a
    pseudo_label artifact) its selected items join the training set at ``pseudo_weight`` x
    their confidence."""

    def __init__(self, features_dir: str, stream: str, targets: list[str], train: TrainConfig,
                 augment: AugmentConfig, normalise: str = "global", corpus: str = "iemocap",
                 train_fraction: float = 1.0, pseudo=None, pseudo_weight: float = 1.0):
        super().__init__()
        self.features_dir, self.stream, self.targets = features_dir, stream, targets
        self.cfg, self.aug_cfg, self.normalise, self.corpus = train, augment, normalise, corpus
        self.train_fraction, self.pseudo, self.pseudo_weight = train_fraction, pseudo, pseudo_weight
        self.sets: dict[str, Dataset] = {}
        self.n_gold = 0  # gold training clips before any fraction is taken

    def _augment(self):
        return augmenter(self.stream, self.aug_cfg, self.normalise) if self.aug_cfg.enabled else None

    def setup(self, stage: str | None = None) -> None:
        if self.sets:
            return
        transform = transform_for(self.stream, self.features_dir, self.normalise, self.cfg.video_frame_step)
        max_frames = self.cfg.max_audio_frames if self.stream == "audio" else self.cfg.max_video_frames
        self._finish = (self._augment(), transform[1])  # what a deferred training batch still needs
        def clips(data: store.Split, train: bool, rows: list[int] | None = None) -> ClipDataset:
            return ClipDataset(data, STORE_STREAM[self.stream], self.targets, train=train, max_frames=max_frames,
                               seed=self.cfg.seed, transform=transform, augment=self._augment() if train else None,
                               rows=rows, defer=train and self.aug_cfg.on_device)

        for split in ("train", "val", "test"):
            data = store.read(self.features_dir, self.corpus, split)
            if split == "train":
                self.n_gold = len(data)
            rows = label_subset(data.index, self.train_fraction, self.cfg.seed) if split == "train" else None
            self.sets[split] = clips(data, split == "train", rows)
        if self.pseudo is not None:
            extra = pseudo_splits(self.features_dir, self.pseudo, self.targets, self.pseudo_weight)
            self.sets["train"] = Concat([self.sets["train"], *(clips(d, True, rows) for d, rows in extra)])

    @property
    def n_inputs(self) -> int:
        self.setup()
        x = self.sets["train"][0][0]
        return int(x.shape[-1])

    def _loader(self, split: str) -> DataLoader:
        ds = self.sets[split]
        sampler = EpochSampler(ds, self.cfg.seed) if split == "train" else None
        return EpochLoader(ds, batch_size=self.cfg.batch_size, sampler=sampler, collate_fn=collate,
                           **loader_settings(self.cfg))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        """``augment.on_device``: training batches are augmented and normalised on the device."""
        return finish_on_device(batch, *self._finish) if "rng" in batch else batch

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def loader(self, split: str) -> DataLoader:
        self.setup()
        return self._loader(split)
