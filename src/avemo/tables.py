"""Markdown tables for reports, model cards and docs (through tabulate)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Iterable[Sequence[object]], headers: Sequence[str],
                   align: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured markdown (pipe) table, without a trailing newline. Cells are shown as
    given (``str``; no number reformatting), with ``|`` escaped and newlines as spaces;
    ``align``: ``"left"``, ``"right"`` or ``"center"`` per column (default left)."""
    from tabulate import tabulate

    body = [[_cell(v) for v in row] for row in rows]
    return tabulate(body, headers=[_cell(h) for h in headers], tablefmt="pipe", disable_numparse=True,
                    colalign=tuple(align) if align else None)
