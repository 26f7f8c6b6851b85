"""``avemo ssl-experiment``: how much self-supervision buys, per stream and objective.

For every objective in ``pretrain.<stream>.compare``: pretrain on the unlabelled corpus, probe
the frozen encoder (ridge on the gold train split, test scores) beside the same probe on a
random encoder, and fine-tune it with ``pretrain.experiment.label_fraction`` of each training
speaker's gold clips beside the same model trained from scratch on the same clips. For faces
the configured objective is also run with the landmark auxiliary switched the other way, to
tell whether it helps. Writes ``reports/ssl.json``; not a DVC stage, so
the default ``dvc repro`` stays short."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.table import Table

from avemo.config import Params
from avemo.io import write_json
from avemo.ssl import STRONG
from avemo.ssl.pretrain import pretrain as pretrain_stream
from avemo.ssl.pretrain import probe_pair
from avemo.train.fit import fit_stream


def pct_key(kind: str, fraction: float) -> str:
    return f"{kind}_{round(fraction * 100)}pct"


def _finetune(p: Params, stream: str, run_dir: Path, name: str, init: Path | None) -> dict:
    """Test scores with ``label_fraction`` of the labels, averaged over ``experiment.seeds``
    (each seed draws its own label subset and initialisation); per-seed scores under ``seeds``."""
    exp = p.pretrain.experiment
    runs = {}
    for seed in exp.seeds:
        ps = p.model_copy(update={"train": p.train.model_copy(update={"seed": seed})})
        runs[seed] = fit_stream(ps, stream, run_dir / f"seed{seed}", f"{name}_seed{seed}", progress=False,
                                init_encoder=init, train_fraction=exp.label_fraction)["test"]
    mean = {k: float(np.mean([r[k] for r in runs.values()])) for k in next(iter(runs.values()))}
    return {**mean, "seeds": {str(s): r for s, r in runs.items()}}


def _objective(p: Params, stream: str, objective: str, run_dir: Path, landmarks_weight: float | None = None) -> dict:
    summary = pretrain_stream(p, stream, objective, run_dir, f"ssl_{stream}_{objective}", progress=False,
                              landmarks_weight=landmarks_weight)
    weights = run_dir / "encoder.safetensors"
    probes = probe_pair(p, stream, weights, summary["n_inputs"])
    ft = _finetune(p, stream, run_dir / "finetune", f"ssl_{stream}_{objective}_finetune", weights)
    return {**probes,
            pct_key("finetune", p.pretrain.experiment.label_fraction): ft,
            "embedding_std": summary["embedding_std"], "effective_rank": summary["effective_rank"],
            "landmarks_weight": summary["landmarks_weight"], "pretrain_s": summary["seconds"]}


def run_stream(p: Params, stream: str, step: Callable[[], None] = lambda: None) -> dict:
    cfg, exp = getattr(p.pretrain, stream), p.pretrain.experiment
    base = Path(exp.out_dir) / stream
    scratch = _finetune(p, stream, base / "scratch", f"ssl_{stream}_scratch", None)
    step()
    out: dict = {}
    for objective in cfg.compare:
        out[objective] = _objective(p, stream, objective, base / objective)
        out[objective][pct_key("scratch", exp.label_fraction)] = scratch
        step()
    if stream == "visual":  # does the landmark auxiliary help? the configured objective, toggled
        other = 0.0 if cfg.landmarks_weight > 0 else exp.landmarks_weight
        res = _objective(p, stream, cfg.objective, base / f"{cfg.objective}_landmarks_{other:g}", other)
        out["landmarks_ablation"] = {"objective": cfg.objective, "configured": cfg.landmarks_weight,
                                     "toggled": res}
        step()
    return out


def steps(p: Params, streams: list[str]) -> int:
    return sum(1 + len(getattr(p.pretrain, s).compare) + (s == "visual") for s in streams)


def run(p: Params, streams: list[str], progress: Callable[[int, int], None] | None = None) -> dict:
    """Run the experiment for ``streams``; other streams keep their earlier results."""
    path = Path(p.pretrain.experiment.report)
    report = json.loads(path.read_text()) if path.is_file() else {}
    total, done = steps(p, streams), 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    for stream in streams:
        report[stream] = run_stream(p, stream, step)
    report["label_fraction"] = p.pretrain.experiment.label_fraction
    report["seeds"] = p.pretrain.experiment.seeds
    return report


def write(report: dict, p: Params) -> None:
    write_json(p.pretrain.experiment.report, report)


def rows(report: dict) -> list[tuple[str, str, dict]]:
    """(stream, objective, results) for every objective scored."""
    return [(s, o, r) for s in ("audio", "visual") for o, r in report.get(s, {}).items()
            if isinstance(r, dict) and "probe" in r]


def table(report: dict) -> Table:
    f = report.get("label_fraction", 0.1)
    ft, sc = pct_key("finetune", f), pct_key("scratch", f)
    n = len(report.get("seeds", [0]))
    t = Table(title=f"Self-supervised pretraining (test split CCC) — {round(f * 100)}% labels for fine-tuning, "
                    f"mean of {n} seed(s)")
    for c in ("stream", "objective", "probe (strong dim)", "random probe", "gain",
              f"finetune {round(f * 100)}% mean", f"scratch {round(f * 100)}% mean", "gain", "emb. std"):
        t.add_column(c, justify="left" if c in ("stream", "objective") else "right")
    for stream, obj, r in rows(report):
        k = f"ccc_{STRONG[stream]}"
        t.add_row(stream, obj, f"{r['probe'][k]:.3f}", f"{r['random_probe'][k]:.3f}",
                  f"{r['probe'][k] - r['random_probe'][k]:+.3f}", f"{r[ft]['ccc_mean']:.3f}",
                  f"{r[sc]['ccc_mean']:.3f}", f"{r[ft]['ccc_mean'] - r[sc]['ccc_mean']:+.3f}",
                  f"{r['embedding_std']:.4f}")
    abl = report.get("visual", {}).get("landmarks_ablation")
    if abl:
        r = abl["toggled"]
        k = "ccc_valence"
        t.add_row("visual", f"{abl['objective']} landmarks={r['landmarks_weight']:g}", f"{r['probe'][k]:.3f}",
                  f"{r['random_probe'][k]:.3f}", f"{r['probe'][k] - r['random_probe'][k]:+.3f}",
                  f"{r[ft]['ccc_mean']:.3f}", "", "", f"{r['embedding_std']:.4f}")
    return t
