"""Utterance statistics vs added noise: the audio model with and without ``model.audio.stats``,
trained with different noise augmentation, scored on the test split clean and with white noise
at 20, 10 and 0 dB SNR (the fuse stage's ``noisy_audio`` perturbation).

    uv run python benchmarks/audio_stats_noise.py [--seeds 42 --seeds 7]

Needs `dvc repro features pretrain_audio` first. Trains 4 variants x seeds audio models
(about 40 s each on 2 cores) under ``--out`` and writes ``reports/audio_stats_noise.json``:
test CCC (mean, valence, arousal) per variant, seed and condition, and the mean over seeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer

from avemo import config
from avemo.evaluate import metrics
from avemo.features import store
from avemo.fuse.modes import noisy_audio
from avemo.io import write_json
from avemo.models import regressor
from avemo.models.batch import pad
from avemo.train.data import input_normalise, transform_for
from avemo.train.fit import fit_stream
from avemo.train.teacher import init_encoder

# name -> (model.audio.stats, augment.audio updates)
VARIANTS = {
    "log-mel only (default)": (False, {}),
    "stats, no noise augmentation": (True, {"p_noise": 0.0}),
    "stats, noise 10-30 dB": (True, {}),
    "stats, noise 0-30 dB": (True, {"noise_snr_db": [0.0, 30.0]}),
}
SNRS = (None, 20.0, 10.0, 0.0)


def variant(p: config.Params, stats: bool, augment: dict, seed: int) -> config.Params:
    audio = p.model.audio.model_copy(update={"stats": stats})
    aug = p.augment.model_copy(update={"audio": p.augment.audio.model_copy(update=augment)})
    return p.model_copy(update={"model": p.model.model_copy(update={"audio": audio}), "augment": aug,
                                "train": p.train.model_copy(update={"seed": seed})})


@torch.no_grad()
def score(run_dir: Path, p: config.Params, snr: float | None) -> dict:
    model, _ = regressor.load(run_dir)
    data = store.read(p.features.out_dir, "iemocap", "test")
    pre, post = transform_for("audio", p.features.out_dir,
                              input_normalise(p.features.audio.normalise, regressor.takes_raw_input(model)))
    perturb = None if snr is None else noisy_audio(snr)
    preds = []
    for lo in range(0, len(data), 64):
        xs = []
        for i in range(lo, min(lo + 64, len(data))):
            x = pre(data.get("audio", i))
            xs.append(post(x if perturb is None else perturb(x, torch.Generator().manual_seed(i))))
        x, mask = pad(xs)
        preds.append(regressor.bounded(model(x, mask)["clip"]))
    s = metrics.scores(torch.cat(preds).numpy(), data.index[["valence", "arousal"]].to_numpy(float))
    return {k: s[f"ccc_{k}"] for k in ("mean", "valence", "arousal")}


def main(seeds: Annotated[list[int] | None, typer.Option()] = None, params: Path = Path(config.DEFAULT_PARAMS),
         out: Path = Path("models/audio_stats_noise"), report: Path = Path("reports/audio_stats_noise.json")) -> None:
    seeds = seeds or [42, 7]
    base = config.load(params)
    base = base.model_copy(update={"tracking": base.tracking.model_copy(update={
        "mlflow_uri": f"sqlite:///{out}/mlflow.db", "artifact_dir": str(out / "mlruns")})})
    out.mkdir(parents=True, exist_ok=True)
    figures: dict = {}
    for k, (name, (stats, augment)) in enumerate(VARIANTS.items()):
        runs = {}
        for seed in seeds:
            p = variant(base, stats, augment, seed)
            run_dir = out / f"variant{k}_seed{seed}"
            fit_stream(p, "audio", run_dir, f"stats_noise_{seed}", progress=False, init_encoder=init_encoder(p, "audio"))
            runs[str(seed)] = {"clean" if snr is None else f"{snr:g}dB": score(run_dir, p, snr) for snr in SNRS}
        mean = {c: {k: round(float(np.mean([r[c][k] for r in runs.values()])), 4) for k in ("mean", "valence", "arousal")}
                for c in next(iter(runs.values()))}
        figures[name] = {"mean": mean, "seeds": runs}
        print(name, json.dumps(mean))
    write_json(report, figures)


if __name__ == "__main__":
    typer.run(main)
