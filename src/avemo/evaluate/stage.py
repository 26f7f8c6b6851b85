"""The ``evaluate`` stage: ``reports/metrics.json`` (CCC, PCC, RMSE per dimension for each
model on val and test against the gold labels, beside the oracle where the corpus carries a
hidden truth), training-curve data for DVC plots, PNG plots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from avemo.config import Params
from avemo.data import truth
from avemo.evaluate import metrics, plots
from avemo.io import write_json

DIMS = ("valence", "arousal")


def model_dirs(p: Params) -> dict[str, Path]:
    """Report name -> run folder, for every model the pipeline trains."""
    teacher, student = Path(p.teacher.out_dir), Path(p.student.out_dir)
    return {"audio": teacher / "audio", "visual": teacher / "visual",
            "student_audio": student / "audio", "student_visual": student / "visual",
            **{f"{m}_fusion": Path(p.fuse.out_dir) / m for m in p.fuse.methods}}


def mode_scores(run_dir: Path, dims: list[str]) -> dict | None:
    """A fused model's test scores per evaluation mode (``modes.parquet`` of the fuse stage)."""
    path = run_dir / "modes.parquet"
    if not path.is_file():
        return None
    df = pd.read_parquet(path)
    return {m: metrics.score_frame(part, dims) for m, part in df.groupby("mode", sort=False)}


def oracle(p: Params, test_ids: pd.Series, shown: bool = False) -> dict | None:
    """The ceiling: the hidden latent scored against the gold labels on the test clips; None
    when the corpus carries no hidden truth (a real corpus).
    ``shown``: the latent as each speaker displays it instead (x the speaker's expressiveness,
    clipped to [-1, 1]), the most a model that never saw that speaker can read from voice or face.
    (A quality report: the only place besides corpus reports that reads ``_truth``.)"""
    folder = truth.folder(p.ingest.iemocap)
    if folder is None:
        return None
    latent = pd.read_csv(folder / "utterances.csv")
    gold = pd.read_parquet(Path(p.validate_.out_dir) / "iemocap.parquet")
    df = gold[gold["clip_id"].isin(set(test_ids))].merge(latent, on="clip_id", suffixes=("_gold", "_true"))
    dims = list(p.model.targets)
    true = df[[f"{d}_true" for d in dims]].to_numpy()
    if shown:
        true = (true * df[["expressiveness"]].to_numpy()).clip(-1, 1)
    return metrics.scores(true, df[[f"{d}_gold" for d in dims]].to_numpy(), dims=tuple(dims))


def run(p: Params) -> dict:
    out_plots = Path(p.evaluate.plots_dir)
    if out_plots.exists():
        shutil.rmtree(out_plots)
    out_plots.mkdir(parents=True)
    models: dict[str, dict] = {}
    by_mode: dict[str, dict] = {}
    test_ids = None
    for name, run_dir in model_dirs(p).items():
        pred_path = run_dir / "predictions.parquet"
        if not pred_path.is_file():
            continue
        preds = pd.read_parquet(pred_path)
        dims = [c.removeprefix("pred_") for c in preds.columns if c.startswith("pred_")]
        models[name] = {s: metrics.score_frame(preds[preds["split"] == s], dims) for s in ("val", "test")}
        if (m := mode_scores(run_dir, dims)) is not None:
            by_mode[name] = m
        test = preds[preds["split"] == "test"]
        test_ids = test["clip_id"]
        pred, true = test[[f"pred_{d}" for d in dims]].to_numpy(), test[[f"true_{d}" for d in dims]].to_numpy()
        plots.pred_vs_true(pred, true, dims, out_plots / f"{name}_pred_vs_true.png", f"{name} (test)")
        plots.va_plane(pred[:, :2], true[:, :2], out_plots / f"{name}_va_plane.png", f"{name} (test)")
        hist = pd.read_csv(run_dir / "history.csv")
        if len(hist):  # late fusion has no epochs
            hist.to_csv(out_plots / f"{name}_history.csv", index=False)
            plots.training_curves(hist, out_plots / f"{name}_curves.png")
    if not models:
        raise FileNotFoundError("no model predictions found: run `avemo teacher` first")
    return {"oracle": oracle(p, test_ids), "truth": truth.status({"iemocap": p.ingest.iemocap}),
            "models": models, "modes": by_mode}


def write(report: dict, p: Params) -> None:
    write_json(p.evaluate.report, report)
