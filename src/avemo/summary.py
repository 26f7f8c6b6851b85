"""The results table `make run` prints: read back from the reports the pipeline wrote.

Every table fits a 100-column console without wrapping a cell: few columns (a table with
many figures per model lists the figures as rows), short titles, the report's path as caption.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Group
from rich.table import Table

from avemo.config import Params
from avemo.ssl import STRONG


def _load(path: str) -> dict | None:
    p = Path(path)
    return json.loads(p.read_text()) if p.is_file() else None


def table(params: Params) -> Group:
    parts = []
    corpus = _load(params.synthesize.report) if params.synthesize.generate else None
    if corpus:
        t = Table(title=f"Embedded corpora ({corpus['size']}, seed {corpus['seed']}, "
                  f"generated in {corpus['generation_s']:.0f} s)", caption=params.synthesize.report)
        t.add_column("figure")
        t.add_column("value", justify="right")
        c = corpus["counts"]
        t.add_row("IEMOCAP-shaped utterances / speakers / hours",
                  f"{c['iemocap']['utterances']} / {c['iemocap']['speakers']} / {c['iemocap']['hours']:.2f}")
        t.add_row("TED-LIUM-shaped talks / segments / hours",
                  f"{c['tedlium']['talks']} / {c['tedlium']['segments']} / {c['tedlium']['hours']:.2f}")
        t.add_row("FaceSynthetics-shaped images / identities",
                  f"{c['facesynthetics']['images']} / {c['facesynthetics']['identities']}")
        for k, v in corpus["oracle"].items():
            t.add_row(f"oracle {k} (latent vs gold)", f"{v:.3f}")
        for k, v in corpus["cues"].items():
            t.add_row(f"cue {k} (within speaker)", f"{v:+.3f}")
        parts.append(t)
    val = _load(params.validate_.report)
    if val:
        t = Table(title="Data validation", caption=params.validate_.report)
        t.add_column("figure")
        t.add_column("value", justify="right")
        t.add_row("success", "[green]yes[/green]" if val["success"] else "[red]no[/red]")
        t.add_row("rows checked", str(val["checked"]["rows"]))
        t.add_row("files decoded", str(val["checked"]["files"]))
        t.add_row("failures", str(len(val["failures"])))
        parts.append(t)
    ssl = {s: _load(f"{params.pretrain.reports_dir}/pretrain_{s}.json") for s in ("audio", "visual")}
    if any(ssl.values()):
        parts.append(pretrain_table(ssl, params.pretrain.reports_dir))
    pseudo = _load(params.pseudo.report)
    if pseudo and any(s in pseudo for s in ("audio", "visual")):
        parts.append(pseudo_table(pseudo, params.pseudo.report))
    metrics = _load(params.evaluate.report)
    if metrics:
        parts.append(metrics_table(metrics, params.evaluate.report))
        if metrics.get("modes"):
            parts.append(modes_table(metrics, params.evaluate.report))
    if not parts:
        parts.append(Table(title="no reports yet: run `dvc repro`"))
    return Group(*parts)


def metrics_table(report: dict, source: str = "") -> Table:
    """Test-split CCC/PCC/RMSE per model, with the oracle (the ceiling) on the first row where
    the corpus carries a hidden truth."""
    t = Table(title="Models on the test split (CCC / PCC / RMSE)", caption=source or None)
    t.add_column("model")
    for k in ("ccc_valence", "ccc_arousal", "ccc_mean", "pcc_mean", "rmse_mean"):
        t.add_column(k, justify="right")
    rows = [("oracle (latent vs gold)", report["oracle"])] if report.get("oracle") else []
    rows += [(name, m["test"]) for name, m in report["models"].items()]
    for name, s in rows:
        t.add_row(name, *(f"{s[k]:.3f}" for k in ("ccc_valence", "ccc_arousal", "ccc_mean", "pcc_mean", "rmse_mean")))
    return t


def modes_table(report: dict, source: str = "") -> Table:
    """Each fused model's test CCC mean (valence / arousal) under every evaluation mode: a row
    per mode, a column per model."""
    models = list(report["modes"])
    modes = list(next(iter(report["modes"].values())))
    t = Table(title="Fused models by test condition (CCC mean; valence / arousal)", caption=source or None)
    t.add_column("condition")
    for name in models:
        t.add_column(name, justify="right")
    for m in modes:
        t.add_row(m, *(f"{report['modes'][n][m]['ccc_mean']:.3f} ({report['modes'][n][m]['ccc_valence']:.2f} / "
                       f"{report['modes'][n][m]['ccc_arousal']:.2f})" for n in models))
    return t


def pretrain_table(reports: dict[str, dict | None], source: str = "") -> Table:
    """Self-supervised pretraining: the frozen encoder's linear probe on its stream's strong
    dimension (test CCC) beside the same probe on a random encoder."""
    t = Table(title="Self-supervised pretraining: linear probe on the test split",
              caption=f"{source}/pretrain_*.json" if source else None)
    for c in ("stream", "objective", "dimension", "probe", "random encoder", "gain", "emb. std", "seconds"):
        t.add_column(c, justify="left" if c in ("stream", "objective", "dimension") else "right")
    for stream, r in reports.items():
        if not r:
            continue
        k = f"ccc_{STRONG[stream]}"
        t.add_row(stream, r["objective"], k, f"{r['probe'][k]:.3f}", f"{r['random_probe'][k]:.3f}",
                  f"{r['probe'][k] - r['random_probe'][k]:+.3f}", f"{r['embedding_std']:.4f}", f"{r['seconds']:.0f}")
    return t


def pseudo_table(report: dict, source: str = "") -> Table:
    """Pseudo-labels against the hidden truth: selected vs rejected (CCC mean), coverage; a
    row per figure, a column per stream."""
    streams = [s for s in ("audio", "visual") if report.get(s)]
    t = Table(title="Pseudo-labels vs the hidden truth (CCC mean; valence / arousal)")
    t.add_column("figure")
    for stream in streams:
        t.add_column(stream, justify="right")

    def cell(s: dict | None) -> str:
        return "-" if not s else f"{s['ccc_mean']:.3f} ({s['ccc_valence']:.2f} / {s['ccc_arousal']:.2f})"

    def labelled(q: dict) -> str:
        lab = q.get("labelled")
        if not lab or lab["selected_ccc_mean"] is None:
            return "-"
        return f"{lab['selected_ccc_mean']:.3f} / {lab['rejected_ccc_mean']:.3f} ({', '.join(lab['dims'])})"

    qs = [report[s] for s in streams]
    t.add_row("corpus", *(q["corpus"] for q in qs))
    t.add_row("selected / items", *(f"{q['selected']} / {q['items']}" for q in qs))
    t.add_row("selected", *(cell(q["selected_vs_truth"]) for q in qs))
    t.add_row("rejected", *(cell(q["rejected_vs_truth"]) for q in qs))
    t.add_row("labelled dims: selected / rejected", *(labelled(q) for q in qs))
    t.add_row("teacher version", *(str(q["teacher_version"]) for q in qs))
    missing = {q["truth"]["reason"] for q in report.values() if isinstance(q, dict) and q.get("truth")
               and not q["truth"]["available"]}
    t.caption = "; ".join([source] * bool(source) + sorted(missing)) or None
    return t
