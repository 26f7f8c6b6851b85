"""``avemo pseudo-experiment``: label efficiency of pseudo-labelling. For every fraction of
the gold train labels in ``pseudo.experiment.fractions`` and each stream: a teacher trained on
that fraction, its pseudo-labels for the unlabelled corpus (and, with
``withheld_as_unlabelled``, the train clips whose gold labels the run hides: the standard
semi-supervised protocol), and a student trained on the same gold clips plus those pseudo-labels, all scored on the test split (mean over
``pseudo.experiment.seeds``). Writes ``label_efficiency`` into ``reports/pseudo.json``; not a
DVC stage, so the default ``dvc repro`` stays short."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from rich.table import Table

from avemo.config import Params
from avemo.features import store
from avemo.pseudo import stage as pseudo_stage
from avemo.tables import markdown_table
from avemo.train import student
from avemo.train.data import label_subset
from avemo.train.fit import fit_stream
from avemo.train.teacher import init_encoder


def pct(fraction: float) -> str:
    return str(round(fraction * 100))


def one(p: Params, streams: list[str], fraction: float, seed: int, base: Callable[[str], Path],
        progress: Callable[[], None] | None = None) -> dict[str, dict]:
    """Teachers, pseudo-labels and students of ``streams`` for one fraction and seed. Every
    teacher is trained first: on the withheld (audio-visual) clips each stream's pseudo-labels
    may come from another stream's teacher (``pseudo.cross_modal``)."""
    ps = p.model_copy(update={"train": p.train.model_copy(update={"seed": seed})})
    tag = {s: f"{s}_{pct(fraction)}pct_seed{seed}" for s in streams}
    t_dirs = {s: base(s) / "teacher" for s in streams}
    teachers = {s: fit_stream(ps, s, t_dirs[s], f"pseudo_exp_teacher_{tag[s]}", progress=False,
                              init_encoder=init_encoder(ps, s), train_fraction=fraction) for s in streams}
    withheld = None
    gold = store.read(p.features.out_dir, "iemocap", "train").index
    if p.pseudo.experiment.withheld_as_unlabelled and fraction < 1:
        kept = set(label_subset(gold, fraction, seed))
        withheld = [i for i in range(len(gold)) if i not in kept]
    out = {}
    for s in streams:
        labels = pseudo_stage.label(ps, s, t_dirs[s], withheld=withheld,
                                    partners={o: t_dirs[o] for o in streams if o != s})
        pseudo_stage.write(labels, base(s) / "pseudo.parquet")
        stud = student.train(ps, s, labels, t_dirs[s], base(s) / "student", f"pseudo_exp_student_{tag[s]}",
                             train_fraction=fraction, progress=False)
        out[s] = {"teacher": teachers[s]["test"], "student": stud["test"], "pseudo": str(base(s) / "pseudo.parquet")}
        if progress:
            progress()
    return out


def run_dir(out_dir: str, fraction: float, seed: int, stream: str) -> Path:
    return Path(out_dir) / stream / pct(fraction) / f"seed{seed}"


def _mean(runs: list[dict]) -> dict:
    out = {k: float(np.mean([r[k] for r in runs])) for k in runs[0] if isinstance(runs[0][k], float)}
    return {k: round(v, 4) for k, v in out.items()}


def run(p: Params, streams: list[str], progress: Callable[[int, int], None] | None = None) -> dict:
    exp = p.pseudo.experiment
    total, done = len(exp.fractions) * len(streams) * len(exp.seeds), 0
    if progress:
        progress(0, total)

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    table: dict[str, dict] = {}
    for f in exp.fractions:
        row = table.setdefault(pct(f), {})
        runs = {seed: one(p, streams, f, seed, partial(run_dir, exp.out_dir, f, seed), step) for seed in exp.seeds}
        for stream in streams:
            for role in ("teacher", "student"):
                scores = [runs[seed][stream][role] for seed in exp.seeds]
                row[f"{role}_{stream}"] = {**_mean(scores), "seeds": dict(zip(map(str, exp.seeds), scores, strict=True))}
            # scored against the hidden truth by report.score_runs
            row[f"pseudo_{stream}"] = {"artifacts": [runs[seed][stream]["pseudo"] for seed in exp.seeds]}
    return table


def merge(previous: dict, new: dict) -> dict:
    """Rows and streams just run replace their earlier values; the rest are kept."""
    out = {k: dict(v) for k, v in previous.items()}
    for f, row in new.items():
        out.setdefault(f, {}).update(row)
    return out


def _rows(label_efficiency: dict):
    """Per fraction and stream: the formatted cells both tables show, plus the seeds and the
    per-seed gains."""
    def score(s: dict) -> str:
        return f"{s['ccc_mean']:.3f} ({s['ccc_valence']:.2f} / {s['ccc_arousal']:.2f})"

    for f in sorted(label_efficiency, key=float):
        row = label_efficiency[f]
        for stream in ("audio", "visual"):
            if f"teacher_{stream}" not in row:
                continue
            te, st = row[f"teacher_{stream}"], row[f"student_{stream}"]
            seeds = list(te.get("seeds", {}))
            per = ", ".join(f"{st['seeds'][s]['ccc_mean'] - te['seeds'][s]['ccc_mean']:+.3f}" for s in seeds)
            yield (f, stream, score(te), score(st), f"{st['ccc_mean'] - te['ccc_mean']:+.3f}",
                   _sel_rej(row[f"pseudo_{stream}"]), seeds, per)


def table(label_efficiency: dict) -> Table:
    t = Table(title="Label efficiency: teacher vs student (test CCC mean; valence / arousal)")
    for c in ("gold labels", "stream", "teacher", "student", "gain", "pseudo-label CCC sel. / rej. (dims labelled)"):
        t.add_column(c, justify="left" if c in ("gold labels", "stream") else "right")
    for f, stream, te, st, gain, sel_rej, _, _ in _rows(label_efficiency):
        t.add_row(f"{f}%", stream, te, st, gain, sel_rej)
    return t


def markdown(label_efficiency: dict) -> str:
    """The table as markdown, with the seeds and each seed's gain: what docs/pseudo-labels.md shows."""
    rows = [[f"{f} %", stream, ", ".join(seeds), te, st, f"{gain} ({per})", sel_rej]
            for f, stream, te, st, gain, sel_rej, seeds, per in _rows(label_efficiency)]
    headers = ["gold labels", "stream", "seeds", "teacher", "student", "gain (per seed)",
               "pseudo-labels sel. / rej. (labelled dims)"]
    return markdown_table(rows, headers) + "\n"


def _sel_rej(ps: dict) -> str:
    """Selected / rejected pseudo-label CCC over the labelled dimensions (all dimensions in
    reports written before labels were per dimension), and how many seeds could be scored."""
    lab = ps.get("labelled") or ps
    sel, rej = lab.get("selected_ccc_mean"), lab.get("rejected_ccc_mean")
    if sel is None or rej is None:
        return "too few items to score"
    notes = ([", ".join(lab["dims"])] if "dims" in lab else []) + (
        [f"{lab['seeds_scored']} seeds scored"] if "seeds_scored" in lab else [])
    return f"{sel:.3f} / {rej:.3f}" + (f" ({'; '.join(notes)})" if notes else "")
