"""`avemo summary` on the committed reports: every table row on one line, in a 100-column
terminal and in a pipe (no cell wrapped or cut)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from avemo import config, summary
from avemo.cli import app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def params(monkeypatch) -> config.Params:
    monkeypatch.chdir(ROOT)  # the report paths in params.yaml are relative to the repository
    return config.load(ROOT / config.DEFAULT_PARAMS)


def _rows(params: config.Params) -> int:
    tables = summary.table(params).renderables
    assert len(tables) >= 5  # corpus, validation, pretraining, pseudo-labels, models (+ conditions)
    return sum(t.row_count for t in tables)


def _assert_one_line_per_row(text: str, rows: int, width: int) -> None:
    lines = text.splitlines()
    assert sum(ln.startswith("│") for ln in lines) == rows, text
    assert "…" not in text
    assert max(len(ln) for ln in lines) <= width


def test_a_100_column_terminal_gets_every_row_on_one_line(params):
    out = io.StringIO()
    Console(file=out, width=100, force_terminal=True, color_system=None).print(summary.table(params))
    _assert_one_line_per_row(out.getvalue(), _rows(params), 100)


@pytest.mark.parametrize("columns", [None, "80", "100"])
def test_piped_output_gets_every_row_on_one_line(params, monkeypatch, columns):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    res = CliRunner().invoke(app, ["summary", "--params", str(ROOT / config.DEFAULT_PARAMS)])
    assert res.exit_code == 0, res.output
    _assert_one_line_per_row(res.output, _rows(params), 120)
