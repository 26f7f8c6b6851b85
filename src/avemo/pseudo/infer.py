"""Teacher inference with uncertainty: MC dropout (N stochastic passes, dropout on, batch
statistics frozen), optionally with test-time augmentation (each pass also draws the training
augmentation), over any feature-store split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from avemo import device
from avemo.config import AugmentConfig
from avemo.features import store
from avemo.models.regressor import Regressor, bounded, takes_raw_input
from avemo.train.data import STORE_STREAM, ClipDataset, augmenter, collate, input_normalise, transform_for


def version(run_dir: str | Path) -> str:
    """A model's version: the first 12 hex digits of its weights' sha256."""
    return hashlib.sha256((Path(run_dir) / "model.safetensors").read_bytes()).hexdigest()[:12]


def _dropout_on(model: nn.Module) -> None:
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()


@torch.no_grad()
def mc_dropout(model: Regressor, split: store.Split, stream: str, features_dir: str, normalise: str,
               frame_step: int, passes: int, seed: int, batch_size: int = 64,
               rows: list[int] | None = None, tta: AugmentConfig | None = None,
               dev: torch.device | str = "cpu", loader_kw: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` of the clip predictions over ``passes`` dropout samples, each ``(N, K)``;
    the mean is clamped to the label range, the spread is taken before clamping. One pass is
    the deterministic prediction with std 0. ``rows``: only these rows of the split. ``tta``:
    each pass also applies the stream's training augmentation with these settings (whole clips,
    a fresh seeded draw per pass and clip): test-time augmentation (Wang et al., 2019). The
    model runs on ``dev`` (the dropout masks are drawn there: passes on a GPU differ from the
    CPU's); ``loader_kw``: DataLoader settings (workers, pinned memory; workers restart each pass,
    so each sees its pass's augmentation draw)."""
    norm = input_normalise(normalise, takes_raw_input(model))
    transform = transform_for(stream, features_dir, norm, frame_step)
    ds = ClipDataset(split, STORE_STREAM[stream], [], train=tta is not None, max_frames=0, seed=seed,
                     transform=transform, rows=rows, augment=None if tta is None else augmenter(stream, tta, norm))
    loader = DataLoader(ds, batch_size=batch_size, collate_fn=collate, **{**(loader_kw or {}), "persistent_workers": False})
    model.to(dev)
    if passes > 1:
        _dropout_on(model)
    torch.manual_seed(seed)
    if torch.device(dev).type == "cuda":
        torch.cuda.manual_seed_all(seed)
    samples = []
    try:
        for k in range(passes):
            ds.epoch = k  # the augmentation draw of pass k
            samples.append(torch.cat([model(*device.move((b["x"], b["mask"]), dev))["clip"].cpu() for b in loader]))
    finally:
        model.eval()
    s = torch.stack(samples)  # unclamped: passes that all overshoot the range still disagree
    return bounded(s.mean(0)).numpy(), s.std(0, correction=0).numpy()
