"""``avemo pseudo-experiment``: label efficiency of pseudo-labelling. For every fraction of
the gold train labels in ``pseudo.experiment.fractions`` and each stream: a teacher trained on
that fraction, its pseudo-labels for the unlabelled corpus (and, with
``withheld_as_unlabelled``, the train clips whose gold labels the run hides: the standard
semi-supervised protocol), and a student trained on the same gold clips plus those pseudo-labels, all scored on the test split (mean over
``pseudo.experiment.seeds``). Writes ``label_efficiency`` into ``reports/pseudo.json``; not a
DVC stage, so the default ``dvc repro`` stays short."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.table import Table

from avemo.config import Params
from avemo.features import store
from avemo.pseudo import stage as pseudo_stage
from avemo.train import student
from avemo.train.data import label_subset
from avemo.train.fit import fit_stream
from avemo.train.teacher import init_encoder


def pct(fraction: float) -> str:
    return str(round(fraction * 100))


def one(p: Params, stream: str, fraction: float, seed: int, base: Path) -> dict:
    """Teacher, pseudo-labels and student for one stream, fraction and seed."""
    ps = p.model_copy(update={"train": p.train.model_copy(update={"seed": seed})})
    tag = f"{stream}_{pct(fraction)}pct_seed{seed}"
    t_dir = base / "teacher"
    teacher = fit_stream(ps, stream, t_dir, f"pseudo_exp_teacher_{tag}", progress=False,
                         init_encoder=init_encoder(ps, stream), train_fraction=fraction)
    withheld = None
    gold = store.read(p.features.out_dir, "iemocap", "train").index
    if p.pseudo.experiment.withheld_as_unlabelled and fraction < 1:
        kept = set(label_subset(gold, fraction, seed))
        withheld = [i for i in range(len(gold)) if i not in kept]
    labels = pseudo_stage.label(ps, stream, t_dir, withheld=withheld)
    pseudo_stage.write(labels, base / "pseudo.parquet")
    stud = student.train(ps, stream, labels, t_dir, base / "student", f"pseudo_exp_student_{tag}",
                         train_fraction=fraction, progress=False)
    return {"teacher": teacher["test"], "student": stud["test"],
            "pseudo": str(base / "pseudo.parquet")}


def _mean(runs: list[dict]) -> dict:
    out = {k: float(np.mean([r[k] for r in runs])) for k in runs[0] if isinstance(runs[0][k], float)}
    return {k: round(v, 4) for k, v in out.items()}


def run(p: Params, streams: list[str], progress: Callable[[int, int], None] | None = None) -> dict:
    exp = p.pseudo.experiment
    total, done = len(exp.fractions) * len(streams) * len(exp.seeds), 0
    if progress:
        progress(0, total)
    table: dict[str, dict] = {}
    for f in exp.fractions:
        row = table.setdefault(pct(f), {})
        for stream in streams:
            runs = []
            for seed in exp.seeds:
                runs.append(one(p, stream, f, seed, Path(exp.out_dir) / stream / pct(f) / f"seed{seed}"))
                done += 1
                if progress:
                    progress(done, total)
            row[f"teacher_{stream}"] = {**_mean([r["teacher"] for r in runs]),
                                        "seeds": {str(s): r["teacher"] for s, r in zip(exp.seeds, runs, strict=True)}}
            row[f"student_{stream}"] = {**_mean([r["student"] for r in runs]),
                                        "seeds": {str(s): r["student"] for s, r in zip(exp.seeds, runs, strict=True)}}
            row[f"pseudo_{stream}"] = {"artifacts": [r["pseudo"] for r in runs]}  # scored by report.score_runs
    return table


def merge(previous: dict, new: dict) -> dict:
    """Rows and streams just run replace their earlier values; the rest are kept."""
    out = {k: dict(v) for k, v in previous.items()}
    for f, row in new.items():
        out.setdefault(f, {}).update(row)
    return out


def table(label_efficiency: dict) -> Table:
    t = Table(title="Label efficiency: teacher vs student (test CCC mean; valence / arousal)")
    for c in ("gold labels", "stream", "teacher", "student", "gain", "pseudo-label CCC sel. / rej."):
        t.add_column(c, justify="left" if c in ("gold labels", "stream") else "right")
    for f in sorted(label_efficiency, key=float):
        row = label_efficiency[f]
        for stream in ("audio", "visual"):
            if f"teacher_{stream}" not in row:
                continue
            te, st, ps = row[f"teacher_{stream}"], row[f"student_{stream}"], row[f"pseudo_{stream}"]
            t.add_row(f"{f}%", stream,
                      f"{te['ccc_mean']:.3f} ({te['ccc_valence']:.2f} / {te['ccc_arousal']:.2f})",
                      f"{st['ccc_mean']:.3f} ({st['ccc_valence']:.2f} / {st['ccc_arousal']:.2f})",
                      f"{st['ccc_mean'] - te['ccc_mean']:+.3f}",
                      f"{ps['selected_ccc_mean']:.3f} / {ps['rejected_ccc_mean']:.3f}")
    return t
