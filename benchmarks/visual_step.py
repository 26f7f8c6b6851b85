"""How long one training step of the face CNN takes on this machine's CPU: a batch of
``train.batch_size`` clips of ``train.max_video_frames`` grey crops (``features.video.crop_px``),
forward, backward and an AdamW step, as the encoder runs (channels-last weights and input) and
with its frame CNN converted back to the default (NCHW) layout.

    uv run python benchmarks/visual_step.py [--steps 10]

Prints the median seconds per step of each layout (no data needed; random crops).
"""

from __future__ import annotations

import json
import statistics
import time

import torch
import typer

from avemo import config
from avemo.models.encoders import VisualCNN


class Contiguous(torch.nn.Module):
    """NCHW again: undoes the encoder's conversion of its input to channels-last."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous()


def step_seconds(model: VisualCNN, x: torch.Tensor, mask: torch.Tensor, steps: int) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for i in range(steps + 2):  # two warm-up steps
        t0 = time.perf_counter()
        opt.zero_grad()
        h, _ = model(x, mask)
        h.sum().backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(steps: int = 10, params: str = config.DEFAULT_PARAMS) -> None:
    p = config.load(params)
    b, t, px = p.train.batch_size, p.train.max_video_frames, p.features.video.crop_px
    torch.manual_seed(0)
    x, mask = torch.rand(b, t, px, px), torch.ones(b, t, dtype=torch.bool)
    fast = VisualCNN(px, dim=p.model.visual.dim)
    plain = VisualCNN(px, dim=p.model.visual.dim)
    plain.frame = torch.nn.Sequential(Contiguous(), *plain.frame).to(memory_format=torch.contiguous_format)
    out = {"batch": [b, t, px, px], "threads": torch.get_num_threads(),
           "channels_last_s": round(step_seconds(fast, x, mask, steps), 3),
           "nchw_s": round(step_seconds(plain, x, mask, steps), 3)}
    out["speedup"] = round(out["nchw_s"] / out["channels_last_s"], 2)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    typer.run(main)
