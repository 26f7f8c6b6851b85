"""Train one stream end to end: seed, data, model, Lightning trainer (early stopping on
validation CCC, checkpoints that resume), tracking, then weights, predictions and history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import (
    BackboneFinetuning,
    Callback,
    EarlyStopping,
    ModelCheckpoint,
    RichProgressBar,
)
from safetensors.torch import load_file, save_file

from avemo import device, tracking
from avemo.config import Params
from avemo.console import quiet_third_party
from avemo.evaluate import metrics, plots
from avemo.io import atomic_path, write_json
from avemo.train.data import EmotionDataModule, input_normalise
from avemo.train.module import EmotionModule

MONITOR = "val/ccc_mean"


class History(Callback):
    """Per-epoch train/val losses and validation scores, for curves and DVC plots."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        m = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(("train/", "val/"))}
        self.rows.append({"epoch": trainer.current_epoch, **{k.replace("/", "_"): v for k, v in m.items()}})

    def state_dict(self) -> dict:
        return {"rows": self.rows}

    def load_state_dict(self, state: dict) -> None:
        self.rows = list(state["rows"])


def trainer_settings(p: Params, progress: bool) -> dict:
    """The ``pl.Trainer`` arguments every training run takes from params (hardware, precision,
    strategy, determinism) plus the quiet console defaults."""
    t = p.train
    return dict(accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, precision=t.precision,
                strategy=t.strategy, deterministic=device.deterministic(t.deterministic, t.accelerator),
                log_every_n_steps=1, enable_model_summary=False, enable_progress_bar=progress)


def build_trainer(p: Params, run_dir: Path, loggers: list, extra: list[Callback] | None = None,
                  progress: bool = True, val_every: int = 1) -> tuple[pl.Trainer, ModelCheckpoint, History]:
    quiet_third_party()
    t = p.train
    ckpt = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="best", monitor=MONITOR, mode="max",
                           save_last=True, save_top_k=1)
    history = History()
    callbacks: list[Callback] = [EarlyStopping(MONITOR, mode="max", patience=t.patience), ckpt, history]
    if progress:
        callbacks.append(RichProgressBar(leave=False))
    trainer = pl.Trainer(
        max_epochs=t.max_epochs, callbacks=callbacks + (extra or []), logger=loggers or False,
        default_root_dir=run_dir, num_sanity_val_steps=0, check_val_every_n_epoch=val_every,
        **trainer_settings(p, progress),
    )
    return trainer, ckpt, history


MIN_LR_MULT = 0.1


def student_lr_mult(train_fraction: float) -> float:
    """The learning-rate factor of a student whose teacher saw ``train_fraction`` of the gold
    train labels: ``1 - train_fraction``, at least ``MIN_LR_MULT``. A teacher that saw them all
    has fit the gold data; its student, adding out-of-domain pseudo-labels, only fine-tunes (at
    0.3x and 1x the 100 % audio student lost 0.021 and 0.045 test CCC to its teacher over three
    seeds, at 0.1x 0.007). A teacher trained on a tenth of them is weak, and its student relearns
    on the other nine tenths' pseudo-labels at nearly the full rate (10 % audio: +0.037 at 1x,
    +0.014 at 0.1x)."""
    return max(MIN_LR_MULT, 1.0 - train_fraction)


def epoch_scale(train_fraction: float) -> int:
    """How many epochs over a training set ``train_fraction`` the size of the gold train split
    make one epoch's worth of optimisation steps: label-efficiency runs train as many steps as a
    full run (and validate, and count early-stopping patience, once per such block), not ten
    times fewer. Sets at least as large as the gold split keep one epoch per epoch."""
    return max(1, round(1 / train_fraction))


def lp_ft(unfreeze_at: int, lr_mult: float) -> BackboneFinetuning:
    """LP-FT (Kumar et al., 2022): the pretrained encoder stays frozen while the new pooling
    and head fit its features, then fine-tunes at ``lr_mult`` x the head's learning rate; fine-
    tuning from the start lets a random head's gradients distort the pretrained features."""
    return BackboneFinetuning(unfreeze_backbone_at_epoch=unfreeze_at, lambda_func=lambda _: 1.0,
                              backbone_initial_ratio_lr=lr_mult, should_align=True, train_bn=False)


def load_encoder(encoder: torch.nn.Module, path: str | Path) -> None:
    """Load encoder weights from a safetensors file (never a pickle); every key must match."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no pretrained encoder; run `avemo pretrain-<stream>` first "
                                "or leave the stream out of teacher.init_from_pretrained")
    try:
        encoder.load_state_dict(load_file(str(path)))
    except RuntimeError as err:
        raise ValueError(f"{path}: does not fit the encoder in params (model.<stream>: name, dim): {err}") from None


def predict(trainer: pl.Trainer, module: EmotionModule, dm: EmotionDataModule, split: str) -> pd.DataFrame:
    """Clip predictions beside the truth for one split, every clip once. Under a distributed
    strategy ``trainer.predict`` would give each process its shard only (padded with repeats),
    so there the calling process (rank zero) runs the whole split itself."""
    if trainer.world_size > 1:
        batches = _predict_here(module, dm.loader(split), trainer.strategy.root_device)
    else:
        batches = trainer.predict(module, dataloaders=dm.loader(split))
    pred = torch.cat([b["clip"] for b in batches]).float().numpy()
    order = torch.cat([b["index"] for b in batches]).numpy()
    return prediction_frame(dm.sets[split].split.index.iloc[order], pred, module.targets)


def _predict_here(module: EmotionModule, loader, device: torch.device) -> list[dict]:
    """``predict_step`` over a whole loader in this process, on ``device``."""
    from lightning_utilities.core.apply_func import apply_to_collection

    module = module.to(device).eval()
    out = []
    with torch.no_grad():
        for i, batch in enumerate(loader):
            batch = apply_to_collection(batch, torch.Tensor, lambda t: t.to(device))
            out.append(apply_to_collection(module.predict_step(batch, i), torch.Tensor, lambda t: t.cpu()))
    return out


def prediction_frame(index: pd.DataFrame, pred, targets: list[str]) -> pd.DataFrame:
    """``clip_id, speaker, split, true_<t>, pred_<t>`` for store rows ``index`` and ``pred``
    ``(rows, targets)`` in the same order: what ``predictions.parquet`` holds."""
    idx = index.reset_index(drop=True)
    out = idx[["clip_id", "speaker", "split"]].copy()
    for k, name in enumerate(targets):
        out[f"true_{name}"] = idx[name].to_numpy()
        out[f"pred_{name}"] = pred[:, k]
    return out


def fit_stream(p: Params, stream: str, run_dir: Path, run_name: str, *, resume: bool = False,
               extra_callbacks: list[Callback] | None = None, progress: bool = True,
               init_encoder: str | Path | None = None, train_fraction: float = 1.0,
               init_model: str | Path | None = None, pseudo: pd.DataFrame | None = None,
               pseudo_weight: float = 1.0, lr_mult: float | str = 1.0) -> dict:
    """Train ``stream`` ('audio' | 'visual') on the gold splits; write into ``run_dir``:
    model.safetensors, config.json, predictions.parquet, history.csv, plots; return scores.

    ``init_encoder``: encoder weights (safetensors, e.g. from self-supervised pretraining) to
    start from instead of a random initialisation. ``train_fraction``: keep that fraction of
    each training speaker's labelled clips (label-efficiency experiments). ``init_model``: a
    trained run folder whose whole model (encoder, pooling, head) to start from. ``pseudo``: a
    pseudo_label artifact whose selected items join the training set (students). ``lr_mult``:
    train at this x ``train.lr`` (the stream's);
    ``"unlabelled_share"``: ``1 - train_fraction``, at least ``MIN_LR_MULT`` (:func:`student_lr_mult`)."""
    p = p.model_copy(update={"train": p.train.for_stream(stream)})  # this stream's lr and max_epochs
    run_dir = Path(run_dir)
    if not resume and tracking.rank_zero():  # DDP: the other processes never write
        shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(p.train.seed, workers=True, verbose=False)
    enc = getattr(p.model, stream)
    dm = EmotionDataModule(p.features.out_dir, stream, p.model.targets, p.train, p.augment,
                           normalise=input_normalise(p.features.audio.normalise, enc.stats),
                           train_fraction=train_fraction,
                           pseudo=pseudo, pseudo_weight=pseudo_weight)
    dm.setup()
    scale = epoch_scale(len(dm.sets["train"]) / dm.n_gold)
    mult = student_lr_mult(train_fraction) if lr_mult == "unlabelled_share" else float(lr_mult)
    if scale > 1 or mult != 1.0:
        p = p.model_copy(update={"train": p.train.model_copy(update={"max_epochs": p.train.max_epochs * scale,
                                                                     "lr": p.train.lr * mult})})
    module = EmotionModule(enc.name, dm.n_inputs, p.model.targets, enc.dim, enc.dropout, enc.pooling,
                           p.train.lr, p.train.weight_decay, p.train.max_epochs, p.train.seed,
                           p.train.mse_weight, p.train.pretrained_lr_mult if init_encoder is not None else 1.0,
                           enc.stats)
    if init_encoder is not None:
        load_encoder(module.model.encoder, init_encoder)
    if init_model is not None:
        module.model.load_state_dict(load_file(str(Path(init_model) / "model.safetensors")))
    flat = {"stream": stream, **{f"model.{k}": v for k, v in enc.model_dump().items()},
            **{f"train.{k}": v for k, v in p.train.model_dump().items()},
            "augment.enabled": p.augment.enabled, "features.normalise": p.features.audio.normalise,
            "init_encoder": str(init_encoder) if init_encoder else "random", "train_fraction": train_fraction,
            "init_model": str(init_model) if init_model else "none", "lr_mult": mult}
    if pseudo is not None:
        flat.update({"pseudo.teacher_version": str(pseudo["teacher_version"].iloc[0]),
                     "pseudo.items": int(pseudo["selected"].sum()), "pseudo.weight": pseudo_weight})
    loggers = tracking.loggers(p.tracking, run_name, run_dir, flat)
    extra = list(extra_callbacks or [])
    freeze = p.train.pretrained_freeze_epochs.get(stream, 0)
    if init_encoder is not None and freeze > 0:
        extra.append(lp_ft(freeze * scale, p.train.pretrained_lr_mult))
    trainer, ckpt, history = build_trainer(p, run_dir, loggers, extra, progress, val_every=scale)
    last = run_dir / "checkpoints" / "last.ckpt"
    trainer.fit(module, dm, ckpt_path=str(last) if resume and last.is_file() else None)

    # scoring and writing happen once, in rank zero, on whole splits; the other processes of a
    # distributed run get the same scores back
    scores = None
    if trainer.is_global_zero:
        best = EmotionModule.load_from_checkpoint(ckpt.best_model_path, weights_only=False)
        preds = pd.concat([predict(trainer, best, dm, s) for s in ("val", "test")], ignore_index=True)
        scores = {s: metrics.score_frame(preds[preds["split"] == s], p.model.targets) for s in ("val", "test")}
        files = _write_outputs(run_dir, best, stream, dm.n_inputs, p, preds, history.rows, scores)
        tracking.log_metrics(loggers, {f"{s}/{k}": v for s, d in scores.items() for k, v in d.items()})
        tracking.log_files(loggers, {path.name: path for path in files.values()})
    if trainer.world_size > 1:
        scores = trainer.strategy.broadcast(scores, src=0)
    tracking.finalize(loggers)
    return scores


def _write_outputs(run_dir: Path, best: EmotionModule, stream: str, n_inputs: int, p: Params,
                   preds: pd.DataFrame, history: list[dict], scores: dict) -> dict[str, Path]:
    enc = getattr(p.model, stream)
    files = {
        "weights": run_dir / "model.safetensors", "config": run_dir / "config.json",
        "predictions": run_dir / "predictions.parquet", "history": run_dir / "history.csv",
        "pred_vs_true": run_dir / "pred_vs_true.png", "curves": run_dir / "curves.png",
    }
    with atomic_path(files["weights"]) as tmp:
        save_file({k: v.contiguous() for k, v in best.model.state_dict().items()}, str(tmp))
    write_json(files["config"], {
        "stream": stream, "encoder": enc.name, "n_inputs": n_inputs, "dim": enc.dim,
        "dropout": enc.dropout, "pooling": enc.pooling, "stats": enc.stats, "targets": p.model.targets,
        "features": p.features.model_dump(), "scores": scores,
    })
    with atomic_path(files["predictions"]) as tmp:
        preds.to_parquet(tmp, index=False)
    hist = pd.DataFrame(history)
    with atomic_path(files["history"]) as tmp:
        hist.to_csv(tmp, index=False)
    test = preds[preds["split"] == "test"]
    plots.pred_vs_true(test[[f"pred_{d}" for d in p.model.targets]].to_numpy(),
                       test[[f"true_{d}" for d in p.model.targets]].to_numpy(),
                       p.model.targets, files["pred_vs_true"], f"{run_dir.name}: test")
    plots.training_curves(hist, files["curves"])
    return files


def load_config(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / "config.json").read_text())
