"""The ``pretrain_audio`` / ``pretrain_visual`` stages: self-supervised pretraining of one
stream's encoder on its unlabelled corpus, judged by a frozen-encoder linear probe.

- audio: TED-LIUM-shaped segments (``features/tedlium/unlabelled``), two cropped and augmented
  views of each segment;
- visual: FaceSynthetics-shaped images (``features/facesynthetics/unlabelled``), two zoomed,
  shifted, rotated, occluded, relit and blurred views of each face; optionally a landmark
  regression auxiliary on the 70 FaceSynthetics landmarks (``landmarks_weight`` > 0).

:func:`pretrain` trains and writes ``<run_dir>/encoder.safetensors``, ``config.json`` and
``history.csv`` (tracked in MLflow and Comet like every training run); :func:`run` is the
stage: pretrain with the configured objective, then probe it beside a random encoder."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import RichProgressBar

from avemo import device, tracking
from avemo.config import Params
from avemo.console import quiet_third_party
from avemo.features import store
from avemo.io import atomic_path, write_json
from avemo.models.encoders import build as build_encoder
from avemo.ssl import STRONG, probe, views
from avemo.ssl.data import TwoViewDataset, collate_pairs
from avemo.ssl.module import PretrainModule
from avemo.train.data import EpochLoader, EpochSampler, loader_settings, transform_for
from avemo.train.fit import History, load_encoder, trainer_settings

CORPUS = {"audio": "tedlium", "visual": "facesynthetics"}
SPLIT = "unlabelled"


def encoder_path(p: Params, stream: str) -> Path:
    """Where the stage leaves the pretrained encoder of ``stream``."""
    return Path(p.pretrain.out_dir) / stream / "encoder.safetensors"


def report_path(p: Params, stream: str) -> Path:
    return Path(p.pretrain.reports_dir) / f"pretrain_{stream}.json"


def _dataset(p: Params, stream: str, data: store.Split, landmarks_weight: float) -> TwoViewDataset:
    cfg = getattr(p.pretrain, stream)
    make = views.build(stream, p.augment, crop_frames=cfg.crop_frames, scale=tuple(cfg.scale),
                       translate=cfg.translate)
    transform = transform_for(stream, p.features.out_dir, p.features.audio.normalise)
    landmarks = data.tensors.get("landmarks") if stream == "visual" and landmarks_weight > 0 else None
    if landmarks_weight > 0 and landmarks is None:
        raise ValueError(f"pretrain.{stream}.landmarks_weight > 0 but the {CORPUS[stream]} features hold no "
                         "landmarks (visual only; rerun `avemo features`)")
    return TwoViewDataset(data, stream, make, seed=p.train.seed, transform=transform, landmarks=landmarks)


def _trainer(p: Params, epochs: int, loggers: list, history: History, progress: bool) -> pl.Trainer:
    quiet_third_party()
    callbacks = [history] + ([RichProgressBar(leave=False)] if progress else [])
    return pl.Trainer(max_epochs=epochs, callbacks=callbacks, logger=loggers or False, enable_checkpointing=False,
                      **trainer_settings(p, progress))


def pretrain(p: Params, stream: str, objective: str, run_dir: str | Path, run_name: str, *,
             landmarks_weight: float | None = None, progress: bool = True) -> dict:
    """Pretrain ``stream``'s encoder with ``objective``; write the run folder; return a summary
    (objective, seconds, final ``embedding_std`` and ``effective_rank``)."""
    cfg, enc = getattr(p.pretrain, stream), getattr(p.model, stream)
    lw = cfg.landmarks_weight if landmarks_weight is None else landmarks_weight
    run_dir = Path(run_dir)
    if tracking.rank_zero():  # DDP: the other processes never write
        shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(p.train.seed, workers=True, verbose=False)
    data = store.read(p.features.out_dir, CORPUS[stream], SPLIT)
    ds = _dataset(p, stream, data, lw)
    if len(ds) < 2:
        raise ValueError(f"{CORPUS[stream]}: {len(ds)} unlabelled item(s); self-supervised pretraining needs more")
    loader = EpochLoader(ds, batch_size=min(cfg.batch_size, len(ds)), sampler=EpochSampler(ds, p.train.seed),
                        collate_fn=collate_pairs, drop_last=True, **loader_settings(p.train))
    n_inputs = int(ds[0][0].shape[-1])
    module = PretrainModule(enc.name, n_inputs, enc.dim, objective, lr=cfg.lr, weight_decay=cfg.weight_decay,
                            dropout=enc.dropout, max_epochs=cfg.epochs, seed=p.train.seed,
                            objective_kw=dict(p.pretrain.objectives.get(objective, {})),
                            landmarks_weight=lw)
    flat = {"stream": stream, "stage": "pretrain", "objective": objective, "corpus": CORPUS[stream],
            **{f"pretrain.{k}": v for k, v in cfg.model_dump().items() if k not in ("objective", "compare")},
            "pretrain.landmarks_weight": lw, **{f"model.{k}": v for k, v in enc.model_dump().items()},
            **{f"objective.{k}": v for k, v in p.pretrain.objectives.get(objective, {}).items()}}
    loggers = tracking.loggers(p.tracking, run_name, run_dir, flat)
    history = History()
    trainer = _trainer(p, cfg.epochs, loggers, history, progress)
    t0 = time.perf_counter()
    trainer.fit(module, loader)
    seconds = time.perf_counter() - t0
    last = history.rows[-1] if history.rows else {}
    summary = {"objective": objective, "epochs": cfg.epochs, "items": len(ds), "n_inputs": n_inputs,
               "landmarks_weight": lw,
               "seconds": round(seconds, 1),
               "embedding_std": round(float(last.get("train_embedding_std", float("nan"))), 4),
               "effective_rank": round(float(last.get("train_effective_rank", float("nan"))), 2)}
    if not trainer.is_global_zero:
        return summary
    weights = run_dir / "encoder.safetensors"
    with atomic_path(weights) as tmp:
        module.save_encoder(tmp)
    write_json(run_dir / "config.json", {"stream": stream, "encoder": enc.name, "dim": enc.dim,
                                         "dropout": enc.dropout, **summary})
    with atomic_path(run_dir / "history.csv") as tmp:
        pd.DataFrame(history.rows).to_csv(tmp, index=False)
    tracking.log_files(loggers, {"weights": weights, "config.json": run_dir / "config.json",
                                 "history.csv": run_dir / "history.csv"})
    tracking.finalize(loggers)
    return summary


def random_encoder(p: Params, stream: str, n_inputs: int, seed: int) -> torch.nn.Module:
    """The baseline: the same encoder, randomly initialised (seeded)."""
    enc = getattr(p.model, stream)
    torch.manual_seed(seed)
    return build_encoder(enc.name, n_inputs, enc.dim, enc.dropout)


def probe_pair(p: Params, stream: str, weights: str | Path, n_inputs: int) -> dict:
    """``{"probe", "random_probe", "probe_plain", "random_probe_plain"}``: the linear probe of
    the encoder in ``weights`` and of a random one (IEMOCAP-shaped gold splits: ridge fitted on
    train, strength on val, test scores); ``probe`` uses ``pretrain.probe`` as protocol
    (see :mod:`avemo.ssl.probe`), ``*_plain`` the other one."""
    enc = getattr(p.model, stream)
    kw = {"normalise": p.features.audio.normalise, "dims": tuple(p.model.targets),
          "frame_step": p.train.video_frame_step if stream == "visual" else 1,
          "dev": device.resolve(p.train.accelerator)}
    trained = build_encoder(enc.name, n_inputs, enc.dim, enc.dropout)
    load_encoder(trained, weights)
    mine = probe.probe(trained, stream, p.features.out_dir, **kw)
    rand = probe.probe(random_encoder(p, stream, n_inputs, p.train.seed), stream, p.features.out_dir, **kw)
    other = next(x for x in probe.PROTOCOLS if x != p.pretrain.probe)
    return {"probe_protocol": p.pretrain.probe, "probe": mine[p.pretrain.probe], "random_probe": rand[p.pretrain.probe],
            f"probe_{other}": mine[other], f"random_probe_{other}": rand[other]}


def run(p: Params, stream: str, *, progress: bool = True) -> dict:
    """The stage: pretrain ``stream`` with ``pretrain.<stream>.objective``, probe, report."""
    cfg = getattr(p.pretrain, stream)
    run_dir = Path(p.pretrain.out_dir) / stream
    summary = pretrain(p, stream, cfg.objective, run_dir, f"pretrain_{stream}_{cfg.objective}", progress=progress)
    if not tracking.rank_zero():  # a distributed run: rank zero probes and reports
        return summary
    report = {**summary, **probe_pair(p, stream, run_dir / "encoder.safetensors", summary["n_inputs"])}
    strong = STRONG[stream]
    report["probe_gain_" + strong] = round(report["probe"][f"ccc_{strong}"] - report["random_probe"][f"ccc_{strong}"], 4)
    write_json(report_path(p, stream), report)
    return report

