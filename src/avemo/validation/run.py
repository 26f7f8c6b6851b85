"""The validate stage: manifests -> GX suites + file probes -> report, validated manifests.

``run(cfg, roots)`` reads ``<manifests_dir>/<corpus>.parquet`` for each corpus of ``roots``
(corpus -> its root folder), checks it against ``<expectations_dir>/<corpus>.json`` and
decodes every file it points at. ``write(result, cfg)`` writes ``reports/validation.json``
and ``.md``, then:

- no failures, or ``on_error: quarantine``: ``<out_dir>/<corpus>.parquet`` holding the rows
  without failures, and ``<out_dir>/quarantine.parquet`` (clip_id, corpus, row, reasons);
  ``out_dir`` is swapped in whole;
- failures with ``on_error: fail``, or a manifest missing or unreadable in either mode (a
  failed ingest is never quarantined into an empty manifest): ``out_dir`` is removed (no
  stale manifests downstream) and :class:`ValidationFailed` is raised, carrying the result.

Raw data is only read, never written.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from avemo.config import ValidateConfig
from avemo.data import manifest
from avemo.io import atomic_dir, write_json, write_text
from avemo.tables import markdown_table
from avemo.validation import probes, suites

QUARANTINE = "quarantine.parquet"
UNREADABLE = ("manifest_exists", "manifest_readable")
QUARANTINE_COLUMNS = {"clip_id": "string", "corpus": "string", "row": "int64", "reasons": "string"}


@dataclass
class Result:
    report: dict
    markdown: str
    clean: dict[str, pd.DataFrame] = field(default_factory=dict)
    quarantine: pd.DataFrame = field(default_factory=lambda: _quarantine_frame([]))

    @property
    def success(self) -> bool:
        return bool(self.report["success"])

    def summary(self) -> str:
        r = self.report
        head = (f"validation {'passed' if r['success'] else 'FAILED'}: {r['checked']['rows']} rows, "
                f"{r['checked']['files']} files checked, {len(r['failures'])} failure(s), "
                f"{r['bad_rows']} bad row(s), {r['quarantined']} quarantined")
        lines = [head]
        for f in r["failures"][:10]:
            lines.append(f"  - [{f['suite']}/{f['expectation']}] {f['message']}")
        if len(r["failures"]) > 10:
            lines.append(f"  ... and {len(r['failures']) - 10} more (see the markdown report)")
        return "\n".join(lines)


class ValidationFailed(Exception):
    """Validation found failures and ``on_error`` is ``fail``; ``.result`` holds the details."""

    def __init__(self, result: Result, report_md: str | Path | None = None):
        self.result = result
        self.report_md = report_md
        tail = f"\nfull report: {report_md}" if report_md else ""
        super().__init__(result.summary() + tail)


def _quarantine_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(QUARANTINE_COLUMNS)).astype(QUARANTINE_COLUMNS)


def _read_manifest(path: Path, corpus: str) -> tuple[pd.DataFrame | None, dict | None]:
    if not path.is_file():
        return None, {"suite": corpus, "expectation": "manifest_exists", "column": None,
                      "row": None, "clip_id": None, "value": str(path),
                      "message": f"{corpus} manifest {path} not found (run `avemo ingest` first, "
                                 f"or fix validate.manifests_dir)"}
    try:
        return manifest.read(path).reset_index(drop=True), None
    except Exception as err:
        return None, {"suite": corpus, "expectation": "manifest_readable", "column": None,
                      "row": None, "clip_id": None, "value": str(path),
                      "message": f"{corpus} manifest {path} cannot be read: {err}"}


def run(
    cfg: ValidateConfig,
    roots: Mapping[str, str | Path],
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Check every corpus of ``roots``; nothing is written (see :func:`write`)."""
    values = suites.params_of(cfg)
    exp_dir = Path(cfg.expectations_dir)
    loaded = {c: suites.load(exp_dir / f"{c}.json", values) for c in roots}  # config errors first
    frames: dict[str, pd.DataFrame] = {}
    failures: dict[str, list[dict]] = {c: [] for c in roots}
    table_failed: set[str] = set()
    for corpus, root in roots.items():
        df, problem = _read_manifest(Path(cfg.manifests_dir) / f"{corpus}.parquet", corpus)
        if problem is not None:
            failures[corpus].append({**problem, "corpus": corpus})
            table_failed.add(corpus)
            continue
        frames[corpus] = df
        for f in suites.check(df, loaded[corpus], root):
            failures[corpus].append({**f, "corpus": corpus})
            if f["row"] is None:
                table_failed.add(corpus)
    probed = probes.probe(frames, roots, cfg, progress=progress)
    for f in probed.failures:
        failures[f["corpus"]].append(f)

    # rows to drop, with every reason
    reasons: dict[str, dict[int, list[str]]] = {c: {} for c in roots}
    for corpus, fs in failures.items():
        n = len(frames[corpus]) if corpus in frames else 0
        for f in fs:
            if f["suite"] == "probe":
                rows = f["rows"] if "rows" in f else _rows_using(frames[corpus], f["column"], f["path"])
            elif f["row"] is None:
                rows = list(range(n))
            else:
                rows = [f["row"]]
            for i in rows:
                reasons[corpus].setdefault(i, []).append(f["message"])

    quarantine_mode = cfg.on_error == "quarantine"
    clean: dict[str, pd.DataFrame] = {}
    q_rows: list[dict] = []
    per_corpus: dict[str, dict] = {}
    all_failures: list[dict] = []
    files_per_corpus = probed.files_per_corpus
    for corpus in roots:
        df = frames.get(corpus)
        bad = reasons[corpus]
        if df is None or corpus in table_failed:
            clean[corpus] = manifest.to_frame([])
        else:
            clean[corpus] = df.drop(index=sorted(bad)).reset_index(drop=True)
        if df is not None:
            for i in sorted(bad):
                clip = df.at[i, "clip_id"] if "clip_id" in df else None
                q_rows.append({"clip_id": suites.plain(clip), "corpus": corpus, "row": i,
                               "reasons": "; ".join(dict.fromkeys(bad[i]))})
        per_corpus[corpus] = {
            "success": not failures[corpus],
            "rows": 0 if df is None else len(df),
            "files": files_per_corpus.get(corpus, 0),
            "failures": len(failures[corpus]),
            "bad_rows": len(bad),
            "quarantined": len(bad) if quarantine_mode else 0,
        }
        all_failures.extend(failures[corpus])

    bad_total = sum(len(b) for b in reasons.values())
    report = {
        "success": not all_failures,
        "on_error": cfg.on_error,
        "checked": {"rows": sum(len(df) for df in frames.values()), "files": probed.files},
        "failures": all_failures,
        "bad_rows": bad_total,
        "quarantined": bad_total if quarantine_mode else 0,
        "per_corpus": per_corpus,
        # corpora whose manifest is missing or unreadable (a failed ingest): quarantine cannot
        # turn that into a pass with an empty manifest
        "unreadable": sorted({f["corpus"] for f in all_failures if f["expectation"] in UNREADABLE}),
    }
    return Result(report=report, markdown=markdown(report), clean=clean,
                  quarantine=_quarantine_frame(q_rows))


def _rows_using(df: pd.DataFrame, column: str, path: str) -> list[int]:
    if column not in df:
        return []
    hits = (df[column].astype("object") == path).to_numpy(dtype=bool)
    return [int(i) for i in hits.nonzero()[0]]


# --- reports --------------------------------------------------------------------------------


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(report: dict) -> str:
    """A readable report: the verdict, a per-corpus table, then every failing row and file."""
    ok = report["success"]
    lines = [
        "# Data validation",
        "",
        f"**{'PASSED' if ok else 'FAILED'}** — {report['checked']['rows']} rows and "
        f"{report['checked']['files']} files checked; {len(report['failures'])} failure(s) on "
        f"{report['bad_rows']} row(s); {report['quarantined']} row(s) quarantined "
        f"(`on_error: {report['on_error']}`).",
        "",
        markdown_table([[corpus, s["rows"], s["files"], s["failures"], s["bad_rows"], s["quarantined"]]
                        for corpus, s in report["per_corpus"].items()],
                       ["corpus", "rows", "files", "failures", "bad rows", "quarantined"],
                       align=["left"] + ["right"] * 5),
    ]
    for corpus in report["per_corpus"]:
        fs = [f for f in report["failures"] if f.get("corpus") == corpus]
        if not fs:
            continue
        table = [f for f in fs if f["suite"] != "probe" and f["row"] is None]
        rows = [f for f in fs if f["suite"] != "probe" and f["row"] is not None]
        files = [f for f in fs if f["suite"] == "probe"]
        lines += ["", f"## {corpus}"]
        if table:
            lines += ["", "### Table", ""]
            lines += [f"- `{f['expectation']}`: {_md(f['message'])}" for f in table]
        if rows:
            lines += ["", "### Rows", "", markdown_table(
                [[f["row"], f["clip_id"], f"`{f['expectation']}`", f["value"], f["message"]]
                 for f in sorted(rows, key=lambda f: f["row"])],
                ["row", "clip", "rule", "value", "why"], align=["right"] + ["left"] * 4)]
        if files:
            lines += ["", "### Files", "", markdown_table(
                [[f["path"], f["check"], len(f["clip_ids"]), f["message"]] for f in files],
                ["file", "check", "clips", "why"], align=["left", "left", "right", "left"])]
    if ok:
        lines += ["", "Every row passed every expectation and every file decoded."]
    return "\n".join(lines) + "\n"


def write(result: Result, cfg: ValidateConfig) -> dict[str, Path]:
    """Write the reports, then the validated manifests (or remove stale ones and raise).

    Returns the paths written. Raises :class:`ValidationFailed` after writing the reports
    when there are failures and ``cfg.on_error`` is ``fail``.
    """
    written = {"report": Path(cfg.report), "report_md": Path(cfg.report_md)}
    write_json(cfg.report, result.report)
    write_text(cfg.report_md, result.markdown)
    out_dir = Path(cfg.out_dir)
    if not result.success and (cfg.on_error != "quarantine" or result.report.get("unreadable")):
        if out_dir.exists():
            shutil.rmtree(out_dir)
        raise ValidationFailed(result, cfg.report_md)
    with atomic_dir(out_dir) as tmp:
        for corpus, df in result.clean.items():
            manifest.write(df, tmp / f"{corpus}.parquet")
        result.quarantine.to_parquet(tmp / QUARANTINE, index=False)
    for corpus in result.clean:
        written[corpus] = out_dir / f"{corpus}.parquet"
    written["quarantine"] = out_dir / QUARANTINE
    return written
