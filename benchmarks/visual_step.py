"""How long one training step of the face CNN takes on this machine's CPU: a batch of
``train.batch_size`` clips of ``train.max_video_frames`` grey crops (``features.video.crop_px``),
forward, backward and an AdamW step. It times the encoder as it is (NCHW) and the same encoder
run channels-last (NHWC weights and input), the faster layout that the project measured and
left off (README, Features, models and training).

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


class ChannelsLast(torch.nn.Module):
    """Converts the frame CNN's input to channels-last, as its weights are."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last)


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
    plain = VisualCNN(px, dim=p.model.visual.dim)
    nhwc = VisualCNN(px, dim=p.model.visual.dim)
    nhwc.frame = torch.nn.Sequential(ChannelsLast(), *nhwc.frame).to(memory_format=torch.channels_last)
    out = {"batch": [b, t, px, px], "threads": torch.get_num_threads(),
           "nchw_s": round(step_seconds(plain, x, mask, steps), 3),
           "channels_last_s": round(step_seconds(nhwc, x, mask, steps), 3)}
    out["channels_last_speedup"] = round(out["nchw_s"] / out["channels_last_s"], 2)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    typer.run(main)
