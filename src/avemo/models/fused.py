"""Both stream models and a fusion as one module: what the ``fuse`` stage saves, the
inference pipeline loads and a release ships (``model.safetensors`` + ``config.json``; never
a pickle).

``config.json``: ``{"targets": [...], "streams": {stream: {"encoder", "n_inputs", "dim",
"dropout", "pooling", ...}}, "fusion": {"name": ..., "kwargs": {...}}, ...}``; any other keys
(front-end settings, scores) are kept for the caller.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from avemo.io import atomic_path, write_json
from avemo.models.fusion import STREAMS, StreamInputs
from avemo.models.fusion import build as build_fusion
from avemo.models.regressor import Regressor, bounded, from_config

WEIGHTS, CONFIG = "model.safetensors", "config.json"
REGRESSOR_KEYS = ("encoder", "n_inputs", "dim", "dropout", "pooling")


class FusedModel(nn.Module):
    """``forward(audio=(x, mask) | None, visual=(x, mask) | None)`` -> ``{"clip": (B, K) fused,
    "audio": (B, K) | None, "visual": (B, K) | None}`` (each stream's own prediction), all
    clamped to [-1, 1]. A stream passed as None is missing; at least one must be given."""

    def __init__(self, streams: dict[str, Regressor], fusion: nn.Module):
        super().__init__()
        self.streams = nn.ModuleDict(streams)
        self.fusion = fusion

    def stream_inputs(self, audio=None, visual=None) -> tuple[StreamInputs, torch.Tensor]:
        """Each stream's ``(hidden, mask, clip prediction)`` and ``present (B, 2)``."""
        given = {"audio": audio, "visual": visual}
        batch = next((x.shape[0] for x, _ in filter(None, given.values())), None)
        if batch is None:
            raise ValueError("FusedModel needs at least one stream (audio or visual)")
        out: StreamInputs = {}
        for s in STREAMS:
            model = self.streams[s]
            if given[s] is None:
                dim, k = model.encoder.dim, model.head[-1].out_features
                out[s] = (torch.zeros(batch, 1, dim), torch.zeros(batch, 1, dtype=torch.bool), torch.zeros(batch, k))
                continue
            o = model(*given[s])
            out[s] = (o["hidden"], o["frame_mask"], o["clip"])
        present = torch.tensor([[given[s] is not None for s in STREAMS]]).expand(batch, -1)
        return out, present

    def forward(self, audio=None, visual=None) -> dict[str, torch.Tensor | None]:
        inputs, present = self.stream_inputs(audio, visual)
        fused = self.fusion(inputs, present)
        own = {s: bounded(inputs[s][2]) if present[0, k] else None for k, s in enumerate(STREAMS)}
        return {"clip": bounded(fused), **own}


def build(cfg: dict) -> FusedModel:
    k = len(cfg["targets"])
    streams = {s: from_config(cfg["streams"][s], k) for s in STREAMS}
    dims = {s: cfg["streams"][s]["dim"] for s in STREAMS}
    return FusedModel(streams, build_fusion(cfg["fusion"]["name"], dims, k, **cfg["fusion"].get("kwargs", {})))


def save(model: FusedModel, cfg: dict, out_dir: str | Path) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / WEIGHTS) as tmp:
        save_file({n: t.detach().contiguous() for n, t in model.state_dict().items()}, str(tmp))
    write_json(out_dir / CONFIG, cfg)


def load(model_dir: str | Path) -> tuple[FusedModel, dict]:
    """A saved fused model in eval mode and its config; safetensors only, every key must match."""
    model_dir = Path(model_dir)
    for name in (WEIGHTS, CONFIG):
        if not (model_dir / name).is_file():
            raise FileNotFoundError(f"{model_dir / name}: not a fused avemo model folder (run `avemo fuse`)")
    cfg = json.loads((model_dir / CONFIG).read_text())
    model = build(cfg)
    model.load_state_dict(load_file(str(model_dir / WEIGHTS)))
    return model.eval(), cfg


def val_mean(run_dir: str | Path) -> float:
    """The validation mean CCC a training or fuse run recorded in its ``config.json``."""
    return float(json.loads((Path(run_dir) / CONFIG).read_text())["scores"]["val"]["ccc_mean"])
