"""Teacher inference with uncertainty: MC dropout (N stochastic passes, dropout on, batch
statistics frozen) over any feature-store split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from avemo.features import store
from avemo.models.regressor import Regressor, bounded, takes_raw_input
from avemo.train.data import STORE_STREAM, ClipDataset, collate, input_normalise, transform_for


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
               rows: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` of the clip predictions over ``passes`` dropout samples, each ``(N, K)``;
    the mean is clamped to the label range, the spread is taken before clamping. One pass is
    the deterministic prediction with std 0. ``rows``: only these rows of the split."""
    transform = transform_for(stream, features_dir, input_normalise(normalise, takes_raw_input(model)), frame_step)
    ds = ClipDataset(split, STORE_STREAM[stream], [], train=False, max_frames=0, seed=seed, transform=transform,
                     rows=rows)
    loader = DataLoader(ds, batch_size=batch_size, collate_fn=collate)
    if passes > 1:
        _dropout_on(model)
    torch.manual_seed(seed)
    samples = []
    try:
        for _ in range(passes):
            samples.append(torch.cat([model(b["x"], b["mask"])["clip"] for b in loader]))
    finally:
        model.eval()
    s = torch.stack(samples)  # unclamped: passes that all overshoot the range still disagree
    return bounded(s.mean(0)).numpy(), s.std(0, correction=0).numpy()
