"""Encoder + pooling + a linear valence/arousal(/dominance) head, for clips and frames."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from avemo.models.encoders import build
from avemo.models.pooling import POOLING
from avemo.models.stats import UtteranceStats


class Regressor(nn.Module):
    """``forward(x, mask)`` -> ``{"clip": (B, K), "frames": (B, T', K), "frame_mask": (B, T'),
    "embedding": (B, D), "hidden": (B, T', D)}`` (``hidden``: the encoder's frame embeddings).
    With ``stats`` the input is a raw log-mel: :class:`UtteranceStats` normalises it per
    utterance for the encoder and its statistics, projected, are added to every embedding.
    The head is linear: a tanh saturates when the CCC loss pushes the
    prediction mean away early in training and its gradient dies; callers clamp predictions
    to the labels' [-1, 1] (see :func:`bounded`)."""

    def __init__(self, encoder: str, n_inputs: int, n_targets: int, dim: int = 96,
                 dropout: float = 0.2, pooling: str = "attention", stats: bool = False):
        super().__init__()
        self.stats = UtteranceStats(n_inputs, dim, dropout) if stats else None
        self.encoder = build(encoder, n_inputs, dim, dropout)
        self.pool = POOLING[pooling](dim)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, n_targets))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        side = None
        if self.stats is not None:
            x, side = self.stats(x, mask)
        h, m = self.encoder(x, mask)
        emb = self.pool(h, m)
        if side is not None:
            h, emb = h + side[:, None], emb + side
        return {
            "clip": self.head(emb),
            "frames": self.head(h),
            "frame_mask": m,
            "embedding": emb,
            "hidden": h,
        }


def bounded(pred: torch.Tensor) -> torch.Tensor:
    """Predictions clamped to the label range [-1, 1]."""
    return pred.clamp(-1.0, 1.0)


def from_config(cfg: dict, n_targets: int) -> Regressor:
    """A stream model from its settings (``encoder``, ``n_inputs``, ``dim``, ``dropout``,
    ``pooling``, ``stats``: a training run's ``config.json`` has them)."""
    return Regressor(cfg["encoder"], cfg["n_inputs"], n_targets, cfg["dim"], cfg["dropout"], cfg["pooling"],
                     cfg.get("stats", False))


def takes_raw_input(model: Regressor) -> bool:
    """Does the model normalise its own (audio) input, i.e. want the stored log-mel as is?"""
    return model.stats is not None


def load(run_dir: str | Path) -> tuple[Regressor, dict]:
    """A trained run (``model.safetensors`` + ``config.json``) as a Regressor in eval mode."""
    from safetensors.torch import load_file

    run_dir = Path(run_dir)
    cfg_path, w_path = run_dir / "config.json", run_dir / "model.safetensors"
    if not (cfg_path.is_file() and w_path.is_file()):
        raise FileNotFoundError(f"{run_dir}: no trained model (model.safetensors + config.json); "
                                "run `avemo teacher` first")
    cfg = json.loads(cfg_path.read_text())
    model = from_config(cfg, len(cfg["targets"]))
    model.load_state_dict(load_file(str(w_path)))
    return model.eval(), cfg
