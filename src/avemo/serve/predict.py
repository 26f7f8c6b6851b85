"""``avemo predict FILE``: the inference pipeline over one audio or video file, written as a
time series (CSV or JSON) and a plot."""

from __future__ import annotations

import json
import math
from pathlib import Path

from avemo import device
from avemo.config import Params
from avemo.evaluate import plots
from avemo.io import atomic_path
from avemo.models import fused
from avemo.models.fusion import FUSIONS
from avemo.serve.pipeline import Pipeline, Result

FORMATS = ("csv", "json")


def best(p: Params) -> Path:
    """The fused model with the higher validation mean CCC among ``fuse.methods``."""
    dirs = [Path(p.fuse.out_dir) / m for m in p.fuse.methods]
    found = [d for d in dirs if (d / fused.CONFIG).is_file()]
    if not found:
        raise FileNotFoundError(f"{dirs[0]}: no fused model; run `avemo fuse` (or `dvc repro`) first")
    return max(found, key=fused.val_mean)


def model_dir(p: Params, model: str | None = None) -> Path:
    """``predict.model`` (or ``model``): a fuse method, ``best``, or a fused-model folder."""
    choice = model or p.predict.model
    if choice == "best":
        return best(p)
    if choice in FUSIONS:
        return Path(p.fuse.out_dir) / choice
    return Path(choice)


def write(result: Result, out_dir: str | Path, stem: str, fmt: str = "csv") -> dict[str, Path]:
    """``<stem>.<fmt>`` (the series; JSON also holds the summary and notes) and ``<stem>.png``;
    ``stem`` is the input's whole file name (``talk.mp4`` -> ``talk.mp4.csv``)."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: choose one of {FORMATS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = out_dir / f"{stem}.{fmt}"
    with atomic_path(data) as tmp:
        if fmt == "csv":
            result.series.to_csv(tmp, index=False, float_format="%.4f")
        else:
            records = json.loads(result.series.to_json(orient="records", double_precision=4))
            # allow_nan=False: a NaN would be written as a bare NaN token, which is not JSON
            tmp.write_text(json.dumps({"summary": _finite(result.summary), "notes": result.notes, "series": records},
                                      indent=1, allow_nan=False))
    plot = plots.trace(result.series, out_dir / f"{stem}.png", title=Path(result.summary["file"]).name)
    return {"series": data, "plot": plot}


def _finite(summary: dict) -> dict:
    """The summary with any non-finite number as None (JSON null)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in summary.items()}


def run(p: Params, path: str | Path, *, out_dir: str | Path | None = None, fmt: str = "csv",
        model: str | None = None, progress=None, dev: str | None = None) -> tuple[Result, dict[str, Path]]:
    """Predict ``path`` with the fused model ``model`` (default ``predict.model``) on ``dev``
    (an accelerator name; default ``train.accelerator``); write the series and its plot."""
    pipeline = Pipeline.from_dir(model_dir(p, model), p.predict, device.resolve(dev or p.train.accelerator))
    result = pipeline.predict_file(path, progress=progress)
    # the whole file name: talk.wav and talk.flac in one folder must not overwrite each other
    return result, write(result, out_dir or p.predict.out_dir, Path(path).name, fmt)
