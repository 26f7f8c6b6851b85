"""Great Expectations suites over manifests: load, add derived columns, validate, explain.

Suites live as JSON in ``expectations/<corpus>.json`` (``{"name", "expectations": [{"type",
"kwargs"}], "meta"}``). String values ``"$NAME"`` in them are placeholders for
``validate.NAME`` in params.yaml, so params.yaml stays the one place of settings.

Some rules need facts that are not in the manifest (does the file exist? is the speaker in
more than one split?). The runner adds them as derived columns (:data:`DERIVED`) before
validation, so the suites themselves express every rule.

Every failure is a dict ``{suite, expectation, column, row, clip_id, value, message}``: one
per failing row (``row`` is the 0-based row of the manifest), or one with ``row`` None for a
table-level failure (columns, dtypes).

Importing great_expectations costs seconds: it is imported inside functions only.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avemo.config import ValidateConfig

DERIVED: dict[str, str] = {
    "audio_exists": "bool",
    "video_exists": "bool",
    "speaker_split_count": "int64",
}
LABELLED_SPLITS = ("train", "val", "test")
PLACEHOLDERS = ("sample_rate", "min_duration_s", "max_duration_s", "video_frames")
_PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class SuiteError(ValueError):
    """A suite file is missing, not valid JSON, or holds an expectation GX does not know."""


# --- loading ----------------------------------------------------------------------------


def params_of(cfg: ValidateConfig) -> dict[str, Any]:
    """The values the ``"$NAME"`` placeholders of a suite may name."""
    return {name: getattr(cfg, name) for name in PLACEHOLDERS}


def substitute(obj: Any, values: Mapping[str, Any], where: str = "suite") -> Any:
    """Replace every string that is exactly ``"$NAME"`` by ``values[NAME]`` (recursively)."""
    if isinstance(obj, dict):
        return {k: substitute(v, values, where) for k, v in obj.items()}
    if isinstance(obj, list):
        return [substitute(v, values, where) for v in obj]
    if isinstance(obj, str):
        m = _PLACEHOLDER.fullmatch(obj)
        if m:
            if m[1] not in values:
                raise SuiteError(
                    f"{where}: unknown placeholder {obj!r}; known: "
                    f"{', '.join('$' + k for k in values)}"
                )
            return values[m[1]]
    return obj


def load(path: str | Path, values: Mapping[str, Any]) -> dict:
    """Read one suite JSON and fill its placeholders; the meta section is left as is."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError(
            f"{path}: expectation suite not found; set validate.expectations_dir in params.yaml "
            f"to the folder holding <corpus>.json suites"
        )
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise SuiteError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("expectations"), list):
        raise SuiteError(f"{path}: expected an object with 'name' and an 'expectations' list")
    suite = dict(raw)
    suite.setdefault("name", path.stem)
    suite["expectations"] = substitute(raw["expectations"], values, str(path))
    return suite


# --- derived columns ----------------------------------------------------------------------


def _exists(paths: pd.Series | None, root: Path | None, n: int) -> np.ndarray:
    if paths is None or root is None:
        return np.zeros(n, dtype=bool)
    cache: dict[str, bool] = {}
    out = np.zeros(n, dtype=bool)
    for i, p in enumerate(paths):
        if isinstance(p, str) and p:
            if p not in cache:
                cache[p] = (root / p).is_file()
            out[i] = cache[p]
    return out


def speaker_split_count(df: pd.DataFrame) -> pd.Series:
    """Per row: in how many distinct train/val/test splits its speaker appears (0: no speaker)."""
    n = pd.Series(0, index=df.index, dtype="int64")
    if "speaker" not in df or "split" not in df:
        return n
    split = df["split"].astype("object")
    speaker = df["speaker"].astype("object")
    labelled = split.isin(LABELLED_SPLITS) & speaker.notna()
    counts = split[labelled].groupby(speaker[labelled]).nunique()
    mapped = speaker.map(counts)
    return mapped.fillna(0).astype("int64")


def derive(df: pd.DataFrame, root: str | Path | None) -> pd.DataFrame:
    """A copy of ``df`` (0-based index) with the :data:`DERIVED` columns appended."""
    out = df.reset_index(drop=True).copy()
    root = Path(root) if root is not None else None
    n = len(out)
    out["audio_exists"] = _exists(out.get("audio_path"), root, n)
    out["video_exists"] = _exists(out.get("video_path"), root, n)
    out["speaker_split_count"] = speaker_split_count(out).to_numpy()
    return out


# --- running GX -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _batch_definition():
    """One ephemeral GX context and pandas whole-dataframe batch definition per process."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in ("great_expectations", "great_expectations.core", "posthog"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = ctx.data_sources.add_pandas("avemo_manifests")
    asset = source.add_dataframe_asset("manifest")
    return asset.add_batch_definition_whole_dataframe("whole")


def _columns_of(kwargs: Mapping[str, Any]) -> list[str]:
    return [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]


def _mentions(condition: Any, missing: set[str]) -> bool:
    text = condition if isinstance(condition, str) else json.dumps(condition, default=str)
    return any(re.search(rf"\b{re.escape(c)}\b", text) for c in missing)


def _gx_suite(suite: dict, usable: list[dict]):
    import great_expectations as gx
    from great_expectations.expectations.registry import get_expectation_impl

    name = suite.get("name")
    for exp in usable:
        try:
            get_expectation_impl(exp.get("type"))
        except Exception:
            raise SuiteError(
                f"suite {name!r}: unknown expectation type {exp.get('type')!r} "
                f"(Great Expectations {gx.__version__} names are snake_case, "
                f"e.g. expect_column_values_to_be_between)"
            ) from None
    try:
        built = gx.ExpectationSuite(name=str(name or "suite"), expectations=usable,
                                    meta=suite.get("meta") or {})
    except Exception as err:  # GX raises its own InvalidExpectationConfigurationError
        raise SuiteError(f"suite {name!r}: {err}") from None
    if len(built.expectations) != len(usable):  # GX logs and drops invalid ones
        raise SuiteError(f"suite {name!r}: {len(usable) - len(built.expectations)} expectation(s) "
                         f"have invalid kwargs")
    return built


def validate(df: pd.DataFrame, suite: dict) -> list[dict]:
    """Run ``suite`` on ``df`` (already :func:`derive`-d); one failure dict per bad row.

    Expectations on columns the frame lacks are skipped: the table-columns expectation
    reports those columns once, instead of one GX exception per rule.
    """
    df = df.reset_index(drop=True)
    name = str(suite.get("name", "suite"))
    missing: set[str] = set()
    for exp in suite["expectations"]:
        if exp.get("type") in ("expect_table_columns_to_match_ordered_list",
                               "expect_table_columns_to_match_set"):
            missing |= set(exp["kwargs"].get("column_list", [])) - set(df.columns)
    usable = []
    for exp in suite["expectations"]:
        kw = exp.get("kwargs", {})
        if set(_columns_of(kw)) & missing or (
            "row_condition" in kw and _mentions(kw["row_condition"], missing)
        ):
            continue
        usable.append(exp)
    batch_definition = _batch_definition()  # first: it also quiets GX's loggers
    gx_suite = _gx_suite(suite, usable)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(gx_suite, result_format={"result_format": "COMPLETE"})
    failures: list[dict] = []
    for r in result.results:
        if r.success:
            continue
        failures.extend(explain(name, r.expectation_config.type, dict(r.expectation_config.kwargs),
                                r.result or {}, r.exception_info, df))
    return failures


# --- explaining ---------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN/NA as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _fmt(value: Any) -> str:
    value = plain(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _where(kw: Mapping[str, Any]) -> str:
    cond = kw.get("row_condition")
    if isinstance(cond, dict):
        cond = cond.get("pass_through_filter") or cond
    return f" (where {cond})" if cond else ""


def _cell(df: pd.DataFrame, row: int, column: str | None) -> Any:
    if column is None or column not in df.columns:
        return None
    return df.at[row, column]


def _row_message(kind: str, kw: dict, df: pd.DataFrame, row: int) -> tuple[str | None, Any, str]:
    """(column, value, reason) for one failing row."""
    col = kw.get("column")
    value = _cell(df, row, col)
    v = _fmt(value)
    if col == "audio_exists":
        return "audio_path", plain(_cell(df, row, "audio_path")), (
            f"audio file {_fmt(_cell(df, row, 'audio_path'))} does not exist under the corpus root")
    if col == "video_exists":
        return "video_path", plain(_cell(df, row, "video_path")), (
            f"video file {_fmt(_cell(df, row, 'video_path'))} does not exist under the corpus root")
    if col == "speaker_split_count":
        spk = _cell(df, row, "speaker")
        splits = sorted(set(df.loc[df["speaker"] == spk, "split"].dropna().astype(str))
                        & set(LABELLED_SPLITS)) if "speaker" in df and "split" in df else []
        return "speaker", plain(spk), (
            f"speaker {_fmt(spk)} appears in {int(value)} splits ({', '.join(splits)}); "
            f"splits must be speaker independent")
    if kind == "expect_column_values_to_not_be_null":
        return col, None, f"{col} is missing (null){_where(kw)}"
    if kind == "expect_column_values_to_be_null":
        return col, plain(value), f"{col}={v} should be null for this corpus{_where(kw)}"
    if kind == "expect_column_values_to_be_unique":
        same = df.index[(df[col].astype("object") == value).to_numpy(dtype=bool)]
        return col, plain(value), (
            f"{col}={v} is not unique (rows {', '.join(str(i) for i in same)} share it)")
    if kind == "expect_column_values_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        lo_s = "-inf" if lo is None else _fmt(lo)
        hi_s = "inf" if hi is None else _fmt(hi)
        return col, plain(value), f"{col}={v} outside [{lo_s}, {hi_s}]{_where(kw)}"
    if kind == "expect_column_values_to_be_in_set":
        allowed = ", ".join(_fmt(x) for x in kw.get("value_set", []))
        return col, plain(value), f"{col}={v} not in {{{allowed}}}{_where(kw)}"
    if kind == "expect_column_values_to_match_regex":
        return col, plain(value), f"{col}={v} does not match /{kw.get('regex')}/"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kw["column_A"], kw["column_B"]
        va, vb = _cell(df, row, a), _cell(df, row, b)
        op = ">=" if kw.get("or_equal") else ">"
        return a, [plain(va), plain(vb)], (
            f"{a}={_fmt(va)} is not {op} {b}={_fmt(vb)}{_where(kw)}")
    return col, plain(value), f"{col}={v} fails {kind}{_where(kw)}"


def _table_message(kind: str, kw: dict, res: Mapping[str, Any]) -> tuple[str | None, Any, str]:
    observed = res.get("observed_value")
    if kind in ("expect_table_columns_to_match_ordered_list", "expect_table_columns_to_match_set"):
        expected = list(kw.get("column_list") or [])
        found = list(observed or [])
        missing = [c for c in expected if c not in found]
        extra = [c for c in found if c not in expected]
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if extra:
            parts.append(f"unexpected columns {extra}")
        if not parts:
            parts.append(f"columns out of order: found {found}, expected {expected}")
        return None, found, "manifest columns do not match the schema: " + "; ".join(parts)
    if kind == "expect_table_row_count_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        return None, plain(observed), (
            f"{observed} rows, expected at least {lo}" + (f" and at most {hi}" if hi else ""))
    if kind in ("expect_column_type_to_be", "expect_column_values_to_be_of_type"):
        col = kw.get("column")
        return col, plain(observed), (
            f"column {col} has dtype {observed}, expected {kw.get('type_')}")
    col = kw.get("column")
    return col, plain(observed), f"{kind} on {col or 'the table'} failed (observed {observed!r})"


def explain(suite: str, kind: str, kw: dict, res: Mapping[str, Any], exc: Any,
            df: pd.DataFrame) -> list[dict]:
    """Failure dicts for one failed expectation result."""
    kw = {k: v for k, v in kw.items() if k != "batch_id"}
    base = {"suite": suite, "expectation": kind}
    raised = isinstance(exc, dict) and (
        exc.get("raised_exception") or any(isinstance(v, dict) and v.get("raised_exception")
                                           for v in exc.values()))
    rows = res.get("unexpected_index_list")
    if raised and not rows:
        msgs = [exc.get("exception_message")] + [
            v.get("exception_message") for v in exc.values() if isinstance(v, dict)]
        msg = next((m for m in msgs if m), "unknown error")
        col = kw.get("column") or kw.get("column_A")
        return [{**base, "column": col, "row": None, "clip_id": None, "value": None,
                 "message": f"could not check {kind} on {col or 'the table'}: {msg}"}]
    if rows is None:
        col, value, msg = _table_message(kind, kw, res)
        return [{**base, "column": col, "row": None, "clip_id": None, "value": value,
                 "message": f"{suite} manifest: {msg}"}]
    out = []
    for row in rows:
        row = int(row)
        clip = plain(_cell(df, row, "clip_id"))
        col, value, reason = _row_message(kind, kw, df, row)
        who = f"clip {_fmt(clip)}" if clip is not None else f"row {row}"
        out.append({**base, "column": col, "row": row, "clip_id": clip, "value": value,
                    "message": f"{who}: {reason}"})
    return out


def check(df: pd.DataFrame, suite: dict, root: str | Path | None) -> list[dict]:
    """:func:`derive` then :func:`validate`: the failures of one manifest against its suite."""
    return validate(derive(df, root), suite)
