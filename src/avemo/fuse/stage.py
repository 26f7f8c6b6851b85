"""The ``fuse`` stage: the chosen audio and visual models (teacher, student, or the better
one on validation) fused by every method in ``fuse.methods``; each fused model is scored on
val and test with both streams, and on test under every mode of :mod:`avemo.fuse.modes`.

``<fuse.out_dir>/<method>/``: ``model.safetensors`` + ``config.json`` (a
:class:`~avemo.models.fused.FusedModel`: what predict, the service and a release load),
``predictions.parquet`` (val + test, both streams), ``modes.parquet`` (test, one row per
clip and mode), ``history.csv``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from avemo import device, tracking
from avemo.config import Params
from avemo.evaluate import metrics
from avemo.features import store
from avemo.fuse import modes
from avemo.fuse.data import PairDataset, cache, loader
from avemo.fuse.train import attention_kwargs, fit_attention, fit_late
from avemo.io import atomic_path
from avemo.models import fused, regressor
from avemo.models.fusion import STREAMS, LateFusion
from avemo.train.data import input_normalise, transform_for
from avemo.train.fit import prediction_frame

CORPUS = "iemocap"


def sources(p: Params) -> dict[str, Path]:
    """stream -> the run folder of the model fused for it (``fuse.sources``)."""
    out = {}
    for s in STREAMS:
        runs = {"teacher": Path(p.teacher.out_dir) / s, "student": Path(p.student.out_dir) / s}
        choice = p.fuse.sources.get(s, "best")
        cands = [runs[choice]] if choice != "best" else [r for r in runs.values() if (r / "config.json").is_file()]
        missing = [r for r in cands if not (r / "model.safetensors").is_file()]
        if missing or not cands:
            raise FileNotFoundError(f"{(missing or [runs['teacher']])[0]}: no trained {s} model; run "
                                    f"`avemo teacher` / `avemo student` first")
        out[s] = max(cands, key=fused.val_mean)  # best: the higher validation mean CCC (ties: teacher)
    return out


def load_streams(p: Params, dirs: dict[str, Path]) -> tuple[torch.nn.ModuleDict, dict[str, dict]]:
    models, cfgs = {}, {}
    for s, run_dir in dirs.items():
        models[s], cfg = regressor.load(run_dir)
        if cfg["targets"] != list(p.model.targets):
            raise ValueError(f"{run_dir}: trained for {cfg['targets']}, params want {p.model.targets}")
        cfgs[s] = {key: cfg[key] for key in fused.REGRESSOR_KEYS} | {"stats": cfg.get("stats", False),
                                                                      "run_dir": str(run_dir),
                                                                      "val_ccc_mean": cfg["scores"]["val"]["ccc_mean"]}
    return torch.nn.ModuleDict(models).eval(), cfgs


def frame_rate(split: store.Split, step: int) -> float:
    """The model's video input rate: the store's frames per second of clip, over the step."""
    fps = split.lengths("video").numpy() / split.index["duration_s"].to_numpy(dtype=float)
    return float(np.median(fps)) / step


@torch.no_grad()
def predict(model: fused.FusedModel, ds: PairDataset, missing: set[str], batch_size: int,
            dev: torch.device | str = "cpu") -> np.ndarray:
    """Fused clip predictions ``(N, K)`` over ``ds`` on ``dev``, the ``missing`` streams left out."""
    out = []
    model = model.to(dev)
    for batch in loader(ds, batch_size):
        given = {s: None if s in missing else device.move(batch[s], dev) for s in STREAMS}
        out.append(model(**given)["clip"].cpu())
    return torch.cat(out).numpy()


def _frame(split: store.Split, pred: np.ndarray, targets: list[str], **extra) -> pd.DataFrame:
    return prediction_frame(split.index, pred, targets).assign(**extra)


def _write(run_dir: Path, name: str, df: pd.DataFrame) -> Path:
    with atomic_path(run_dir / name) as tmp:
        df.to_parquet(tmp, index=False) if name.endswith(".parquet") else df.to_csv(tmp, index=False)
    return run_dir / name


def run(p: Params, *, progress: bool = True) -> dict[str, dict]:
    """Fit every fusion method; return {method: {"val", "test": scores, "modes": {mode: scores}}}."""
    targets, bs, dev = list(p.model.targets), p.train.batch_size, device.resolve(p.train.accelerator)
    dirs = sources(p)
    streams, stream_cfgs = load_streams(p, dirs)
    transforms = {s: transform_for(s, p.features.out_dir,
                                   input_normalise(p.features.audio.normalise, regressor.takes_raw_input(streams[s])),
                                   p.train.video_frame_step) for s in STREAMS}
    splits = {sp: store.read(p.features.out_dir, CORPUS, sp) for sp in ("train", "val", "test")}
    clean = {sp: PairDataset(d, targets, transforms, seed=p.fuse.seed) for sp, d in splits.items()}
    dims = {s: stream_cfgs[s]["dim"] for s in STREAMS}
    caches = {sp: cache(streams, clean[sp], bs, dev) for sp in (("val", "train") if "attention" in p.fuse.methods else ("val",))}
    results = {}
    lead = tracking.rank_zero()  # a distributed run: every process trains attention fusion, one writes
    for method in p.fuse.methods:
        if not lead and method != "attention":
            continue
        run_dir = Path(p.fuse.out_dir) / method
        if lead:
            shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True, exist_ok=True)
        flat = {"fusion": method, **{f"source.{s}": str(d) for s, d in dirs.items()},
                **tracking.flatten_params({"fuse": p.fuse.model_dump(), "targets": targets})}
        loggers = tracking.loggers(p.tracking, f"fuse_{method}", run_dir, flat)
        history: list[dict] = []
        if method == "late":
            kwargs = {"offsets": p.fuse.offsets}
            fusion = fit_late(LateFusion(dims, len(targets), **kwargs), caches["val"], p.fuse.late, dev)
            fitted = {"weight": fusion.weights()}
        else:
            kwargs = attention_kwargs(p)
            fusion, history = fit_attention(p, caches["train"], caches["val"], dims, run_dir, loggers, progress)
            fitted = {}
            if not tracking.rank_zero():
                continue
        if fusion.offsets is not None:
            fitted["offset"] = fusion.offsets.detach()
        tracking.log_metrics(loggers, {f"{kind}/{s}_{t}": float(w) for kind, table in fitted.items()
                                       for s, row in zip(STREAMS, table, strict=True)
                                       for t, w in zip(targets, row, strict=True)})
        model = fused.FusedModel(dict(streams.items()), fusion).eval()
        preds = pd.concat([_frame(splits[sp], predict(model, clean[sp], set(), bs, dev), targets)
                           for sp in ("val", "test")], ignore_index=True)
        by_mode = pd.concat([
            _frame(splits["test"], predict(model, PairDataset(splits["test"], targets, transforms,
                                                              modes.perturbations(m, p.fuse.modes), p.fuse.seed),
                                           modes.MISSING.get(m, set()), bs, dev), targets, mode=m)
            for m in modes.MODES], ignore_index=True)
        scores = {sp: metrics.score_frame(preds[preds["split"] == sp], targets) for sp in ("val", "test")}
        mode_scores = {m: metrics.score_frame(by_mode[by_mode["mode"] == m], targets) for m in modes.MODES}
        cfg = {"targets": targets, "streams": stream_cfgs, "fusion": {"name": method, "kwargs": kwargs},
               "features": p.features.model_dump(), "video_frame_step": p.train.video_frame_step,
               "video_frame_rate": frame_rate(splits["train"], p.train.video_frame_step),
               "scores": scores, "modes": mode_scores}
        if p.features.audio.normalise != "utterance":  # inference needs the train-split statistics
            mean, std = store.read_stats(p.features.out_dir)
            cfg["audio_stats"] = {"mean": mean.tolist(), "std": std.tolist()}
        fused.save(model.cpu(), cfg, run_dir)
        files = [_write(run_dir, "predictions.parquet", preds), _write(run_dir, "modes.parquet", by_mode),
                 _write(run_dir, "history.csv", pd.DataFrame(history, columns=["epoch"] if not history else None))]
        tracking.log_metrics(loggers, {f"{sp}/{k}": v for sp, d in scores.items() for k, v in d.items() if v is not None}
                             | {f"modes/{m}/{k}": v for m, d in mode_scores.items() for k, v in d.items()
                                if k.startswith("ccc") and v is not None})
        tracking.log_files(loggers, {f.name: f for f in [run_dir / fused.WEIGHTS, run_dir / fused.CONFIG, *files]})
        tracking.finalize(loggers)
        results[method] = {**scores, "modes": mode_scores}
    return results
